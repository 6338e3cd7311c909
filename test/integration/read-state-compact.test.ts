import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentStateTool } from '../../tools/read_agent_state.js';
import { makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';

let world: TestWorld;
beforeAll(() => {
  world = makeWorld();
});
afterAll(async () => {
  await world.close();
});

const line = (record: unknown) => `${JSON.stringify(record)}\n`;
/** One response that edits a file, and a last one with a long text, as Claude Code writes them. */
function transcript(edits: number, text: string): string {
  let out = '';
  for (let index = 0; index < edits; index++) {
    out += line({
      type: 'assistant',
      requestId: `req_${index}`,
      timestamp: new Date(Date.UTC(2026, 10, 30, 1, 0, index)).toISOString(),
      message: { id: `msg_${index}`, model: 'claude-sonnet-4-5', content: [{ type: 'tool_use', id: `tu_${index}`, name: 'Edit', input: { file_path: `/w/src/file-${index}.ts`, old_string: 'a', new_string: 'b' } }], usage: { input_tokens: 1, output_tokens: 1 } },
    });
  }
  out += line({ type: 'user', timestamp: '2026-11-30T01:04:00.000Z', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_0', is_error: true, content: `Error: ${'e'.repeat(1_000)}` }] } });
  out += line({ type: 'assistant', requestId: 'req_last', timestamp: '2026-11-30T01:05:00.000Z', message: { id: 'msg_last', model: 'claude-sonnet-4-5', content: [{ type: 'text', text }], usage: { input_tokens: 1, output_tokens: 1 } } });
  return out;
}

/** A running Claude agent with its own repo as worktree and this transcript. */
function addAgent(name: string, lines: string): void {
  const store = world.context.store;
  const worktree = makeRepo(world.dir, `wt-${name}`);
  const id = `ag_${name.replace(/-/g, '_')}`;
  store.insertAgent({ id, name, repo: worktree, baseRef: 'main', baseCommit: 'c'.repeat(40), branch: 'main', worktreePath: worktree, tmuxSocket: null, tmuxSession: `ringmaster-${name}`, agentKind: 'claude', model: null, task: 't', taskPreview: 't' });
  store.markRunning(id, ['claude']);
  const path = join(world.dir, `${name}.jsonl`);
  writeFileSync(path, lines);
  store.setClaudeSession(id, `sess-${name}`, path);
}

/** The JSON of one agent in the compact form (the first test's fleet of two). */
let compactPerAgent = 0;

describe('read_agent_state of the whole fleet', () => {
  it('is compact (last tool calls, edited files and a cut message, marked trimmed); one agent by name, or verbose, gets everything', async () => {
    const text = 'x'.repeat(2_000);
    for (const name of ['one', 'two']) addAgent(name, transcript(30, text));
    const read = async (args: { name?: string; verbose?: boolean }) => readAgentStateTool.outputSchema.parse(await readAgentStateTool.handle(world.context, args, {} as never));

    const all = await read({});
    expect(all.agents.map((agent) => agent.name).sort()).toEqual(['one', 'two']);
    for (const agent of all.agents) {
      expect(agent.transcript!.trimmed).toBe(true);
      expect(agent.transcript!.recent_tool_calls.map((call) => call.summary)).toHaveLength(3);
      expect(agent.transcript!.edited_files).toEqual(Array.from({ length: 10 }, (_, index) => `/w/src/file-${index + 20}.ts`));
      expect(agent.transcript!.last_assistant_text).toBe(`${'x'.repeat(600)}…`);
      expect(agent.transcript!.errors.map((error) => error.text)).toEqual([`Error: ${'e'.repeat(293)}…`]);
    }

    const one = await read({ name: 'one' });
    expect(one.agents).toHaveLength(1);
    expect(one.agents[0]!.transcript!.trimmed).toBe(false);
    expect(one.agents[0]!.transcript!.recent_tool_calls.length).toBeGreaterThan(3);
    expect(one.agents[0]!.transcript!.edited_files).toHaveLength(30);
    expect(one.agents[0]!.transcript!.last_assistant_text).toBe(text);
    // The transcript reader keeps 500 characters of an error; the compact read, 300.
    expect(one.agents[0]!.transcript!.errors.map((error) => error.text.length)).toEqual([500]);

    const verbose = await read({ verbose: true });
    expect(verbose.agents.every((agent) => agent.transcript!.trimmed === false && agent.transcript!.edited_files.length === 30)).toBe(true);
    // The point of it: a fleet read is a fraction of the full one.
    expect(JSON.stringify(all).length).toBeLessThan(JSON.stringify(verbose).length / 2);
    compactPerAgent = JSON.stringify(all.agents).length / all.agents.length;
  });

  it('is tighter still for a fleet whose compact read would not reach the model whole (Claude Code: about 50,000 characters)', async () => {
    const text = 'y'.repeat(2_000);
    for (let index = 0; index < 28; index++) addAgent(`many-${index}`, transcript(30, text));
    const all = readAgentStateTool.outputSchema.parse(await readAgentStateTool.handle(world.context, {}, {} as never));
    expect(all.agents).toHaveLength(30);
    for (const agent of all.agents) {
      expect(agent.transcript!.trimmed).toBe(true);
      expect(agent.transcript!.recent_tool_calls).toHaveLength(1);
      expect(agent.transcript!.edited_files).toEqual(['/w/src/file-27.ts', '/w/src/file-28.ts', '/w/src/file-29.ts']);
      expect(agent.transcript!.last_assistant_text).toHaveLength(201);
      expect(agent.transcript!.errors.map((error) => error.text.length)).toEqual([151]);
    }
    // The compact form of this fleet would pass the budget (45,000 characters); the tight one is a third smaller.
    expect(compactPerAgent * 30).toBeGreaterThan(45_000);
    expect(JSON.stringify(all.agents).length).toBeLessThan(compactPerAgent * 30 * 0.75);
    // One agent by name still gets everything.
    const one = readAgentStateTool.outputSchema.parse(await readAgentStateTool.handle(world.context, { name: 'many-3' }, {} as never));
    expect(one.agents[0]!.transcript!.edited_files).toHaveLength(30);
  });
});
