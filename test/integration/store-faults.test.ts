import { existsSync } from 'node:fs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, explainError, type Context } from '../../src/core/context.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { cleanupAgent } from '../../src/fleet/cleanup.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { Store } from '../../src/store/store.js';
import { readAgentState } from '../../src/state/state.js';
import { FAKE_AGENT, git, makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';
import { holdStoreLock, lockInBackgroundCommand } from '../helpers/store-lock.js';

// Real faults: another process holds the SQLite write lock on state.db.

let world: TestWorld;
let repo: string;
let storeFile: string;

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir);
  storeFile = join(world.env.RINGMASTER_HOME!, 'state.db');
});
afterAll(() => world.close());

/** A second context on the same store, as another ringmaster process would have, with its own busy timeout. */
function contextWaiting(busyTimeoutMs: number): Context {
  const env = { ...world.env, RINGMASTER_STORE_BUSY_TIMEOUT_MS: String(busyTimeoutMs) };
  return createContext(env, loadConfig(env));
}

async function spawn(context: Context, name: string) {
  return spawnAgent(context, { repo, task: `work on ${name}`, name, agent: 'custom', command: [FAKE_AGENT], env: { FAKE_AGENT_LOG: join(world.dir, 'logs', name) } });
}

const sessionExists = (name: string) => world.tmux('list-sessions', '-F', '#{session_name}').split('\n').includes(`ringmaster-${name}`);
const branchExists = (name: string) => git(repo, 'branch', '--list', `agent/${name}`).trim() !== '';

describe('a store locked by another process', () => {
  it('a short lock: the write waits for it and the call succeeds', async () => {
    const context = contextWaiting(5_000);
    const agent = await spawn(context, 'short-lock');
    const lock = await holdStoreLock(storeFile, 1_500);
    const started = Date.now();
    const result = await cleanupAgent(context, { name: 'short-lock' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(result).toMatchObject({ tmuxSession: 'killed', worktree: 'removed', alreadyRemoved: false });
    expect(existsSync(agent.worktreePath)).toBe(false);
    await lock.done;
  });

  it('a long lock: reads still answer; cleanup fails with one clear error having changed nothing; a retry after release completes', async () => {
    const context = contextWaiting(1_000);
    const agent = await spawn(context, 'long-lock');
    const lock = await holdStoreLock(storeFile, 60_000);
    try {
      // Reads never wait for a write: status, transcript and event ingestion skip what the store cannot take now.
      const [state] = await readAgentState(context, { name: 'long-lock' });
      expect(state!.name).toBe('long-lock');
      expect(context.store.listAgents().map((record) => record.name)).toContain('long-lock');

      const error = await cleanupAgent(context, { name: 'long-lock', deleteBranch: true }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ fault: 'busy', path: storeFile });
      expect((error as Error).message).toBe(
        `The state store ${storeFile} is locked by another process (waited 1000 ms); nothing was changed. ` +
          `Try again in a moment. If it stays locked, find the process holding it (fuser -v ${storeFile}) and let it finish or stop it.`,
      );
      expect(explainError(context, error)).toBe((error as Error).message);
      // Nothing changed: the row was marked before anything was stopped, and that first write is what failed.
      expect(sessionExists('long-lock')).toBe(true);
      expect(existsSync(agent.worktreePath)).toBe(true);
      expect(branchExists('long-lock')).toBe(true);
      expect(context.store.findAgentByName('long-lock')?.state).toBe('running');
    } finally {
      lock.release();
      await lock.done;
    }
    const retry = await cleanupAgent(context, { name: 'long-lock', deleteBranch: true });
    expect(retry).toMatchObject({ tmuxSession: 'killed', worktree: 'removed', branch: 'deleted', alreadyRemoved: false });
    expect(sessionExists('long-lock')).toBe(false);
    expect(context.store.findAgentByName('long-lock')?.state).toBe('removed');
    expect(context.store.recentEvents(retry.id).map((event) => event.kind)).toEqual(['cleaned_up', 'cleanup_started', 'spawned']);
  });

  it('a long lock: spawn fails with the clear error before making anything; a retry after release completes', async () => {
    const context = contextWaiting(1_000);
    const lock = await holdStoreLock(storeFile, 60_000);
    try {
      const error = await spawn(context, 'spawn-locked').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(explainError(context, error)).toMatch(/^The state store .*state\.db is locked by another process \(waited 1000 ms\); nothing was changed\./);
      expect(context.store.findAgentByName('spawn-locked')).toBeUndefined();
      expect(branchExists('spawn-locked')).toBe(false);
      expect(git(repo, 'worktree', 'list')).not.toContain('spawn-locked');
      expect(sessionExists('spawn-locked')).toBe(false);
    } finally {
      lock.release();
      await lock.done;
    }
    const agent = await spawn(context, 'spawn-locked');
    expect(context.store.findAgentByName('spawn-locked')?.state).toBe('running');
    expect(sessionExists('spawn-locked')).toBe(true);
    await cleanupAgent(context, { name: 'spawn-locked', deleteBranch: true, force: true });
    expect(existsSync(agent.worktreePath)).toBe(false);
  });

  it('a lock arriving mid-spawn: the last write fails, the rollback removes the row with everything else, and a retry completes', async () => {
    const context = contextWaiting(1_000);
    // The lock is taken by the setup command, which must reach the store: this one spawn runs unsandboxed
    // (inside the sandbox ringmaster's state is read-only, which is the point of the sandbox).
    const policyFile = join(world.env.RINGMASTER_HOME!, 'policy.json');
    const policy = readFileSync(policyFile, 'utf8');
    writeFileSync(policyFile, JSON.stringify({ ...JSON.parse(policy), sandbox: { enabled: false, allowWrite: [] } }));
    // The setup command runs after the name is reserved and the worktree made; it leaves the store locked for 7 s (start-up takes about 3 s):
    // longer than the final write waits (1 s), shorter than the rollback waits for the row (3 s after that).
    const setup = lockInBackgroundCommand(world.dir, storeFile, 7_000);
    const error = await spawnAgent(context, {
      repo,
      task: 'meets a lock on the way',
      name: 'mid-spawn',
      agent: 'custom',
      command: [FAKE_AGENT],
      env: { FAKE_AGENT_LOG: join(world.dir, 'logs', 'mid-spawn') },
      bootstrap: { setup },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/is locked by another process \(waited 1000 ms\); nothing was changed\./);
    expect((error as Error).message).not.toMatch(/Rolling back also failed/);
    // Nothing half-made: no row in 'spawning', no session, worktree or branch.
    expect(context.store.listAgents({ includeRemoved: true }).filter((record) => record.name === 'mid-spawn')).toEqual([]);
    expect(sessionExists('mid-spawn')).toBe(false);
    expect(branchExists('mid-spawn')).toBe(false);
    expect(git(repo, 'worktree', 'list')).not.toContain('mid-spawn');

    writeFileSync(policyFile, policy);
    await spawn(context, 'mid-spawn');
    expect(context.store.findAgentByName('mid-spawn')?.state).toBe('running');
    await cleanupAgent(context, { name: 'mid-spawn', deleteBranch: true, force: true });
  });
});

describe('a full store', () => {
  it('a write that does not fit gives the clear error and saves nothing; once there is room the retry completes', () => {
    // SQLite's own page limit stands in for a full disk: the same SQLITE_FULL from the same write path.
    const store = new Store(join(world.dir, 'full', 'state.db'));
    try {
      const pages = store.db.pragma('page_count', { simple: true }) as number;
      store.db.pragma(`max_page_count = ${pages}`);
      const before = store.recentEvents('full-agent').length;
      const error = (() => {
        try {
          store.addEvent('full-agent', 'big', { blob: 'x'.repeat(200_000) });
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ fault: 'full' });
      expect((error as Error).message).toBe(`The disk holding the state store ${store.path} is full (SQLite: database or disk is full); nothing was saved. Free some space there, then try again.`);
      expect(store.recentEvents('full-agent')).toHaveLength(before);
      // A status read on a full store still answers: its own write is skipped.
      expect(store.whenWritable(() => store.addEvent('full-agent', 'big', { blob: 'x'.repeat(200_000) }))).toBeUndefined();

      store.db.pragma('max_page_count = 1073741823');
      store.addEvent('full-agent', 'big', { blob: 'x'.repeat(200_000) });
      expect(store.recentEvents('full-agent')).toHaveLength(before + 1);
    } finally {
      store.close();
    }
  });
});
