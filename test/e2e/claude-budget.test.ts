import { execFile } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';
import { claudeEnv, isMainConversation, isToolResultTurn, lastToolResult, startModelServer, userTexts, type ModelServer, type RecordedRequest } from '../helpers/model-server.js';

/**
 * Budgets with a real Claude child whose scripted model reports the usage the
 * test chooses: a warning at half the agent's token budget, a hold at the
 * limit (interrupted, told why, no further model requests, send_prompt
 * refused), a human's approval letting it go on; and a store that cannot be
 * read refusing new work instead of counting as zero spend.
 */

const WHY = 'ringmaster: you have reached your budget';
let model: ModelServer;
let world: TestWorld;
let repo: string;
let client: Client;
let webhook: WebhookReceiver<{ kind: string; title: string; message: string }>;
let notices: Array<{ kind: string; title: string; message: string }> = [];

const lastUserText = (request: RecordedRequest) => userTexts(request.body).at(-1) ?? '';
const mainRequests = () => model.messageRequests().filter((request) => isMainConversation(request.body));

beforeAll(async () => {
  model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok', usage: { inputTokens: 1, outputTokens: 1 } };
    const last = userTexts(body).at(-1) ?? '';
    if (last.includes(WHY)) return { text: 'Stopped after step two.', usage: { inputTokens: 10, outputTokens: 5 } };
    // A finished tool call comes back as a tool result; the test counts those apart.
    if (isToolResultTurn(body)) return { text: 'The command ended.', usage: { inputTokens: 10, outputTokens: 5 } };
    if (last.includes('step one')) return { text: 'Did step one.', usage: { inputTokens: 60_000, outputTokens: 100 } };
    // Step two spends past the limit and goes on working: a command that would run for ten minutes.
    if (last.includes('step two')) return { text: 'Working on step two.', toolUse: { name: 'Bash', input: { command: 'timeout 600 tail -f /dev/null', description: 'a long step' } }, usage: { inputTokens: 50_000, outputTokens: 100 } };
    return { text: 'ok', usage: { inputTokens: 10, outputTokens: 5 } };
  });
  webhook = await startWebhookReceiver<(typeof notices)[number]>();
  notices = webhook.received;
  world = makeWorld(claudeEnv(model));
  repo = makeRepo(world.dir, 'budget repo');
  writeFileSync(
    join(world.env.RINGMASTER_HOME!, 'config.json'),
    JSON.stringify({
      budgets: { warnAt: 0.5, perAgent: { tokens: 100_000 }, fleet: { tokens: 10_000_000 } },
      notifications: { webhookUrl: webhook.url, desktop: false, tmux: false, minIntervalSec: 0 },
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

interface AgentBudget {
  status: { state: string };
  budget: { state: string; spent_tokens: number | null; limit_tokens: number | null; reason: string };
}

async function state(name: string): Promise<AgentBudget> {
  const result = await client.callTool({ name: 'read_agent_state', arguments: { name } });
  expect(result.isError, resultText(result)).toBeFalsy();
  return (result.structuredContent as { agents: AgentBudget[] }).agents[0]!;
}

describe('a budget that stops spending', () => {
  it('warns at the threshold, holds the agent at the limit with no further model requests, and goes on once a human approves more', async () => {
    const spawned = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'Do step one.', name: 'spender' } });
    expect(spawned.isError, resultText(spawned)).toBeFalsy();

    // 60 100 of 100 000 tokens: past the warning at half.
    const warned = await waitUntil(async () => {
      const now = await state('spender');
      return now.budget.state === 'warning' && now.status.state === 'idle' && now;
    }, 90_000, 'the budget warning');
    expect(warned.budget.spent_tokens).toBeGreaterThanOrEqual(60_100);
    expect(warned.budget.reason).toMatch(/^\d+%: \d+ of 100000 tokens of its own budget$/);
    await waitUntil(() => notices.some((notice) => notice.kind === 'budget' && notice.title === 'spender is near its budget'), 30_000, 'the warning notice');

    // Step two takes it past the limit while it works: interrupted (its ten-minute command with it), told why, held.
    const second = await client.callTool({ name: 'send_prompt', arguments: { name: 'spender', text: 'Now do step two.' } });
    expect(second.isError, resultText(second)).toBeFalsy();
    await waitUntil(async () => (await state('spender')).status.state === 'working' || (await state('spender')).budget.state === 'held', 60_000, 'step two to start working');
    const told = await model.waitFor((request) => isMainConversation(request.body) && lastUserText(request).includes(WHY), 90_000);
    expect(lastUserText(told)).toMatch(/you have reached your budget \(\d+ of 100000 tokens of its own budget in the last 24 h\)\. Stop here/);
    const held = await waitUntil(async () => {
      const now = await state('spender');
      return now.budget.state === 'held' && now.status.state === 'idle' && now;
    }, 90_000, 'the agent to be held and idle');
    expect(held.budget.reason).toMatch(/of 100000 tokens of its own budget/);
    // The command was interrupted, not finished: the only request that carries its result is the one telling the agent why,
    // and that result is Claude's record of the interruption.
    const toolTurns = mainRequests().filter((request) => isToolResultTurn(request.body));
    expect(toolTurns.map((request) => lastUserText(request).includes(WHY))).toEqual([true]);
    expect(lastToolResult(toolTurns[0]!.body)?.text).toMatch(/^The user doesn't want to proceed with this tool use\. The tool use was rejected/);
    await waitUntil(() => notices.some((notice) => notice.kind === 'budget' && notice.title === 'spender reached its budget and is held'), 30_000, 'the hold notice');

    // Held: send_prompt refuses, and the model hears nothing more.
    const requestsWhenHeld = mainRequests().length;
    const refused = await client.callTool({ name: 'send_prompt', arguments: { name: 'spender', text: 'Do step three.' } });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/Agent "spender" is held at its budget \(.*\)\. A human raises the limit in config\.json \(budgets\) or approves more: ringmaster budget approve spender/);
    const queued = await client.callTool({ name: 'send_prompt', arguments: { name: 'spender', text: 'Do step three later.', queue: true } });
    expect(queued.isError).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(mainRequests().length).toBe(requestsWhenHeld);

    // A human approves more from the shell; the agent takes prompts again.
    const approve = await promisify(execFile)(process.execPath, [CLI, 'budget', 'approve', 'spender', '--tokens', '100000'], { env: world.env as NodeJS.ProcessEnv });
    expect(approve.stdout).toMatch(/^spender may spend more: budget (ok|warning) /);
    expect((await state('spender')).budget.limit_tokens).toBe(200_000);
    const fourth = await client.callTool({ name: 'send_prompt', arguments: { name: 'spender', text: 'Do step four.' } });
    expect(fourth.isError, resultText(fourth)).toBeFalsy();
    await model.waitFor((request) => isMainConversation(request.body) && lastUserText(request).includes('step four'), 60_000);

    const audit = world.context.store.db.prepare(`SELECT outcome, actor FROM audit_log WHERE category = 'budget' ORDER BY id`).all() as Array<{ outcome: string; actor: string }>;
    expect(audit.map((entry) => entry.outcome).slice(0, 3)).toEqual(['warning', 'held', 'approved']);
  }, 300_000);

  it('refuses new work when the store cannot be read during the budget check, rather than counting the spend as zero', async () => {
    const storeFile = join(world.env.RINGMASTER_HOME!, 'state.db');
    const garbage = `${storeFile}.garbage`;
    writeFileSync(garbage, 'this is not a database\n'.repeat(400));
    renameSync(garbage, storeFile);
    rmSync(`${storeFile}-wal`, { force: true });
    rmSync(`${storeFile}-shm`, { force: true });
    const refused = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'Do more.', name: 'after-fault' } });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/^Refusing new work: the spend so far cannot be read, so the budget cannot be checked \(The state store .* is damaged/);
    // A fresh store for the world's own cleanup.
    rmSync(storeFile, { force: true });
  }, 60_000);
});
