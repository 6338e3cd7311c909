import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../../src/fleet/index.js';
import { CLI, git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';

/**
 * `ringmaster gc` (the built CLI) on real worktrees of fake agents in tmux: a
 * merged one, a pushed one, a dirty one, an unpushed one, one pushed and then
 * changed, an old one with no work, and a young one. Only the safe ones go;
 * the rest are listed with why; the cap makes candidates but never removes
 * unsafe work.
 */

interface GcJson {
  removed: Array<{ name: string; candidate: string; why: string }>;
  kept: Array<{ name: string; candidate: string; why: string }>;
  untouched: number;
  dry_run: boolean;
}

let world: TestWorld;
let repo: string;
const worktree: Record<string, string> = {};
const INACTIVE_HOURS = 0.004; // 14.4 s

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'gc repo');
  const remote = join(world.dir, 'remote.git');
  git(world.dir, 'init', '-q', '--bare', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'push', '-q', '-u', 'origin', 'main');
});
afterAll(async () => {
  await world.close();
});

async function spawn(name: string): Promise<void> {
  const log = join(world.dir, 'logs', name);
  mkdirSync(log, { recursive: true });
  const agent = await spawnAgent(world.context, { repo, task: `work on ${name}`, name, agent: 'codex', env: { FAKE_AGENT_LOG: log } });
  worktree[name] = agent.worktreePath;
}

function commit(name: string, file: string): void {
  writeFileSync(join(worktree[name]!, file), `${name}\n`);
  git(worktree[name]!, 'add', file);
  git(worktree[name]!, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', `${name}: ${file}`);
}

async function gc(...args: string[]): Promise<GcJson> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'gc', '--json', ...args], { env: world.env as NodeJS.ProcessEnv });
  return JSON.parse(stdout) as GcJson;
}

const byName = (entries: Array<{ name: string; why: string }>) => Object.fromEntries(entries.map((entry) => [entry.name, entry.why]));

describe('ringmaster gc', () => {
  it('removes only old agents whose work is safe and lists the rest with why', async () => {
    for (const name of ['merged', 'pushed', 'dirty', 'unpushed', 'changed', 'old-clean']) await spawn(name);
    commit('merged', 'merged.txt');
    git(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'merge', '-q', '--no-ff', '-m', 'merge', 'agent/merged');
    commit('pushed', 'pushed.txt');
    git(worktree.pushed!, 'push', '-q', '-u', 'origin', 'agent/pushed');
    writeFileSync(join(worktree.dirty!, 'notes.txt'), 'not committed\n');
    commit('unpushed', 'unpushed.txt');
    commit('changed', 'changed-1.txt');
    git(worktree.changed!, 'push', '-q', '-u', 'origin', 'agent/changed');
    commit('changed', 'changed-2.txt');

    // Let them all go quiet past the inactivity limit, then start a young one.
    const quietSince = Date.now();
    await waitUntil(() => Date.now() - quietSince > INACTIVE_HOURS * 3_600_000 + 2_000, 60_000, 'the agents to be inactive');
    await spawn('young');

    const preview = await gc('--dry-run', '--inactive-hours', String(INACTIVE_HOURS));
    expect(preview.dry_run).toBe(true);
    expect(Object.keys(byName(preview.removed)).sort()).toEqual(['merged', 'old-clean', 'pushed']);
    for (const name of ['merged', 'pushed', 'old-clean']) expect(existsSync(worktree[name]!)).toBe(true);

    const result = await gc('--inactive-hours', String(INACTIVE_HOURS));
    expect(byName(result.removed)).toEqual({
      merged: 'merged into main',
      pushed: 'pushed to origin/agent/pushed and unchanged since',
      'old-clean': 'no commits of its own and no uncommitted changes',
    });
    expect(byName(result.kept)).toEqual({
      dirty: '1 uncommitted change(s) in its worktree (notes.txt)',
      unpushed: 'commits neither merged into main nor pushed (no upstream)',
      changed: '1 commit(s) not pushed to origin/agent/changed and not merged into main',
    });
    expect(result.removed[0]!.candidate).toMatch(/^inactive for \d+ (s|min) \(limit 14 s\)$/);
    expect(result.untouched).toBe(1);
    for (const name of ['merged', 'pushed', 'old-clean']) {
      expect(existsSync(worktree[name]!)).toBe(false);
      // The branch stays: gc removes worktrees, never history.
      expect(git(repo, 'branch', '--list', `agent/${name}`).trim()).toBe(`agent/${name}`);
    }
    for (const name of ['dirty', 'unpushed', 'changed', 'young']) expect(existsSync(worktree[name]!)).toBe(true);
    expect(git(worktree.dirty!, 'status', '--porcelain').trim()).toBe('?? notes.txt');
    expect(world.tmux('has-session', '-t', '=ringmaster-merged')).toBe('');

    const audit = world.context.store.db.prepare(`SELECT agent_name FROM audit_log WHERE category = 'gc' AND outcome = 'removed' ORDER BY agent_name`).all() as Array<{ agent_name: string }>;
    expect(audit.map((entry) => entry.agent_name)).toEqual(['merged', 'old-clean', 'pushed']);
  }, 240_000);

  it('makes the oldest past the per-repository cap candidates, and still removes only safe work', async () => {
    const capped = await gc('--max-per-repo', '1', '--inactive-hours', '1000');
    expect(capped.removed).toEqual([]);
    expect(Object.keys(byName(capped.kept)).sort()).toEqual(['changed', 'dirty', 'unpushed']);
    expect(capped.kept[0]!.candidate).toMatch(/^4 worktrees in .*gc repo, past the cap of 1$/);

    // Once the unpushed work is merged, the cap removes it.
    git(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'merge', '-q', '--no-ff', '-m', 'merge', 'agent/unpushed');
    const after = await gc('--max-per-repo', '1', '--inactive-hours', '1000');
    expect(byName(after.removed)).toEqual({ unpushed: 'merged into main' });
    expect(existsSync(worktree.unpushed!)).toBe(false);
    expect(existsSync(worktree.young!)).toBe(true);
  }, 120_000);
});
