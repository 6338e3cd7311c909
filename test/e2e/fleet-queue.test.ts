import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultLine, resultText } from '../helpers/mcp.js';

/**
 * The live-agent cap and its queue, against the built server over stdio with
 * the fake agent in tmux (sandboxed): five spawns with a cap of two, a server
 * restart in the middle, slots freed one at a time, a dependency chain, and
 * the memory/disk floor.
 */

interface Listed {
  agents: Array<{ name: string; process_alive: boolean; created_at: string; branch: string; worktree_path: string }>;
  queued: Array<{ name: string; position: number | null; state: string; reason: string; after: string[] }>;
}

let world: TestWorld;
let repo: string;
let client: Client;

beforeAll(async () => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'queue repo');
  writeFileSync(join(world.env.RINGMASTER_HOME!, 'config.json'), JSON.stringify({ fleet: { maxLiveAgents: 2 } }));
  client = await connectStdio(world.env);
});
afterAll(async () => {
  await client?.close();
  await world.close();
});

async function list(): Promise<Listed> {
  const result = await client.callTool({ name: 'list_agents', arguments: {} });
  expect(result.isError).toBeFalsy();
  return result.structuredContent as unknown as Listed;
}

async function spawn(name: string, extra: Record<string, unknown> = {}) {
  const result = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: `task of ${name}`, name, agent: 'codex', ...extra } });
  expect(result.isError, resultText(result)).toBeFalsy();
  return result;
}

const live = (listed: Listed) => listed.agents.filter((agent) => agent.process_alive).map((agent) => agent.name).sort();

describe('a cap of two live agents with a persistent queue', () => {
  it('queues three of five spawns, keeps them across a server restart, and starts them in order as slots free', async () => {
    const outcomes = [];
    for (const name of ['q1', 'q2', 'q3', 'q4', 'q5']) outcomes.push((await spawn(name)).structuredContent as { status: string; queue: { position: number } | null });
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['started', 'started', 'queued', 'queued', 'queued']);
    expect(outcomes.slice(2).map((outcome) => outcome.queue!.position)).toEqual([1, 2, 3]);

    let listed = await list();
    expect(live(listed)).toEqual(['q1', 'q2']);
    expect(listed.queued.map((spawn) => [spawn.name, spawn.position])).toEqual([['q3', 1], ['q4', 2], ['q5', 3]]);
    expect(listed.queued[0]!.reason).toMatch(/2 agents are live, the cap is 2/);
    const state = await client.callTool({ name: 'read_agent_state', arguments: { name: 'q4' } });
    expect(resultLine(state)).toMatch(/^q4 is queued at place 2: /);

    // A restart of the server: the queue lives in the store.
    await client.close();
    client = await connectStdio(world.env);
    listed = await list();
    expect(listed.queued.map((spawn) => spawn.name)).toEqual(['q3', 'q4', 'q5']);
    expect(live(listed)).toEqual(['q1', 'q2']);

    // A freed slot goes to the first in the queue, and only to it.
    const cleaned = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'q1', delete_branch: true } });
    expect(cleaned.isError, resultText(cleaned)).toBeFalsy();
    listed = await waitUntil(async () => {
      const now = await list();
      return live(now).includes('q3') && !now.queued.some((spawn) => spawn.name === 'q3') && now;
    }, 90_000, 'q3 to start from the queue');
    expect(live(listed)).toEqual(['q2', 'q3']);
    expect(listed.queued.map((spawn) => [spawn.name, spawn.position])).toEqual([['q4', 1], ['q5', 2]]);

    // An agent that ends by itself frees its slot too (noticed by the monitor, not by a call).
    world.tmux('kill-session', '-t', '=ringmaster-q2');
    listed = await waitUntil(async () => {
      const now = await list();
      return live(now).includes('q4') && !now.queued.some((spawn) => spawn.name === 'q4') && now;
    }, 90_000, 'q4 to start after q2 ended');
    expect(live(listed)).toEqual(['q3', 'q4']);
    expect(listed.queued.map((spawn) => spawn.name)).toEqual(['q5']);

    world.tmux('kill-session', '-t', '=ringmaster-q3');
    listed = await waitUntil(async () => {
      const now = await list();
      return live(now).includes('q5') && !now.queued.some((spawn) => spawn.name === 'q5') && now;
    }, 90_000, 'q5 to start after q3 ended');
    expect(live(listed)).toEqual(['q4', 'q5']);
    expect(listed.queued).toEqual([]);
    // Started in the order they were queued.
    const created = Object.fromEntries(listed.agents.map((agent) => [agent.name, Date.parse(agent.created_at)]));
    expect(created.q3!).toBeLessThan(created.q4!);
    expect(created.q4!).toBeLessThan(created.q5!);

    // The audit log has each step.
    const audit = world.context.store.db.prepare(`SELECT agent_name, outcome FROM audit_log WHERE category = 'fleet' ORDER BY id`).all() as Array<{ agent_name: string; outcome: string }>;
    expect(audit.map((entry) => `${entry.agent_name}:${entry.outcome}`)).toEqual(['q3:queued', 'q4:queued', 'q5:queued', 'q3:started', 'q4:started', 'q5:started']);
  }, 400_000);

  it('cancels a queued spawn, which then never starts, and says so clearly for names that are not queued', async () => {
    const queued = await spawn('q6');
    expect((queued.structuredContent as { status: string }).status).toBe('queued');
    const cancelled = await client.callTool({ name: 'cancel_spawn', arguments: { name: 'q6' } });
    expect(cancelled.isError, resultText(cancelled)).toBeFalsy();
    expect(resultLine(cancelled)).toBe('Cancelled the queued spawn q6; nothing was started.');
    expect((await list()).queued).toEqual([]);

    const again = await client.callTool({ name: 'cancel_spawn', arguments: { name: 'q6' } });
    expect(again.isError).toBe(true);
    expect(resultText(again)).toMatch(/No queued spawn named "q6"/);
    const running = await client.callTool({ name: 'cancel_spawn', arguments: { name: 'q5' } });
    expect(running.isError).toBe(true);
    expect(resultText(running)).toMatch(/already started\. Stop it with cleanup_worktree/);

    // A slot frees; the cancelled spawn stays cancelled.
    world.tmux('kill-session', '-t', '=ringmaster-q4');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(world.context.store.findAgentByName('q6')).toBeUndefined();
    expect(git(repo, 'branch', '--list', 'agent/q6').trim()).toBe('');
  }, 120_000);

  it('runs a chain of three: each starts when the one before finished, from its branch', async () => {
    // Two slots are free again from here on (q4 ended above; end q5 too).
    world.tmux('kill-session', '-t', '=ringmaster-q5');
    const first = await spawn('c1');
    expect((first.structuredContent as { status: string }).status).toBe('started');
    const second = await spawn('c2', { after: ['c1'], base_after: true });
    const third = await spawn('c3', { after: ['c2'], base_after: true });
    expect((second.structuredContent as { status: string; queue: { reason: string } }).queue.reason).toBe('waits for c1 to finish');
    expect((third.structuredContent as { status: string; queue: { reason: string } }).queue.reason).toBe('waits for c2 to finish');

    // A free slot is not enough: c2 waits while c1 runs.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await list()).queued.map((spawn) => spawn.name)).toEqual(['c2', 'c3']);

    // c1 commits its work and ends.
    const c1 = (await list()).agents.find((agent) => agent.name === 'c1')!;
    writeFileSync(join(c1.worktree_path, 'from-c1.txt'), 'c1 was here\n');
    git(c1.worktree_path, 'add', '.');
    git(c1.worktree_path, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'c1 work');
    world.tmux('kill-session', '-t', '=ringmaster-c1');

    const c2 = await waitUntil(async () => {
      const now = await list();
      return !now.queued.some((spawn) => spawn.name === 'c2') && now.agents.find((agent) => agent.name === 'c2' && agent.process_alive);
    }, 90_000, 'c2 to start after c1');
    expect(readFileSync(join(c2.worktree_path, 'from-c1.txt'), 'utf8')).toBe('c1 was here\n');
    expect((await list()).queued.map((spawn) => [spawn.name, spawn.reason])).toEqual([['c3', 'waits for c2 to finish']]);

    writeFileSync(join(c2.worktree_path, 'from-c2.txt'), 'c2 was here\n');
    git(c2.worktree_path, 'add', '.');
    git(c2.worktree_path, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'c2 work');
    world.tmux('kill-session', '-t', '=ringmaster-c2');

    const c3 = await waitUntil(async () => {
      const now = await list();
      return !now.queued.some((spawn) => spawn.name === 'c3') && now.agents.find((agent) => agent.name === 'c3' && agent.process_alive);
    }, 90_000, 'c3 to start after c2');
    expect(existsSync(join(c3.worktree_path, 'from-c1.txt'))).toBe(true);
    expect(existsSync(join(c3.worktree_path, 'from-c2.txt'))).toBe(true);
    expect((await list()).queued).toEqual([]);

    // A dependency that does not exist is refused with what to do.
    const ghost = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 't', name: 'c4', agent: 'codex', after: ['nobody'] } });
    expect(ghost.isError).toBe(true);
    expect(resultText(ghost)).toMatch(/after names "nobody", which is neither an agent nor a queued spawn/);
  }, 300_000);
});

/** A world of its own with this fleet config and its server over stdio, closed after `body`; spawnIn spawns a fake codex agent. */
async function inOwnWorld(
  fleet: Record<string, number>,
  body: (own: { world: TestWorld; client: Client; spawnIn: (repo: string, name: string) => Promise<{ status: string; queue: { reason: string } | null }> }) => Promise<void>,
): Promise<void> {
  const own = makeWorld();
  let client: Client | undefined;
  try {
    writeFileSync(join(own.env.RINGMASTER_HOME!, 'config.json'), JSON.stringify({ fleet }));
    const connected = (client = await connectStdio(own.env));
    const spawnIn = async (repoPath: string, name: string) => {
      const result = await connected.callTool({ name: 'spawn_agent', arguments: { repo: repoPath, task: `task of ${name}`, name, agent: 'codex' } });
      expect(result.isError, resultText(result)).toBeFalsy();
      return result.structuredContent as { status: string; queue: { reason: string } | null };
    };
    await body({ world: own, client: connected, spawnIn });
  } finally {
    await client?.close();
    await own.close();
  }
}

describe('a cap per repository', () => {
  it('queues a second agent in the same repository while another repository still starts one', async () => {
    await inOwnWorld({ maxLiveAgents: 5, maxLiveAgentsPerRepo: 1 }, async ({ world: other, spawnIn }) => {
      const repoA = makeRepo(other.dir, 'repo a');
      const repoB = makeRepo(other.dir, 'repo b');
      expect((await spawnIn(repoA, 'a1')).status).toBe('started');
      const a2 = await spawnIn(repoA, 'a2');
      expect(a2.status).toBe('queued');
      expect(a2.queue!.reason).toMatch(/^1 agents are live in .*repo a, the cap per repository is 1 \(fleet\.maxLiveAgentsPerRepo\)$/);
      expect((await spawnIn(repoB, 'b1')).status).toBe('started');
    });
  }, 120_000);
});

describe('the memory and disk floor', () => {
  it('refuses a spawn with a clear error and leaves nothing behind', async () => {
    const other = makeWorld();
    try {
      const otherRepo = makeRepo(other.dir, 'floor repo');
      writeFileSync(join(other.env.RINGMASTER_HOME!, 'config.json'), JSON.stringify({ fleet: { minFreeDiskMb: 1_000_000_000 } }));
      const result = await promisify(execFile)(process.execPath, [CLI, 'spawn', '--repo', otherRepo, '--task', 't', '--name', 'floor', '--agent', 'codex'], { env: other.env as NodeJS.ProcessEnv }).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect((result as { code: number }).code).toBe(4);
      expect((result as { stderr: string }).stderr).toMatch(/MB of disk is free under .*, below the floor of 1000000000 MB\. Free some, or lower fleet\.minFreeMemoryMb \/ fleet\.minFreeDiskMb/);
      expect(other.context.store.listAgents({ includeRemoved: true })).toEqual([]);
      expect(git(otherRepo, 'branch', '--list', 'agent/floor').trim()).toBe('');
    } finally {
      await other.close();
    }
  }, 60_000);
});

describe('a spawn that died half-way', () => {
  it('counts against the cap while it could still finish, and no longer once it is abandoned', async () => {
    await inOwnWorld({ maxLiveAgents: 1 }, async ({ world: other, client: otherClient, spawnIn }) => {
      const repoA = makeRepo(other.dir, 'ghost repo');
      // The row a crashed spawn_agent leaves behind: reserved, 'spawning', nothing else made.
      const ghost = other.context.store.insertAgent({
        id: 'ag_ghost0000001', name: 'ghost', repo: repoA, baseRef: 'main', baseCommit: git(repoA, 'rev-parse', 'HEAD').trim(), branch: 'agent/ghost',
        worktreePath: join(other.dir, 'nowhere'), tmuxSocket: null, tmuxSession: 'ringmaster-ghost', agentKind: 'codex', model: null, taskPreview: 'ghost', task: 'ghost',
      });
      const early = await spawnIn(repoA, 'early');
      expect(early.status).toBe('queued');
      expect(early.queue!.reason).toMatch(/^1 agents are live, the cap is 1/);
      expect((await otherClient.callTool({ name: 'cancel_spawn', arguments: { name: 'early' } })).isError).toBeFalsy();

      // An hour later nothing can still be finishing it.
      other.context.store.db.prepare(`UPDATE agents SET created_at = ? WHERE id = ?`).run(Date.now() - 3_600_000, ghost.id);
      expect((await spawnIn(repoA, 'late')).status).toBe('started');
      const state = await otherClient.callTool({ name: 'read_agent_state', arguments: { name: 'ghost' } });
      const [agent] = (state.structuredContent as { agents: Array<{ status: { state: string; reason: string } }> }).agents;
      expect(agent!.status).toMatchObject({ state: 'unknown', reason: expect.stringMatching(/never finished.*clean it up/) });
    });
  }, 60_000);
});
