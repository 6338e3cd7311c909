import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStatus, findLiveAgent } from '../../src/state/state.js';
import { fleetOverlaps } from '../../src/state/overlap.js';
import { Notifier } from '../../src/notify/notifier.js';
import { webhookChannel } from '../../src/notify/channels.js';
import { git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';
import { claudeEnv, isMainConversation, lastToolResult, startModelServer, systemText, type ModelServer, type Script } from '../helpers/model-server.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Best-of-N and overlap warnings with real Claude Code children (sandboxed,
 * behind the gate) driven by the scripted model, through the built server
 * and a real MCP client. Each attempt writes its own solution and commits it;
 * the scripted model tells the children apart by the name in their system
 * prompt.
 */
let model: ModelServer;
let world: TestWorld;
let repo: string;
let client: Client;
/** A loopback webhook the server's notifier posts to. */
let hook: http.Server;
const received: Array<{ kind: string; agent: string; message: string }> = [];

// Named files, not -A: while a command runs, the sandbox masks dotfiles in the worktree with placeholder devices.
const commit = (message: string, files: string) => `git add ${files} && git -c user.name=agent -c user.email=agent@example.com commit -q -m "${message}"`;
/** What each child does, by its name. */
const WORK: Record<string, string> = {
  'adder-a1': `printf 'echo $(($1 + $2))\\n' > add.sh && ${commit('add with shell arithmetic', 'add.sh')}`,
  'adder-a2': `printf 'expr "$1" + "$2"\\n' > add.sh && printf 'add.sh adds two numbers\\n' > NOTES.md && ${commit('add with expr', 'add.sh NOTES.md')}`,
  'adder-a3': `printf 'echo $(($1 - $2))\\n' > add.sh && ${commit('add, wrongly', 'add.sh')}`,
  'left': `printf 'left side\\n' > shared.txt && ${commit('left', 'shared.txt')}`,
  'right': `printf 'right side\\n' > shared.txt && ${commit('right', 'shared.txt')}`,
};
/** Children that must not finish: their turn after the tool call hangs on the model. */
const NEVER_FINISH = new Set(['left', 'right']);

/** What the children's commands answered, for a failure message. */
const toolResults: string[] = [];
const script: Script = ({ body }) => {
  if (!isMainConversation(body)) return { text: 'ok' };
  const name = /ringmaster child agent named "([^"]+)"/.exec(systemText(body))?.[1] ?? '';
  const result = lastToolResult(body);
  if (result) toolResults.push(`${name}: ${JSON.stringify(result)}`);
  if (!result) return WORK[name] ? { toolUse: { name: 'Bash', input: { command: WORK[name], description: 'write the solution and commit it' } } } : { text: 'ok' };
  return NEVER_FINISH.has(name) ? { hang: true } : { text: 'Committed my solution.' };
};

beforeAll(async () => {
  model = await startModelServer(script);
  world = makeWorld(claudeEnv(model));
  repo = makeRepo(world.dir, 'calc');
  hook = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(raw));
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  writeFileSync(
    join(world.env.RINGMASTER_HOME!, 'config.json'),
    JSON.stringify({ notifications: { webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, desktop: false, tmux: false, minIntervalSec: 0 } }),
  );
  client = await connectStdio(world.env);
});
afterAll(async () => {
  await client?.close();
  await world?.close();
  await model?.close();
  await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
});

const call = async (name: string, args: Record<string, unknown>) => {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 300_000 });
  expect(result.isError, resultText(result)).toBeFalsy();
  return result.structuredContent as Record<string, any>;
};
const branchTip = (branch: string) => git(repo, 'rev-parse', `refs/heads/${branch}`).trim();
const CLAUDE_ARGS = ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'];

describe('three attempts at one task', () => {
  const base = () => git(repo, 'rev-parse', 'main').trim();

  it('spawns them as one group on one base, compares them by running the tests, and keeps the best', async () => {
    const spawned = await call('spawn_agent', { repo, task: 'Write add.sh: sh add.sh A B prints A+B. Commit it.', name: 'adder', attempts: 3, extra_args: CLAUDE_ARGS });
    expect(spawned.group.attempts.map((attempt: { name: string }) => attempt.name)).toEqual(['adder-a1', 'adder-a2', 'adder-a3']);
    expect(spawned.group.attempts.map((attempt: { branch: string }) => attempt.branch)).toEqual(['agent/adder-a1', 'agent/adder-a2', 'agent/adder-a3']);
    const group = spawned.group.id as string;

    for (const name of ['adder-a1', 'adder-a2', 'adder-a3']) {
      await waitUntil(() => branchTip(`agent/${name}`) !== base(), 90_000, `${name} to commit`).catch((error: Error) => {
        throw new Error(`${error.message}; tool results: ${toolResults.join('\n')}; screen:\n${world.tmux('capture-pane', '-p', '-t', `=ringmaster-${name}:`)}`);
      });
      await waitUntil(async () => (await agentStatus(world.context, findLiveAgent(world.context, name))).state === 'idle', 60_000, `${name} to be idle`);
    }
    // Attempts at one task overlap by design: no warning among them.
    expect([...(await fleetOverlaps(world.context)).values()]).toEqual([]);

    const comparison = await call('compare_attempts', { group: 'adder', test_command: 'test "$(sh add.sh 2 3)" = 5' });
    expect(comparison).toMatchObject({ group, name: 'adder', base: 'main', base_commit: base(), test_command: 'test "$(sh add.sh 2 3)" = 5' });
    const byName = Object.fromEntries(comparison.attempts.map((attempt: { name: string }) => [attempt.name, attempt]));
    expect(byName['adder-a1'].tests).toMatchObject({ passed: true, exit_code: 0, timed_out: false, sandboxed: true });
    expect(byName['adder-a2'].tests).toMatchObject({ passed: true, exit_code: 0, sandboxed: true });
    expect(byName['adder-a3'].tests).toMatchObject({ passed: false, exit_code: 1, sandboxed: true });
    expect(byName['adder-a1']).toMatchObject({ status: { state: 'idle' }, commits: 1, diff: { files: 1, insertions: 1, deletions: 0, changes: [{ path: 'add.sh', insertions: 1, deletions: 0 }] }, uncommitted_files: [] });
    expect(byName['adder-a2'].diff).toMatchObject({ files: 2, insertions: 2, deletions: 0 });
    expect(byName['adder-a2'].diff.changes.map((change: { path: string }) => change.path).sort()).toEqual(['NOTES.md', 'add.sh']);
    for (const attempt of comparison.attempts) {
      expect(attempt.head).toBe(branchTip(attempt.branch));
      // Priced model usage from the transcripts, and time from the spawn to the start of idle.
      expect(attempt.cost_usd).toBeGreaterThan(0);
      expect(attempt.elapsed_seconds).toBeGreaterThanOrEqual(0);
    }
    const pair = (a: string, b: string) => comparison.pairs.find((entry: { a: string; b: string }) => entry.a === a && entry.b === b);
    expect(pair('adder-a1', 'adder-a2')).toMatchObject({ identical: false, insertions: 2, deletions: 1 });
    expect(pair('adder-a1', 'adder-a2').files.map((file: { path: string }) => file.path).sort()).toEqual(['NOTES.md', 'add.sh']);
    expect(pair('adder-a1', 'adder-a3')).toMatchObject({ identical: false, files: [{ path: 'add.sh', insertions: 1, deletions: 1 }] });

    // Keep a1. The others' commits exist nowhere else, so deleting their branches is refused without force.
    const a2Tip = branchTip('agent/adder-a2');
    const refused = await call('pick_attempt', { group, pick: 'adder-a1' });
    expect(refused.picked).toMatchObject({ name: 'adder-a1', branch: 'agent/adder-a1', head: branchTip('agent/adder-a1'), pr: null });
    expect(refused.others.map((other: { outcome: string }) => other.outcome)).toEqual(['refused', 'refused']);
    expect(refused.others[0].detail).toMatch(/1 commit\(s\) on agent\/adder-a2 that exist on no other branch or remote/);
    expect(existsSync(findLiveAgent(world.context, 'adder-a2').worktreePath)).toBe(true);

    // Keeping their branches as references keeps the commits, so they go; uncommitted work in a3 still blocks.
    const a3 = findLiveAgent(world.context, 'adder-a3');
    writeFileSync(join(a3.worktreePath, 'scratch.txt'), 'unsaved\n');
    const kept = await call('pick_attempt', { group, pick: '1', keep_branches: true });
    const outcome = Object.fromEntries(kept.others.map((other: { name: string; outcome: string; branch: string }) => [other.name, `${other.outcome}/${other.branch}`]));
    expect(outcome).toEqual({ 'adder-a2': 'removed/kept', 'adder-a3': 'refused/kept' });
    expect(kept.others[1].detail).toMatch(/uncommitted change\(s\).*scratch\.txt/);
    expect(branchTip('agent/adder-a2')).toBe(a2Tip);
    expect(existsSync(a3.worktreePath)).toBe(true);

    const forced = await call('pick_attempt', { group, pick: '1', force: true });
    expect(forced.others.map((other: { name: string; outcome: string; branch: string }) => `${other.name}:${other.outcome}/${other.branch}`)).toEqual([
      // force without keep_branches: the branch an earlier pick kept goes too.
      'adder-a2:already removed/deleted',
      'adder-a3:removed/deleted',
    ]);
    expect(existsSync(a3.worktreePath)).toBe(false);
    // The kept attempt is untouched and still running.
    const a1 = findLiveAgent(world.context, 'adder-a1');
    expect(existsSync(a1.worktreePath)).toBe(true);
    expect((await agentStatus(world.context, a1)).state).toBe('idle');
    expect((await call('compare_attempts', { group, run_tests: false })).picked).toBe('adder-a1');
  }, 400_000);

  it('refuses a bad attempts count and leaves nothing behind when one attempt cannot start', async () => {
    const bad = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 't', attempts: 9 } });
    expect(bad.isError).toBe(true);
    // The third attempt's branch is taken: the first two are rolled back.
    git(repo, 'branch', 'agent/solo-a3');
    const before = world.context.store.listAgents({ includeRemoved: true }).length;
    const failed = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'say ok', name: 'solo', attempts: 3, agent: 'codex' } }, undefined, { timeout: 300_000 });
    expect(failed.isError).toBe(true);
    expect(resultText(failed)).toMatch(/Attempt 3 of 3 failed, so none was kept: branch agent\/solo-a3 already exists/);
    expect(world.context.store.listAgents({ includeRemoved: true })).toHaveLength(before);
    expect(git(repo, 'branch', '--list', 'agent/solo-a1', 'agent/solo-a2').trim()).toBe('');
    expect(world.tmux('ls')).not.toMatch(/ringmaster-solo-a/);
    expect(world.context.store.db.prepare(`SELECT count(*) AS n FROM attempt_groups WHERE name = 'solo'`).get()).toEqual({ n: 0 });
  }, 200_000);
});

describe('overlap warnings', () => {
  it('flags two agents editing the same file before either finishes, in every view and a notification', async () => {
    const notifier = new Notifier(world.context, () => {}, [webhookChannel(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`)]);
    {
      await call('spawn_agent', { repo, task: 'Write shared.txt and commit it.', name: 'left', extra_args: CLAUDE_ARGS });
      // A wait that starts before the overlap exists ends when it appears.
      const waiting = client.callTool({ name: 'wait_for_agents', arguments: { names: ['left'], timeout_sec: 120, only_changes: true } }, undefined, { timeout: 300_000 });
      await call('spawn_agent', { repo, task: 'Write shared.txt and commit it.', name: 'right', extra_args: CLAUDE_ARGS });

      const overlaps = await waitUntil(async () => {
        const found = await fleetOverlaps(world.context);
        return found.size === 2 && [...found.values()].every((overlap) => overlap.overlaps[0]?.conflictFiles.length) && found;
      }, 90_000, 'left and right to be flagged');
      const left = overlaps.get(findLiveAgent(world.context, 'left').id)!;
      expect(left.overlaps).toEqual([{ agent: 'right', sameFiles: ['shared.txt'], conflictFiles: ['shared.txt'] }]);
      // Neither has finished: each is stuck in its model call after committing.
      for (const name of ['left', 'right']) expect((await agentStatus(world.context, findLiveAgent(world.context, name))).state).toBe('working');

      const waited = (await waiting).structuredContent as { timed_out: boolean; ready: unknown[]; new_overlaps: string[]; overlaps: Array<{ agent: string }> };
      expect(waited).toMatchObject({ timed_out: false, ready: [], new_overlaps: ['left'] });
      // The server's views wait 150 ms for a changed worktree's git summary, then serve the cached one (marked stale):
      // on a loaded machine its first look may still see a commit as uncommitted, so it is given a few refreshes.
      const rightOverlaps = await waitUntil(async () => {
        const listed = await call('list_agents', {});
        const overlaps = listed.agents.find((agent: { name: string }) => agent.name === 'right').overlaps as Array<{ conflict_files: string[] }>;
        return overlaps[0]?.conflict_files.length ? overlaps : undefined;
      }, 60_000, "list_agents to show right's conflict");
      expect(rightOverlaps).toEqual([{ agent: 'left', same_files: ['shared.txt'], conflict_files: ['shared.txt'] }]);
      const state = await waitUntil(async () => {
        const read = await client.callTool({ name: 'read_agent_state', arguments: { name: 'left' } });
        const overlaps = (read.structuredContent as { agents: Array<{ overlaps: Array<{ conflict_files: string[] }> }> }).agents[0]!.overlaps;
        return overlaps[0]?.conflict_files.length ? read : undefined;
      }, 60_000, "read_agent_state to show left's conflict");
      expect((state.structuredContent as { agents: Array<{ overlaps: unknown }> }).agents[0]!.overlaps).toEqual([{ agent: 'right', same_files: ['shared.txt'], conflict_files: ['shared.txt'] }]);
      expect(resultText(state)).toContain("OVERLAP left: its branch conflicts with right's in shared.txt");

      // The server's notifier tells the human, once per agent.
      const notices = await waitUntil(() => {
        const overlapNotices = received.filter((notice) => notice.kind === 'overlap');
        return overlapNotices.length >= 2 && overlapNotices;
      }, 60_000, 'the overlap notifications');
      expect(notices.map((notice) => notice.agent).sort()).toEqual(['left', 'right']);
      expect(notices.find((notice) => notice.agent === 'left')!.message).toBe("left: its branch conflicts with right's in shared.txt. See: ringmaster ls");
      // Another process that sees the same overlap does not send it again.
      const again = await notifier.checkOverlaps();
      expect(again.map((report) => report.skipped)).toEqual(['duplicate', 'duplicate']);
      expect(received.filter((notice) => notice.kind === 'overlap')).toHaveLength(2);
    }
  }, 300_000);
});
