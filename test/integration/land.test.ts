import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/core/context.js';
import { loadConfig } from '../../src/config.js';
import { ConflictError, ExternalToolError } from '../../src/errors.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { createPr } from '../../src/forge/prs.js';
import { landAgent } from '../../src/forge/land.js';
import { pickAttempt } from '../../src/forge/pick.js';
import { spawnAttempts } from '../../src/fleet/attempts.js';
import { listRequests } from '../../src/gate/permissions.js';
import { CLI, git, makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';

/**
 * land against the loopback GitHub server with the real @octokit client: the
 * "GitHub" repository is a bare repository, the fake's mergeable comes from a
 * real `git merge-tree` there and its merge really merges; the children are
 * real (the fake agent CLI, sandboxed); a human approves with the real CLI.
 */
const TOKEN = 'ghp_land';
let github: GitHubServer;
let world: TestWorld;
let repo: string;
let remote: string;

beforeAll(async () => {
  github = await startGitHubServer(TOKEN);
  world = makeWorld({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url });
  repo = makeRepo(world.dir, 'app');
  remote = join(world.dir, 'app.git');
  git(world.dir, 'init', '-q', '--bare', '-b', 'main', remote);
  git(repo, 'remote', 'add', 'origin', 'git@github.com:acme/app.git');
  // "GitHub" is the bare repository, for pushes and fetches alike.
  git(repo, 'config', `url.${remote}.insteadOf`, 'git@github.com:acme/app.git');
  git(repo, 'push', '-q', 'origin', 'main');
  github.remotes.set('acme/app', remote);
});
afterAll(async () => {
  await world?.close();
  await github?.close();
});

const commitIn = (worktree: string, file: string, text: string, message: string) => {
  writeFileSync(join(worktree, file), text);
  git(worktree, 'add', file);
  git(worktree, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', message);
};
const remoteMain = () => git(remote, 'rev-parse', 'refs/heads/main').trim();
const approveAsHuman = (id: string) => execFileSync(process.execPath, [CLI, 'approve', id], { env: world.env as NodeJS.ProcessEnv, encoding: 'utf8' });

describe('land', () => {
  let featureWorktree: string;
  let otherWorktree: string;

  it('refuses a PR that is not approved and green, asking nobody and changing nothing', async () => {
    const feature = await spawnAgent(world.context, { repo, task: 'add the feature', name: 'feature', agent: 'codex' });
    const other = await spawnAgent(world.context, { repo, task: 'add the feature another way', name: 'other', agent: 'codex' });
    featureWorktree = feature.worktreePath;
    otherWorktree = other.worktreePath;
    commitIn(featureWorktree, 'feature.txt', 'one way\n', 'Add the feature');
    commitIn(otherWorktree, 'feature.txt', 'another way\n', 'Add the feature differently');
    await createPr(world.context, { name: 'feature', title: 'Add the feature' });
    await createPr(world.context, { name: 'other', title: 'Add the feature differently' });
    const pr = github.prs.get('acme/app')!.get('agent/feature')!;
    pr.checks = [{ name: 'test', conclusion: 'FAILURE' }];
    const requestsBefore = listRequests(world.context.store).length;
    const mainBefore = remoteMain();

    const error = await landAgent(world.context, { name: 'feature' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/review decision is none yet \(it needs APPROVED\); its checks are failure: test \(failure\)\. Nothing was changed/);
    expect(listRequests(world.context.store)).toHaveLength(requestsBefore);
    expect(remoteMain()).toBe(mainBefore);
  });

  it('with GitHub unreachable says so and changes nothing', async () => {
    const env = { ...world.env, GITHUB_API_URL: 'http://127.0.0.1:9' };
    const offline = createContext(env, loadConfig(env));
    try {
      const requestsBefore = listRequests(world.context.store).length;
      const error = await landAgent(offline, { name: 'feature' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ExternalToolError);
      expect((error as Error).message).toMatch(/Could not reach GitHub while reading the pull request to land/);
      expect(listRequests(world.context.store)).toHaveLength(requestsBefore);
      expect(existsSync(featureWorktree)).toBe(true);
    } finally {
      offline.store.close();
    }
  });

  it('waits for a human: without approval nothing is merged; once approved it merges and cleans up', async () => {
    const pr = github.prs.get('acme/app')!.get('agent/feature')!;
    pr.reviewDecision = 'APPROVED';
    pr.checks = [{ name: 'test', conclusion: 'SUCCESS' }];
    const mainBefore = remoteMain();

    const pending = await landAgent(world.context, { name: 'feature' });
    expect(pending).toMatchObject({ outcome: 'pending_approval', method: 'merge', mergedSha: null, pr: { number: pr.number, base: 'main', head: 'agent/feature' } });
    expect(pending.request!.humanCommands[0]).toBe(`ringmaster approve ${pending.request!.id}`);
    expect(listRequests(world.context.store).find((request) => request.id === pending.request!.id)).toMatchObject({ category: 'protected_push', state: 'pending' });
    // Asking again with the pending request is still no.
    expect((await landAgent(world.context, { name: 'feature', requestId: pending.request!.id })).outcome).toBe('pending_approval');
    expect(remoteMain()).toBe(mainBefore);
    expect(github.requests.some((request) => request.method === 'PUT')).toBe(false);

    approveAsHuman(pending.request!.id);
    const landed = await landAgent(world.context, { name: 'feature', requestId: pending.request!.id });
    expect(landed.outcome).toBe('landed');
    expect(landed.mergedSha).toBe(remoteMain());
    expect(git(remote, 'show', 'main:feature.txt')).toBe('one way\n');
    // A merge commit: the base and the PR's head are its parents.
    expect(git(remote, 'rev-list', '--parents', '-n', '1', 'main').trim().split(' ')).toEqual([remoteMain(), mainBefore, landed.pr.headSha]);
    expect(landed.cleanup).toMatchObject({ done: true, error: null });
    expect(existsSync(featureWorktree)).toBe(false);
    expect(world.context.store.findAgentByName('feature')!.state).toBe('removed');
  });

  it('reports a conflicting land with the files and merges nothing', async () => {
    const pr = github.prs.get('acme/app')!.get('agent/other')!;
    pr.reviewDecision = 'APPROVED';
    pr.checks = [{ name: 'test', conclusion: 'SUCCESS' }];
    const mainBefore = remoteMain();
    const requestsBefore = listRequests(world.context.store).length;
    const error = await landAgent(world.context, { name: 'other' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain('it conflicts with main in feature.txt');
    expect(remoteMain()).toBe(mainBefore);
    expect(listRequests(world.context.store)).toHaveLength(requestsBefore);
    expect(existsSync(otherWorktree)).toBe(true);
  });

  it('ringmaster land: one line on stderr and the exit code of the refusal', async () => {
    // Not spawnSync: the loopback GitHub server answers from this process's event loop.
    const land = async (env: Record<string, string | undefined>, ...args: string[]) => {
      const result = await execa(process.execPath, [CLI, 'land', ...args], { env: env as NodeJS.ProcessEnv, extendEnv: false, reject: false, timeout: 60_000 });
      return { code: result.exitCode, stderr: result.stderr, stdout: result.stdout };
    };
    const offline = await land({ ...world.env, GITHUB_API_URL: 'http://127.0.0.1:9' }, 'other');
    expect(offline.code).toBe(1);
    // (@octokit logs the failed request on stderr first.)
    expect(offline.stderr).toMatch(/^ringmaster: Could not reach GitHub while reading the pull request to land/m);
    const conflicting = await land(world.env, 'other');
    expect(conflicting.code, conflicting.stderr).toBe(4);
    expect(conflicting.stderr).toContain('it conflicts with main in feature.txt');
    expect((await land(world.env, 'other', '--method', 'octopus')).code).toBe(2);
    expect((await land(world.env, 'nobody')).code).toBe(3);
  });

  it("uses the repository's preferred method and refuses one it does not allow", async () => {
    const other = world.context.store.findAgentByName('other')!;
    // Resolve the conflict the way an agent would: rebase on the new main, push.
    git(otherWorktree, 'fetch', '-q', 'origin', 'main');
    git(otherWorktree, 'reset', '-q', '--hard', 'FETCH_HEAD');
    commitIn(otherWorktree, 'other.txt', 'another way\n', 'Add the feature differently');
    git(otherWorktree, 'push', '-q', '--force', 'origin', `HEAD:refs/heads/${other.branch}`);
    github.mergeSettings.set('acme/app', { mergeCommitAllowed: false, squashMergeAllowed: true, rebaseMergeAllowed: false, viewerDefaultMergeMethod: 'SQUASH' });

    await expect(landAgent(world.context, { name: 'other', method: 'merge' })).rejects.toThrow(/does not allow merge merges; it allows squash/);
    const pending = await landAgent(world.context, { name: 'other', keepAgent: true });
    expect(pending.method).toBe('squash');
    approveAsHuman(pending.request!.id);
    const mainBefore = remoteMain();
    const landed = await landAgent(world.context, { name: 'other', requestId: pending.request!.id, keepAgent: true });
    expect(landed.outcome).toBe('landed');
    // Squashed: one parent, the old main.
    expect(git(remote, 'rev-list', '--parents', '-n', '1', 'main').trim().split(' ')).toEqual([remoteMain(), mainBefore]);
    expect(git(remote, 'show', 'main:other.txt')).toBe('another way\n');
    expect(landed.cleanup).toBeNull();
    expect(existsSync(otherWorktree)).toBe(true);
    // The approval was for that landing only.
    await expect(landAgent(world.context, { name: 'other', requestId: pending.request!.id })).rejects.toThrow(/is merged, so there is nothing to land/);
  });

  it('pick_attempt opens the kept attempt\'s PR, then updates it by a push; the others go', async () => {
    const group = await spawnAttempts(world.context, { repo, task: 'write the docs', name: 'docs', attempts: 2, agent: 'codex' });
    const [first, second] = group.attempts;
    commitIn(first!.worktreePath, 'docs.txt', 'docs\n', 'Write the docs');
    const picked = await pickAttempt(world.context, { group: 'docs', pick: '1', pr: { title: 'Write the docs' } });
    expect(picked.picked.pr).toMatchObject({ action: 'opened', url: expect.stringMatching(/^https:\/\/github\.com\/acme\/app\/pull\/\d+$/) });
    expect(git(remote, 'rev-parse', 'refs/heads/agent/docs-a1').trim()).toBe(git(repo, 'rev-parse', 'refs/heads/agent/docs-a1').trim());
    expect(github.prs.get('acme/app')!.get('agent/docs-a1')).toMatchObject({ title: 'Write the docs', base: 'main' });
    // The second attempt made no commits: nothing to lose, so it and its branch go.
    expect(picked.others).toEqual([expect.objectContaining({ name: 'docs-a2', outcome: 'removed', branch: 'deleted' })]);
    expect(existsSync(second!.worktreePath)).toBe(false);

    commitIn(first!.worktreePath, 'docs.txt', 'better docs\n', 'Improve the docs');
    const again = await pickAttempt(world.context, { group: 'docs', pick: 'docs-a1' });
    expect(again.picked.pr).toMatchObject({ action: 'updated', number: picked.picked.pr!.number });
    expect(git(remote, 'show', 'refs/heads/agent/docs-a1:docs.txt')).toBe('better docs\n');
    expect(again.others).toEqual([expect.objectContaining({ name: 'docs-a2', outcome: 'already removed' })]);
  });
});
