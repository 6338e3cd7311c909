import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolFinished } from '../../src/state/transcripts.js';
import { tempDir } from '../helpers/fixtures.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Records shaped as Claude Code 2.1 writes them (one JSON object per line).
const toolUse = (id: string) => `${JSON.stringify({ type: 'assistant', message: { role: 'assistant', content: [{ type: 'tool_use', id, name: 'Bash', input: { command: 'sleep 1' } }] }, timestamp: '2026-11-30T09:00:00.000Z' })}\n`;
const toolResult = (id: string) =>
  `${JSON.stringify({ type: 'user', message: { role: 'user', content: [{ tool_use_id: id, type: 'tool_result', content: 'done', is_error: false }] }, toolUseResult: { stdout: 'done' }, timestamp: '2026-11-30T09:00:01.000Z' })}\n`;

describe('toolFinished: a call is over once its result is in the transcript', () => {
  it('reads the main transcript, again only when it grew', () => {
    const main = join(dir, 'session-1.jsonl');
    writeFileSync(main, toolUse('toolu_A'));
    expect(toolFinished(main, 'toolu_A')).toBe(false);
    // The tool_use block itself names the call as "id": that is not a result.
    appendFileSync(main, toolUse('toolu_B'));
    expect(toolFinished(main, 'toolu_B')).toBe(false);
    appendFileSync(main, toolResult('toolu_A'));
    expect(toolFinished(main, 'toolu_A')).toBe(true);
    expect(toolFinished(main, 'toolu_B')).toBe(false);
    // Large output after the result (a later call printing a lot) does not hide it while it is within the tail.
    appendFileSync(main, `${JSON.stringify({ type: 'progress', data: 'x'.repeat(200_000) })}\n`);
    appendFileSync(main, toolResult('toolu_B'));
    expect(toolFinished(main, 'toolu_B')).toBe(true);
    expect(toolFinished(join(dir, 'missing.jsonl'), 'toolu_A')).toBe(false);
    // A look that caught a line half-written, cut inside the call's id: the next look still finds it.
    appendFileSync(main, toolUse('toolu_C'));
    const line = toolResult('toolu_C');
    const cut = line.indexOf('toolu_C') + 3;
    appendFileSync(main, line.slice(0, cut));
    expect(toolFinished(main, 'toolu_C')).toBe(false);
    appendFileSync(main, line.slice(cut));
    expect(toolFinished(main, 'toolu_C')).toBe(true);
  });

  it("finds a subagent's call in that subagent's own transcript", () => {
    const main = join(dir, 'session-2.jsonl');
    writeFileSync(main, toolUse('toolu_main'));
    const subagents = join(dir, 'session-2', 'subagents');
    mkdirSync(subagents, { recursive: true });
    writeFileSync(join(subagents, 'agent-a1b2c3.jsonl'), toolUse('toolu_sub'));
    expect(toolFinished(main, 'toolu_sub', 'a1b2c3')).toBe(false);
    appendFileSync(join(subagents, 'agent-a1b2c3.jsonl'), toolResult('toolu_sub'));
    expect(toolFinished(main, 'toolu_sub', 'a1b2c3')).toBe(true);
    // Not in the main transcript, and not for another subagent.
    expect(toolFinished(main, 'toolu_sub')).toBe(false);
    expect(toolFinished(main, 'toolu_sub', 'ffff')).toBe(false);
    // One folder further down, as Claude may group them.
    mkdirSync(join(subagents, 'group'), { recursive: true });
    writeFileSync(join(subagents, 'group', 'agent-d4e5.jsonl'), toolUse('toolu_deep') + toolResult('toolu_deep'));
    expect(toolFinished(main, 'toolu_deep', 'd4e5')).toBe(true);
  });
});
