import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';
import { claudeEnv, isMainConversation, isToolResultTurn, startModelServer, userTexts, type ModelServer, type RecordedRequest } from '../helpers/model-server.js';

/**
 * A dependency chain of three real Claude children: each commits one file
 * and finishes its turn; the next is queued with `after` and `base_after`,
 * starts only once the one before is idle, and starts from its branch, so
 * the last worktree holds all three commits.
 */

let model: ModelServer;
let world: TestWorld;
let repo: string;
let client: Client;

const taskOf = (request: RecordedRequest) => userTexts(request.body).find((text) => /Do chain-\d/.test(text))?.match(/chain-(\d)/)?.[1];

beforeAll(async () => {
  model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok' };
    if (isToolResultTurn(body)) return { text: 'Committed.' };
    const step = userTexts(body).find((text) => /Do chain-\d/.test(text))?.match(/chain-(\d)/)?.[1];
    if (!step) return { text: 'ok' };
    const command = `echo ${step} > chain-${step}.txt && git add chain-${step}.txt && git -c user.email=c@c -c user.name=c commit -qm chain-${step}`;
    return { toolUse: { name: 'Bash', input: { command, description: `commit chain-${step}` } } };
  });
  world = makeWorld(claudeEnv(model));
  repo = makeRepo(world.dir, 'chain repo');
  client = await connectStdio(world.env);
});
afterAll(async () => {
  await client?.close();
  await world?.close();
  await model?.close();
});

describe('a dependency chain of three Claude agents', () => {
  it('starts each when the one before finished, from its branch', async () => {
    const spawns = [
      { name: 'chain-1', task: 'Do chain-1.' },
      { name: 'chain-2', task: 'Do chain-2.', after: ['chain-1'], base_after: true },
      { name: 'chain-3', task: 'Do chain-3.', after: ['chain-2'], base_after: true },
    ];
    const statuses: string[] = [];
    for (const spawn of spawns) {
      const result = await client.callTool({ name: 'spawn_agent', arguments: { repo, ...spawn, extra_args: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'] } });
      expect(result.isError, resultText(result)).toBeFalsy();
      statuses.push((result.structuredContent as { status: string }).status);
    }
    expect(statuses).toEqual(['started', 'queued', 'queued']);

    const third = await waitUntil(async () => {
      const result = await client.callTool({ name: 'read_agent_state', arguments: {} });
      const agents = (result.structuredContent as { agents: Array<{ name: string; worktree_path: string; status: { state: string } }>; queued: unknown[] }).agents;
      const last = agents.find((agent) => agent.name === 'chain-3');
      return last && last.status.state === 'idle' && last;
    }, 240_000, 'chain-3 to finish').catch(async (error: Error) => {
      const state = await client.callTool({ name: 'read_agent_state', arguments: {} });
      const summary = state.structuredContent as { agents: Array<{ name: string; status: unknown; transcript: unknown }>; queued: unknown[] };
      throw new Error(`${error.message}: ${JSON.stringify({ agents: summary.agents.map(({ name, status }) => ({ name, status })), queued: summary.queued })}`);
    });

    // All three commits, in order, in the last worktree.
    expect(git(third.worktree_path, 'log', '--format=%s', '-3').trim().split('\n')).toEqual(['chain-3', 'chain-2', 'chain-1']);
    for (const step of ['1', '2', '3']) expect(existsSync(join(third.worktree_path, `chain-${step}.txt`))).toBe(true);

    // Each agent's first model request came after the one before had finished its turn (its last request).
    const main = model.messageRequests().filter((request) => isMainConversation(request.body));
    const first = (step: string) => main.findIndex((request) => taskOf(request) === step);
    const last = (step: string) => main.length - 1 - [...main].reverse().findIndex((request) => taskOf(request) === step);
    expect(first('2')).toBeGreaterThan(last('1'));
    expect(first('3')).toBeGreaterThan(last('2'));
  }, 400_000);
});
