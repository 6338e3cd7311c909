import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetOverlaps, mergePreviewsCached } from '../../src/state/overlap.js';
import { git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';

/**
 * Overlap detection on real repositories and worktrees (the agents' rows are
 * written directly: no child is needed to move a branch).
 */
let world: TestWorld;
let repo: string;

const worktreeOf = (name: string) => join(world.dir, 'worktrees', name);
function addAgent(name: string, base = git(repo, 'rev-parse', 'main').trim()) {
  git(repo, 'worktree', 'add', '-q', '-b', `agent/${name}`, worktreeOf(name), base);
  world.context.store.insertAgent({
    id: `ag_${name}`,
    name,
    repo,
    baseRef: 'main',
    baseCommit: base,
    branch: `agent/${name}`,
    worktreePath: worktreeOf(name),
    tmuxSocket: world.socket,
    tmuxSession: `ringmaster-${name}`,
    agentKind: 'codex',
    model: null,
    task: 't',
    taskPreview: 't',
  });
}
const commitIn = (cwd: string, file: string, text: string) => {
  writeFileSync(join(cwd, file), text);
  git(cwd, 'add', file);
  git(cwd, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', `write ${file}`);
};

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'app');
  commitIn(repo, 'app.txt', 'one\ntwo\nthree\n');
  for (const name of ['north', 'south', 'east']) addAgent(name);
});
afterAll(async () => {
  await world?.close();
});

describe('overlap warnings', () => {
  it('names the shared files and the conflicting ones, and runs merge-tree again only for new HEADs', async () => {
    commitIn(worktreeOf('north'), 'app.txt', 'one\nTWO (north)\nthree\n');
    commitIn(worktreeOf('south'), 'app.txt', 'one\nTWO (south)\nthree\n');
    commitIn(worktreeOf('east'), 'docs.txt', 'east only\n');

    const overlaps = await fleetOverlaps(world.context, undefined, { fresh: true });
    expect([...overlaps.keys()].sort()).toEqual(['ag_north', 'ag_south']);
    expect(overlaps.get('ag_north')).toEqual({ agent: 'north', overlaps: [{ agent: 'south', sameFiles: ['app.txt'], conflictFiles: ['app.txt'] }], baseConflictFiles: [] });

    const cached = mergePreviewsCached();
    await fleetOverlaps(world.context, undefined, { fresh: true });
    expect(mergePreviewsCached()).toBe(cached);
    // A new commit makes new pairs of HEADs; only north and south share a committed file, so one merge-tree runs.
    commitIn(worktreeOf('north'), 'north.txt', 'n\n');
    await fleetOverlaps(world.context, undefined, { fresh: true });
    expect(mergePreviewsCached()).toBe(cached + 1);
  });

  it('sees uncommitted edits that touch no index (and raise no hook event) on a fresh look', async () => {
    writeFileSync(join(worktreeOf('east'), 'app.txt'), 'one\ntwo\nthree\nfour (east, not committed)\n');
    const overlaps = await waitUntil(async () => {
      const found = await fleetOverlaps(world.context, undefined, { fresh: true });
      return found.get('ag_east')?.overlaps.length === 2 && found;
    }, 15_000, 'east to overlap');
    // Same file, but nothing committed to conflict with.
    expect(overlaps.get('ag_east')!.overlaps).toEqual([
      { agent: 'north', sameFiles: ['app.txt'], conflictFiles: [] },
      { agent: 'south', sameFiles: ['app.txt'], conflictFiles: [] },
    ]);
    git(worktreeOf('east'), 'checkout', '--', 'app.txt');
  });

  it('flags a branch that conflicts with newer commits on its base', async () => {
    commitIn(repo, 'app.txt', 'one\nTWO (main moved)\nthree\n');
    const overlaps = await fleetOverlaps(world.context, undefined, { fresh: true });
    expect(overlaps.get('ag_north')!.baseConflictFiles).toEqual(['app.txt']);
    expect(overlaps.get('ag_south')!.baseConflictFiles).toEqual(['app.txt']);
    expect(overlaps.get('ag_east')).toBeUndefined();
  });

  it('leaves out attempts of one group (meant to overlap) and removed agents', async () => {
    const { db } = world.context.store;
    db.prepare(`INSERT INTO attempt_groups (id, name, repo, base_ref, base_commit, created_at) VALUES ('grp_1', 'g', ?, 'main', 'c', 0)`).run(repo);
    db.prepare(`INSERT INTO attempts (group_id, agent_id, attempt) VALUES ('grp_1', 'ag_north', 1), ('grp_1', 'ag_south', 2)`).run();
    let overlaps = await fleetOverlaps(world.context, undefined, { fresh: true });
    expect(overlaps.get('ag_north')).toEqual({ agent: 'north', overlaps: [], baseConflictFiles: ['app.txt'] });
    db.prepare(`DELETE FROM attempt_groups`).run();
    world.context.store.markRemoved('ag_south');
    overlaps = await fleetOverlaps(world.context, undefined, { fresh: true });
    expect(overlaps.get('ag_north')!.overlaps).toEqual([]);
    expect(overlaps.has('ag_south')).toBe(false);
  });
});
