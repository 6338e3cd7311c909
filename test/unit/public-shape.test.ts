import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { publicShape } from '../../src/server/tool.js';

const schema = z.object({
  name: z.string().describe('a leaf with a description'),
  status: z.object({ state: z.enum(['idle', 'working']), since: z.string(), tool: z.string().nullable() }),
  items: z.array(z.object({ id: z.number(), tags: z.array(z.string()) })),
  maybe: z.object({ kept: z.boolean() }).nullable(),
  optional: z.object({ kept: z.boolean() }).optional(),
  either: z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]),
  withDefault: z.string().default('fallback'),
  byKey: z.record(z.string(), z.object({ n: z.number() })),
});

describe('publicShape: the output cut to the schema, as zod would strip it', () => {
  it('drops undeclared fields at every depth and keeps the declared ones, exactly as parse does', () => {
    const value = {
      name: 'a',
      internal: { secret: 1 },
      status: { state: 'working', since: 'now', tool: null, pendingTool: 'Bash' },
      items: [
        { id: 1, tags: ['x'], extra: true },
        { id: 2, tags: [], extra: false },
      ],
      maybe: { kept: true, dropped: 1 },
      either: { a: 'yes', dropped: 2 },
      byKey: { k: { n: 1, dropped: 3 } },
    };
    const picked = publicShape(schema, value);
    expect(picked).toEqual(schema.parse(value));
    expect(JSON.stringify(picked)).toBe(JSON.stringify(schema.parse(value)));
    expect(JSON.stringify(picked)).not.toContain('internal');
    expect(JSON.stringify(picked)).not.toContain('pendingTool');
    expect(JSON.stringify(picked)).not.toContain('extra');
  });

  it('keeps null and absent optional values as parse does', () => {
    const value = { name: 'b', status: { state: 'idle', since: 's', tool: 'Read' }, items: [], maybe: null, either: { b: 2 }, withDefault: 'given', byKey: {} };
    expect(publicShape(schema, value)).toEqual(schema.parse(value));
    expect('optional' in (publicShape(schema, value) as object)).toBe(false);
  });

});
