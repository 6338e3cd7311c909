import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Git } from '../../src/adapters/git.js';
import { GitSummaryCache, gitSummary, type GitSummary } from '../../src/state/git-summary.js';
import type { AgentRecord } from '../../src/store/store.js';
import { git, makeRepo, tempDir, waitUntil } from '../helpers/fixtures.js';

/**
 * The cached git summary against a real repository and worktree: every kind
 * of change a summary shows (a new file, a staged file, a commit, the base
 * moving, a push, an edit that only a hook event announces) must show in the
 * next read, and what the cache serves must equal what git says now.
 */
function world() {
  const dir = tempDir('gitcache-');
  const repo = makeRepo(dir);
  mkdirSync(join(repo, 'src'));
  writeFileSync(join(repo, 'src', 'a.ts'), 'export const a = 1;\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'src');
  const remote = join(dir, 'remote.git');
  git(dir, 'init', '-q', '--bare', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  const baseCommit = git(repo, 'rev-parse', 'HEAD').trim();
  const worktreePath = join(dir, 'wt one');
  git(repo, 'worktree', 'add', '-q', '-b', 'agent/one', worktreePath, baseCommit);
  const record = {
    id: 'ag_cache1',
    name: 'one',
    repo,
    baseRef: 'main',
    baseCommit,
    branch: 'agent/one',
    worktreePath,
    tmuxSocket: null,
    tmuxSession: 'ringmaster-one',
    agentKind: 'claude',
    command: [],
    model: null,
    taskPreview: '',
    state: 'running',
    createdAt: Date.now(),
    updatedAt: Date.now(),
    removedAt: null,
  } as AgentRecord;
  return { repo, worktreePath, record };
}

const comparable = (summary: GitSummary | undefined) => summary && { ...summary, computedAt: 0, stale: false };

describe('the cached git summary', () => {
  it('changes after every kind of change in the worktree and its refs, and equals what git says now', async () => {
    const { repo, worktreePath, record } = world();
    const gitAdapter = new Git();
    const cache = new GitSummaryCache(gitAdapter);
    let mark = 0;
    // As read_agent_state of one agent reads: a change is waited for.
    const read = async () => (await cache.summaries([record], () => mark, 60_000)).get(record.id);
    const expectFresh = async () => {
      const cached = await read();
      expect(cached?.stale).toBe(false);
      expect(comparable(cached)).toEqual(comparable(await gitSummary(gitAdapter, record)));
      return cached!;
    };

    let summary = await expectFresh();
    expect(summary).toMatchObject({ branch: 'agent/one', ahead: 0, behind: 0, dirtyFiles: [], pushed: false, upstream: null, unpushedCommits: null });
    const first = summary.computedAt;
    // Nothing changed: served from the cache, git not asked again.
    expect((await read())!.computedAt).toBe(first);

    writeFileSync(join(worktreePath, 'new.txt'), 'hello\n');
    summary = await expectFresh();
    expect(summary.dirtyFiles).toEqual(['new.txt']);

    git(worktreePath, 'add', 'new.txt');
    summary = await expectFresh();
    expect(summary.diffStat).toEqual({ files: 1, insertions: 1, deletions: 0 });

    git(worktreePath, 'commit', '-q', '-m', 'new');
    summary = await expectFresh();
    expect(summary).toMatchObject({ ahead: 1, behind: 0, dirtyFiles: [] });

    // An in-place edit in a subfolder touches nothing git or the top folder shows: a hook event announces it.
    appendFileSync(join(worktreePath, 'src', 'a.ts'), 'export const b = 2;\n');
    const unseen = await read();
    expect(unseen!.dirtyFiles).toEqual([]);
    mark++;
    summary = await expectFresh();
    expect(summary.dirtyFiles).toEqual(['src/a.ts']);

    // The base branch moves on in the main checkout.
    writeFileSync(join(repo, 'main.txt'), 'main\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'main moves');
    summary = await expectFresh();
    expect(summary).toMatchObject({ ahead: 1, behind: 1 });

    // Pushed with an upstream, then one more commit unpushed.
    git(worktreePath, 'push', '-q', '-u', 'origin', 'agent/one');
    summary = await expectFresh();
    expect(summary).toMatchObject({ upstream: 'origin/agent/one', pushed: true, unpushedCommits: 0 });
    git(worktreePath, 'commit', '-q', '-am', 'b');
    summary = await expectFresh();
    expect(summary).toMatchObject({ pushed: false, unpushedCommits: 1, dirtyFiles: [] });
  });

  it('serves a changed summary marked stale when the read does not wait, and the fresh one once it is computed', async () => {
    const { worktreePath, record } = world();
    const cache = new GitSummaryCache(new Git());
    const read = async (waitMs: number) => (await cache.summaries([record], () => 0, waitMs)).get(record.id)!;
    const cold = await read(0);
    expect(cold.dirtyFiles).toEqual([]);
    writeFileSync(join(worktreePath, 'later.txt'), 'x\n');
    const served = await read(0);
    // Either the background refresh already finished or the old summary comes marked stale: never the old one as fresh.
    if (served.dirtyFiles.length === 0) expect(served.stale).toBe(true);
    const fresh = await waitUntil(async () => {
      const current = await read(0);
      return !current.stale && current.dirtyFiles.length ? current : undefined;
    }, 30_000, 'the background refresh');
    expect(fresh.dirtyFiles).toEqual(['later.txt']);
    expect(fresh.computedAt).toBeGreaterThanOrEqual(cold.computedAt);
  });

  it('reports a removed worktree as gone', async () => {
    const { repo, worktreePath, record } = world();
    const cache = new GitSummaryCache(new Git());
    expect((await cache.summaries([record], () => 0, 60_000)).get(record.id)).toBeDefined();
    git(repo, 'worktree', 'remove', '--force', worktreePath);
    expect((await cache.summaries([record], () => 0, 60_000)).get(record.id)).toBeUndefined();
  });
});
