import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { claudeEnv, isMainConversation, isToolResultTurn, startModelServer, userTexts, type ModelServer } from '../helpers/model-server.js';

/**
 * A real Claude child whose scripted model goes silent mid-task: the request
 * is accepted and never answered. With a stall time of 8 s the agent is
 * reported `stalled` (with how long and what it was doing), wait_for_agents
 * wakes on it, and a notification goes out; an agent whose model answers is
 * never called stalled.
 */

const STALL_AFTER_SEC = 8;
let model: ModelServer;
let world: TestWorld;
let repo: string;
let client: Client;
let webhook: WebhookReceiver<{ kind: string; title: string; message: string; agent: string }>;
let notices: Array<{ kind: string; title: string; message: string; agent: string }> = [];

beforeAll(async () => {
  model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok' };
    const last = userTexts(body).at(-1) ?? '';
    if (last.includes('go silent')) return { hang: true };
    // A tool that runs long and prints nothing: Claude's screen then changes only by its timers and a blinking dot.
    // (Claude refuses a bare long `sleep`; a loop of short ones runs.)
    if (last.includes('slow command') && !isToolResultTurn(body)) return { toolUse: { name: 'Bash', input: { command: 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do sleep 3; done', description: 'Run the slow command' } } };
    return { text: 'Done.' };
  });
  webhook = await startWebhookReceiver<(typeof notices)[number]>();
  notices = webhook.received;
  world = makeWorld(claudeEnv(model));
  repo = makeRepo(world.dir, 'stall repo');
  writeFileSync(
    join(world.env.RINGMASTER_HOME!, 'config.json'),
    JSON.stringify({
      notifications: { stallAfterSec: STALL_AFTER_SEC, webhookUrl: webhook.url, desktop: false, tmux: false, minIntervalSec: 0 },
    }),
  );
  client = await connectStdio(world.env);
});
afterAll(async () => {
  await client?.close();
  await world?.close();
  await model?.close();
  webhook?.close();
});

describe('stall detection', () => {
  it('reports an agent whose model went silent as stalled, wakes wait_for_agents, and notifies', async () => {
    const fine = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'Answer and finish.', name: 'answers' } });
    expect(fine.isError, resultText(fine)).toBeFalsy();
    const spawned = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'Start, then go silent.', name: 'silent' } });
    expect(spawned.isError, resultText(spawned)).toBeFalsy();
    await model.waitFor((request) => isMainConversation(request.body) && (userTexts(request.body).at(-1) ?? '').includes('go silent'), 60_000);

    const waited = await client.callTool({ name: 'wait_for_agents', arguments: { names: ['silent'], timeout_sec: 120 } });
    expect(waited.isError, resultText(waited)).toBeFalsy();
    const result = waited.structuredContent as { timed_out: boolean; ready: Array<{ name: string; status: { state: string; reason: string; seconds_in_state: number } }> };
    expect(result.timed_out).toBe(false);
    expect(result.ready[0]!.name).toBe('silent');
    expect(result.ready[0]!.status.state).toBe('stalled');
    expect(result.ready[0]!.status.seconds_in_state).toBeGreaterThanOrEqual(STALL_AFTER_SEC);
    expect(result.ready[0]!.status.reason).toMatch(/^claims to be working but shows no progress for \d+ s \(no hook event, no transcript record, the screen unchanged\); last doing: /);

    const state = await client.callTool({ name: 'read_agent_state', arguments: {} });
    const agents = (state.structuredContent as { agents: Array<{ name: string; status: { state: string } }> }).agents;
    expect(Object.fromEntries(agents.map((agent) => [agent.name, agent.status.state]))).toEqual({ answers: 'idle', silent: 'stalled' });

    await waitUntil(() => notices.some((notice) => notice.kind === 'stalled' && notice.agent === 'silent' && notice.title === 'silent is stalled'), 60_000, 'the stalled notice');
    expect(notices.filter((notice) => notice.agent === 'answers' && notice.kind === 'stalled')).toEqual([]);
  }, 240_000);

  it('reports an agent whose tool runs on without printing as stalled, with the tool it waits on', async () => {
    const spawned = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'Start the slow command.', name: 'busy', extra_args: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'] } });
    expect(spawned.isError, resultText(spawned)).toBeFalsy();
    const waited = await client.callTool({ name: 'wait_for_agents', arguments: { names: ['busy'], timeout_sec: 40 } });
    const result = waited.structuredContent as { timed_out: boolean; ready: Array<{ name: string; status: { state: string; reason: string } }> };
    expect(result.timed_out, resultText(waited)).toBe(false);
    expect(result.ready[0]!.status.state).toBe('stalled');
    expect(result.ready[0]!.status.reason).toMatch(/last doing: the tool Bash$/);
  }, 120_000);
});
