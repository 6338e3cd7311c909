import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAttempts } from '../../src/fleet/compare.js';
import { findAttemptGroup, spawnAttempts } from '../../src/fleet/attempts.js';
import { NotFoundError, UserInputError } from '../../src/errors.js';
import { git, makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';

/**
 * Attempt groups with the fake agent CLI (sandboxed, like any child): the
 * group's bookkeeping, per-attempt models, and the test runs' timeout and
 * sandbox. test/e2e/claude-attempts.test.ts has real Claude attempts.
 */
let world: TestWorld;
let repo: string;

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'app');
  writeFileSync(join(repo, '.ringmaster.json'), JSON.stringify({ test: { command: 'test -f README.md && echo from-the-repo-file' } }));
  git(repo, 'add', '.ringmaster.json');
  git(repo, 'commit', '-q', '-m', 'test command');
});
afterAll(async () => {
  await world?.close();
});

describe('attempt groups', () => {
  it('spawns attempts with a model each, finds the group by any of its names, and rejects bad counts', async () => {
    await expect(spawnAttempts(world.context, { repo, task: 't', attempts: 1 })).rejects.toThrow(UserInputError);
    await expect(spawnAttempts(world.context, { repo, task: 't', attempts: 2, models: ['a', 'b', 'c'] })).rejects.toThrow(/models has 3 entries but attempts is 2/);
    const result = await spawnAttempts(world.context, { repo, task: 'do it', name: 'pair', attempts: 2, agent: 'codex', models: ['model-one', 'model-two'] });
    expect(result.attempts.map((attempt) => attempt.name)).toEqual(['pair-a1', 'pair-a2']);
    const group = findAttemptGroup(world.context, 'pair-a2');
    expect(group).toMatchObject({ id: result.group, name: 'pair', baseRef: 'main', baseCommit: git(repo, 'rev-parse', 'main').trim() });
    expect(group.attempts.map(({ attempt, agent }) => [attempt, agent.name, agent.model])).toEqual([
      [1, 'pair-a1', 'model-one'],
      [2, 'pair-a2', 'model-two'],
    ]);
    expect(findAttemptGroup(world.context, result.group).id).toBe(result.group);
    expect(() => findAttemptGroup(world.context, 'nope')).toThrow(NotFoundError);
  });

  it("runs the repo's test command in the sandbox, stops one that runs too long, and reports what is uncommitted", async () => {
    const group = findAttemptGroup(world.context, 'pair');
    writeFileSync(join(group.attempts[1]!.agent.worktreePath, 'draft.txt'), 'not committed\n');
    const fromRepo = await compareAttempts(world.context, { group: 'pair' });
    expect(fromRepo.testCommand).toBe('test -f README.md && echo from-the-repo-file');
    expect(fromRepo.attempts.map((attempt) => [attempt.name, attempt.tests?.passed, attempt.tests?.sandboxed, attempt.tests?.outputTail.trim().split('\n').at(-1)])).toEqual([
      ['pair-a1', true, true, 'from-the-repo-file'],
      ['pair-a2', true, true, 'from-the-repo-file'],
    ]);
    expect(fromRepo.attempts.map((attempt) => attempt.uncommittedFiles)).toEqual([[], ['draft.txt']]);
    expect(fromRepo.pairs).toEqual([{ a: 'pair-a1', b: 'pair-a2', identical: true, files: [], insertions: 0, deletions: 0 }]);

    // Inside the sandbox: ringmaster's state is not writable, the worktree is.
    const confined = await compareAttempts(world.context, { group: 'pair', testCommand: `touch ${join(world.env.RINGMASTER_HOME!, 'state.db')} && echo escaped` });
    expect(confined.attempts[0]!.tests).toMatchObject({ passed: false, sandboxed: true });
    expect(confined.attempts[0]!.tests!.outputTail).not.toContain('escaped');

    // 20 s leaves srt ample time to start on a busy machine; the command itself would run for ten minutes.
    const slow = await compareAttempts(world.context, { group: 'pair', testCommand: 'echo started; sleep 600', testTimeoutSec: 20 });
    expect(slow.attempts[0]!.tests).toMatchObject({ passed: false, timedOut: true });
    expect(slow.attempts[0]!.tests!.durationMs).toBeLessThan(120_000);
    expect(slow.attempts[0]!.tests!.outputTail).toContain('started');
  }, 300_000);
});
