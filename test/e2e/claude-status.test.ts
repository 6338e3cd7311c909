import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/core/context.js';
import { loadConfig } from '../../src/config.js';
import { Monitor } from '../../src/fleet/monitor.js';
import { sendPrompt, unwrapPaste } from '../../src/fleet/prompt.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { agentStatus, findLiveAgent, readAgentState, type StatusReport } from '../../src/state/state.js';
import { waitForAgents } from '../../src/state/wait.js';
import { ConflictError } from '../../src/errors.js';
import { makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { claudeEnv, isMainConversation, lastToolResult, startModelServer, type MessagesRequestBody, type ModelServer, type Reply } from '../helpers/model-server.js';

let model: ModelServer;
let world: TestWorld;
let repo: string;

/** The newest prompt a human (or ringmaster) typed, ignoring Claude's own reminders. */
function latestPrompt(body: MessagesRequestBody): string {
  for (const message of [...(body.messages ?? [])].reverse()) {
    if (message.role !== 'user') continue;
    const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : (message.content as Array<{ type: string; text?: string }>);
    if (blocks.some((block) => block.type === 'tool_result')) return '';
    const texts = blocks.filter((block) => block.type === 'text' && block.text && !block.text.startsWith('<')).map((block) => block.text!);
    if (texts.length) return texts[texts.length - 1]!;
  }
  return '';
}

/**
 * The scripted model: the prompt's first word says what to do.
 * THINK <ms>: answer after a long silent pause. BASH <command>: run it, then end the turn
 * ("slow<ms>" anywhere in a call's input: take that long over its result).
 * ASK: ask the user a question. Anything else: answer "ok".
 */
/** The newest tool_use block the model sent in this conversation. */
function lastToolUse(body: MessagesRequestBody): { name?: string; input?: unknown } | undefined {
  for (const message of [...(body.messages ?? [])].reverse()) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue;
    const block = [...message.content].reverse().find((item) => (item as { type?: string }).type === 'tool_use');
    if (block) return block as { name?: string; input?: unknown };
  }
  return undefined;
}

function script({ body }: { body: MessagesRequestBody }): Reply {
  if (!isMainConversation(body)) return { text: 'ok' };
  if (lastToolResult(body) && latestPrompt(body) === '') {
    // "slow<ms>" in the call's input: the model takes that long over the result (the tool is over, the turn is not).
    const slow = /slow(\d+)/.exec(JSON.stringify(lastToolUse(body)?.input ?? {}));
    return { text: 'Done with the tool.', ...(slow ? { delayMs: Number(slow[1]) } : {}) };
  }
  const prompt = latestPrompt(body);
  const [word, ...rest] = prompt.split(' ');
  if (word === 'THINK') return { delayMs: Number(rest[0]), text: `thought for ${rest[0]} ms` };
  if (word === 'BASH') return { toolUse: { name: 'Bash', input: { command: rest.join(' '), description: 'scripted command' } } };
  if (word === 'WRITE') return { toolUse: { name: 'Write', input: { file_path: rest[0], content: 'written by the scripted model\n' } } };
  if (word === 'ASK') {
    return {
      toolUse: {
        name: 'AskUserQuestion',
        input: { questions: [{ question: 'Which colour should the button be?', header: 'Colour', multiSelect: false, options: [{ label: 'Red', description: 'warm' }, { label: 'Blue', description: 'calm' }] }] },
      },
    };
  }
  return { text: `ok: ${prompt.slice(0, 40)}` };
}

beforeAll(async () => {
  model = await startModelServer(script);
  world = makeWorld(claudeEnv(model));
  repo = makeRepo(world.dir, 'status repo');
});
afterAll(async () => {
  await world?.close();
  await model?.close();
});

const ACCEPT_EDITS = ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'];

async function status(name: string): Promise<StatusReport> {
  return agentStatus(world.context, findLiveAgent(world.context, name));
}

async function waitForState(name: string, state: string, timeoutMs = 30_000): Promise<StatusReport> {
  let last: StatusReport | undefined;
  return waitUntil(async () => {
    last = await status(name);
    return last.state === state ? last : undefined;
  }, timeoutMs, `${name} to be ${state}`).catch((error: Error) => {
    throw new Error(`${error.message}; last status: ${JSON.stringify(last)}`);
  });
}

describe('truthful status from a real Claude Code child', () => {
  it('goes starting -> working (a long silent model call) -> idle, with the time each began', async () => {
    const before = Date.now();
    const spawned = await spawnAgent(world.context, { repo, task: 'THINK 4000', name: 'thinker', extraArgs: ACCEPT_EDITS });
    expect(spawned.taskSubmitted).toBe(true);
    const working = await status('thinker');
    expect(working.state).toBe('working');
    expect(working.reason).toMatch(/prompt was submitted/);
    expect(Date.parse(working.since)).toBeGreaterThanOrEqual(before - 1000);
    // Nothing is written to the transcript during the pause; hooks and the session file keep it "working".
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await status('thinker')).state).toBe('working');
    const idle = await waitForState('thinker', 'idle', 20_000);
    expect(idle.reason).toBe('the turn finished');
    expect(Date.parse(idle.since)).toBeGreaterThanOrEqual(Date.parse(working.since) + 3_000);
  });

  it('stays working through a long-running tool, naming the tool, and says when it is over though no hook follows it', async () => {
    const sent = await sendPrompt(world.context, { name: 'thinker', text: 'BASH sleep 5; echo slept > slept.txt # slow6000' });
    expect(sent.delivered).toBe(true);
    const running = await waitUntil(async () => {
      const current = await status('thinker');
      return current.currentTool === 'Bash' ? current : undefined;
    }, 15_000, 'the Bash tool to start');
    expect(running.state).toBe('working');
    expect(running.reason).toBe('running tool Bash');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await status('thinker')).state).toBe('working');
    // The command ends; the model takes 6 s over its result. Children have no PostToolUse hook for Bash:
    // the tool result in the transcript is what says the tool is over.
    const finished = await waitUntil(async () => {
      const current = await status('thinker');
      return current.currentTool === null && current.state === 'working' ? current : undefined;
    }, 15_000, 'the tool to be reported over while the turn goes on');
    expect(finished.reason).toBe('finished tool Bash; the turn continues');
    expect(finished.since).toBe(running.since);
    // No hook said so: the child records PostToolUse only for Agent/Task calls.
    const kinds = world.context.store.recentEvents(findLiveAgent(world.context, 'thinker').id, 300).map((event) => `${event.kind}:${String(event.detail?.tool_name ?? '')}`);
    expect(kinds).toContain('PreToolUse:Bash');
    expect(kinds.filter((kind) => kind.startsWith('PostToolUse'))).toEqual([]);
    await waitForState('thinker', 'idle', 20_000);

    // Claude may append the turn's last transcript lines just after its Stop hook: read until they are in.
    const sessionRequests = () => model.requests.filter((request) => isMainConversation(request.body as MessagesRequestBody) && request.headers['x-claude-code-session-id'] === state!.claudeSessionId);
    let [state] = await readAgentState(world.context, { name: 'thinker' });
    await waitUntil(async () => {
      [state] = await readAgentState(world.context, { name: 'thinker' });
      return state!.transcript!.usage.main.apiResponses >= sessionRequests().length;
    }, 5_000, 'the transcript to catch up');
    expect(state!.transcript!.summary.recentToolCalls.map((call) => call.summary)).toContain('sleep 5; echo slept > slept.txt # slow6000');
    expect(state!.git!.dirtyFiles).toEqual(['slept.txt']);
    // One usage row per API response of this session, however many lines each response took.
    expect(state!.transcript!.usage.main.apiResponses).toBe(sessionRequests().length);
  });

  it('refuses a prompt mid-turn, interrupts with Esc when asked, and sees the Esc that no hook reports', async () => {
    await sendPrompt(world.context, { name: 'thinker', text: 'THINK 30000' });
    await waitForState('thinker', 'working');
    await expect(sendPrompt(world.context, { name: 'thinker', text: 'are you there?' })).rejects.toThrow(ConflictError);
    await expect(sendPrompt(world.context, { name: 'thinker', text: 'are you there?' })).rejects.toThrow(/is working .* Pass interrupt: true .* or queue: true/);

    world.tmux('send-keys', '-t', '=ringmaster-thinker:', 'Escape');
    const interrupted = await waitForState('thinker', 'idle', 10_000);
    expect(interrupted.reason).toMatch(/interrupted/);

    await sendPrompt(world.context, { name: 'thinker', text: 'THINK 30000' });
    await waitForState('thinker', 'working');
    const afterInterrupt = await sendPrompt(world.context, { name: 'thinker', text: 'second thoughts', interrupt: true });
    expect(afterInterrupt).toMatchObject({ delivered: true, interrupted: true });
    await model.waitFor((request) => JSON.stringify(request.body).includes('second thoughts'), 10_000);
  });

  it('queues a prompt for a busy agent and delivers it when the agent is idle', async () => {
    const monitor = new Monitor(world.context, 300);
    monitor.start();
    try {
      await waitForState('thinker', 'idle', 20_000);
      await sendPrompt(world.context, { name: 'thinker', text: 'THINK 3000' });
      await waitForState('thinker', 'working');
      const queued = await sendPrompt(world.context, { name: 'thinker', text: 'queued follow-up', queue: true });
      expect(queued).toMatchObject({ method: 'queued', delivered: false });
      const delivered = new Promise((resolve) => monitor.once('delivered', resolve));
      expect(await delivered).toMatchObject({ name: 'thinker', queueId: queued.queueId, delivered: true });
      await model.waitFor((request) => latestPrompt(request.body as MessagesRequestBody) === 'queued follow-up', 10_000);
    } finally {
      monitor.stop();
    }
  });

  it('delivers long, awkward text exactly, and very long text through a file', async () => {
    await waitForState('thinker', 'idle', 20_000);
    const line = `quotes "d" 'su' \`tick\` $HOME \${X} $(id) \\ ünïcödé 漢字 🎪 `;
    const text = Array.from({ length: 1_300 }, (_, index) => `${index}: ${line}`).join('\n');
    expect(Buffer.byteLength(text)).toBeGreaterThan(90_000);
    const sent = await sendPrompt(world.context, { name: 'thinker', text, timeoutMs: 30_000 });
    expect(sent, sent.notes.join('\n')).toMatchObject({ delivered: true, method: 'paste', verifiedBy: 'UserPromptSubmit' });
    // The model sees the very same bytes, inside the <pasted_content> wrapper Claude puts around large pastes.
    await model.waitFor((request) => unwrapPaste(latestPrompt(request.body as MessagesRequestBody)) === text, 10_000);

    await waitForState('thinker', 'idle', 20_000);
    const huge = 'x'.repeat(150_000);
    const viaFile = await sendPrompt(world.context, { name: 'thinker', text: huge });
    expect(viaFile).toMatchObject({ delivered: true, method: 'file' });
    expect(viaFile.notes[0]).toMatch(/saved to .*inbox\/prompt-\d+\.md/);
  });

  it('types slash commands instead of pasting them', async () => {
    await waitForState('thinker', 'idle', 20_000);
    const cleared = await sendPrompt(world.context, { name: 'thinker', text: '/clear' });
    expect(cleared.method).toBe('typed');
    // /clear ends the conversation: Claude reports SessionEnd(reason "clear"), and a SessionStart(source "clear") sooner or later.
    const clearEvents = () => world.context.store.recentEvents(findLiveAgent(world.context, 'thinker').id, 5);
    await waitUntil(() => clearEvents().some((event) => (event.kind === 'SessionStart' && event.detail?.source === 'clear') || (event.kind === 'SessionEnd' && event.detail?.reason === 'clear')), 10_000, 'Claude to clear').catch((error: Error) => {
      throw new Error(`${error.message}; result ${JSON.stringify(cleared)}; events ${JSON.stringify(world.context.store.recentEvents(findLiveAgent(world.context, 'thinker').id, 5).map((event) => [event.kind, event.detail?.source]))}; screen:\n${world.tmux('capture-pane', '-p', '-t', '=ringmaster-thinker:')}`);
    });
    // The process lives on: the agent is idle, not exited.
    expect((await status('thinker')).state).toBe('idle');
  });

  it('waits for input when Claude asks a question', async () => {
    await spawnAgent(world.context, { repo, task: 'ASK which colour', name: 'asker', extraArgs: ACCEPT_EDITS });
    const waiting = await waitForState('asker', 'waiting_input');
    expect(waiting.reason).toMatch(/AskUserQuestion/);
  });

  it('waits for permission when Claude asks to run a tool', async () => {
    // Sandboxed Bash runs without asking; a file write in the default permission mode still asks.
    await spawnAgent(world.context, { repo, task: `WRITE ${join(world.dir, 'needs-permission-slow5000.txt')}`, name: 'asks-permission', extraArgs: ['--permission-mode', 'default'] });
    const waiting = await waitForState('asks-permission', 'waiting_permission');
    expect(waiting.reason).toMatch(/Write/);
    const result = await waitForAgents(world.context, { names: ['asks-permission', 'thinker'], timeoutSec: 5 });
    expect(result.ready.map((entry) => entry.name).sort()).toEqual(['asks-permission', 'thinker']);
    // Yes on the dialog: no hook fires for the answer; Claude's session file turning busy says the turn goes on
    // (the write, then 5 s of the model over its result).
    await new Promise((resolve) => setTimeout(resolve, 500));
    world.tmux('send-keys', '-t', '=ringmaster-asks-permission:', 'Enter');
    const answered = await waitForState('asks-permission', 'working', 5_000);
    expect(answered.reason).toBe('the dialog was answered; the turn goes on (Claude reports busy)');
    await waitForState('asks-permission', 'idle', 20_000);
    expect(existsSync(join(world.dir, 'needs-permission-slow5000.txt'))).toBe(true);
  });

  it('wait_for_agents blocks until an agent finishes its turn', async () => {
    await sendPrompt(world.context, { name: 'thinker', text: 'THINK 3000' });
    await waitForState('thinker', 'working');
    const progress: string[] = [];
    const started = Date.now();
    const result = await waitForAgents(world.context, { names: ['thinker'], timeoutSec: 30, onProgress: (message) => progress.push(message), pollMs: 200 });
    expect(result.timedOut).toBe(false);
    expect(result.ready).toEqual([expect.objectContaining({ name: 'thinker', status: expect.objectContaining({ state: 'idle' }) })]);
    expect(Date.now() - started).toBeGreaterThan(1_000);
    const timedOut = await waitForAgents(world.context, { names: ['thinker'], timeoutSec: 1, onlyChanges: true });
    expect(timedOut.timedOut).toBe(true);
  });

  it('reports exited with the exit status when the process is killed', async () => {
    const agent = findLiveAgent(world.context, 'asker');
    const pid = Number(world.tmux('display-message', '-p', '-t', `=${agent.tmuxSession}:`, '#{pane_pid}').trim());
    execFileSync('kill', ['-TERM', String(pid)]);
    const exited = await waitForState('asker', 'exited', 10_000);
    expect(exited.reason).toMatch(/exited/);
  });

  it('reports exited when the tmux session is killed from outside', async () => {
    world.tmux('kill-session', '-t', '=ringmaster-asks-permission');
    const exited = await waitForState('asks-permission', 'exited', 5_000);
    expect(exited.reason).toMatch(/tmux session no longer exists/);
  });

  it('comes back with the same state after a ringmaster restart', async () => {
    const before = await status('thinker');
    const restarted = createContext(world.env, loadConfig(world.env));
    try {
      const after = await agentStatus(restarted, findLiveAgent(restarted, 'thinker'));
      expect(after.state).toBe(before.state);
      expect(after.since).toBe(before.since);
      const [state] = await readAgentState(restarted, { name: 'thinker' });
      expect(state!.transcript!.summary.lastAssistantText).toBeTruthy();
    } finally {
      restarted.store.close();
    }
  });
});
