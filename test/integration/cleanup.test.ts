import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAgent } from '../../src/fleet/cleanup.js';
import { audit, listAudit } from '../../src/gate/permissions.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { ConflictError, NotFoundError } from '../../src/errors.js';
import { FAKE_AGENT, git, makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';

let world: TestWorld;
let repo: string;

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir);
});
afterAll(() => world.close());

async function spawn(name: string) {
  return spawnAgent(world.context, { repo, task: `work on ${name}`, name, agent: 'custom', command: [FAKE_AGENT], env: { FAKE_AGENT_LOG: join(world.dir, 'logs', name) } });
}

const sessionExists = (name: string) => world.tmux('list-sessions', '-F', '#{session_name}').split('\n').includes(`ringmaster-${name}`);
const branchExists = (name: string) => git(repo, 'branch', '--list', `agent/${name}`).trim() !== '';

describe('cleanup_worktree core', () => {
  it('removes session and worktree, keeps the branch, and reports exactly that', async () => {
    const agent = await spawn('clean');
    const result = await cleanupAgent(world.context, { name: 'clean' });
    expect(result).toMatchObject({ tmuxSession: 'killed', worktree: 'removed', branch: 'kept', alreadyRemoved: false });
    expect(result.removed).toEqual(['tmux session ringmaster-clean', `worktree ${agent.worktreePath}`]);
    expect(result.kept).toEqual(['branch agent/clean (pass delete_branch: true to delete it)']);
    expect(sessionExists('clean')).toBe(false);
    expect(existsSync(agent.worktreePath)).toBe(false);
    expect(git(repo, 'worktree', 'list')).not.toContain(agent.worktreePath);
    expect(branchExists('clean')).toBe(true);
    // The trust entry for the vanished folder is gone from ~/.claude.json as well.
    expect(JSON.parse(readFileSync(join(world.home, '.claude.json'), 'utf8')).projects?.[agent.worktreePath]).toBeUndefined();

    const again = await cleanupAgent(world.context, { name: 'clean' });
    expect(again).toMatchObject({ alreadyRemoved: true, removed: [] });
  });

  it('refuses, touching nothing, while the worktree has uncommitted changes', async () => {
    const agent = await spawn('dirty');
    writeFileSync(join(agent.worktreePath, 'notes.txt'), 'unsaved\n');
    const error = await cleanupAgent(world.context, { name: 'dirty' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/1 uncommitted change\(s\) .*notes\.txt.*Nothing was removed.*force: true/);
    expect(sessionExists('dirty')).toBe(true);
    expect(readFileSync(join(agent.worktreePath, 'notes.txt'), 'utf8')).toBe('unsaved\n');

    const forced = await cleanupAgent(world.context, { name: 'dirty', force: true });
    expect(forced).toMatchObject({ worktree: 'removed', tmuxSession: 'killed', branch: 'kept' });
  });

  it('refuses while the branch has commits that exist on no other branch or remote', async () => {
    const agent = await spawn('ahead');
    writeFileSync(join(agent.worktreePath, 'feature.txt'), 'feature\n');
    git(agent.worktreePath, 'add', 'feature.txt');
    git(agent.worktreePath, 'commit', '-q', '-m', 'feature');
    await expect(cleanupAgent(world.context, { name: 'ahead', deleteBranch: true })).rejects.toThrow(/1 commit\(s\) on agent\/ahead that exist on no other branch or remote/);
    expect(branchExists('ahead')).toBe(true);
    expect(existsSync(agent.worktreePath)).toBe(true);

    // Once the commit is also on another branch, it is no longer at risk.
    git(repo, 'branch', 'keep-ahead', 'agent/ahead');
    const result = await cleanupAgent(world.context, { name: 'ahead', deleteBranch: true });
    expect(result).toMatchObject({ branch: 'deleted', worktree: 'removed' });
    expect(branchExists('ahead')).toBe(false);
  });

  it('counts a pushed commit as safe', async () => {
    const remote = join(world.dir, 'remote.git');
    git(world.dir, 'init', '-q', '--bare', remote);
    git(repo, 'remote', 'add', 'origin', remote);
    const agent = await spawn('pushed');
    writeFileSync(join(agent.worktreePath, 'p.txt'), 'p\n');
    git(agent.worktreePath, 'add', 'p.txt');
    git(agent.worktreePath, 'commit', '-q', '-m', 'p');
    git(agent.worktreePath, 'push', '-q', 'origin', 'agent/pushed');
    const result = await cleanupAgent(world.context, { name: 'pushed', deleteBranch: true });
    expect(result.branch).toBe('deleted');
  });

  it('deleting an unmerged branch needs force', async () => {
    const agent = await spawn('unmerged');
    writeFileSync(join(agent.worktreePath, 'u.txt'), 'u\n');
    git(agent.worktreePath, 'add', 'u.txt');
    git(agent.worktreePath, 'commit', '-q', '-m', 'u');
    await expect(cleanupAgent(world.context, { name: 'unmerged', deleteBranch: true })).rejects.toThrow(ConflictError);
    const result = await cleanupAgent(world.context, { name: 'unmerged', deleteBranch: true, force: true });
    expect(result).toMatchObject({ branch: 'deleted', worktree: 'removed' });
    expect(branchExists('unmerged')).toBe(false);
  });

  it('finishes a half-removed agent: session killed and worktree deleted from outside', async () => {
    const agent = await spawn('half');
    world.tmux('kill-session', '-t', '=ringmaster-half');
    rmSync(agent.worktreePath, { recursive: true, force: true });
    const result = await cleanupAgent(world.context, { name: 'half', deleteBranch: true });
    expect(result).toMatchObject({ tmuxSession: 'not running', worktree: 'already gone', branch: 'deleted', removed: ['branch agent/half'] });
    expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain(agent.worktreePath);
  });

  it('finishes an agent whose worktree git already removed', async () => {
    const agent = await spawn('gitremoved');
    git(repo, 'worktree', 'remove', '--force', agent.worktreePath);
    const result = await cleanupAgent(world.context, { name: 'gitremoved' });
    expect(result).toMatchObject({ tmuxSession: 'killed', worktree: 'already gone', branch: 'kept' });
  });

  it('lets a cleaned-up name be used again', async () => {
    await spawn('reuse');
    await cleanupAgent(world.context, { name: 'reuse', deleteBranch: true });
    const again = await spawn('reuse');
    expect(again.name).toBe('reuse');
    expect(world.context.store.listAgents().filter((agent) => agent.name === 'reuse')).toHaveLength(1);
  });

  it('never deletes the audit log', async () => {
    const agent = await spawn('audited');
    audit(world.context.store, { agentId: agent.id, agentName: 'audited', requestId: null, category: 'aws', tool: 'Bash', summary: 'aws s3 ls', outcome: 'denied', actor: 'gate', note: null });
    await cleanupAgent(world.context, { name: 'audited', force: true, deleteBranch: true });
    expect(listAudit(world.context.store, { agentName: 'audited' })).toHaveLength(1);
  });

  it('a repeat with delete_branch deletes the branch an earlier cleanup kept, and says what it did each time', async () => {
    const agent = await spawn('later-branch');
    const first = await cleanupAgent(world.context, { name: 'later-branch' });
    expect(first).toMatchObject({ worktree: 'removed', branch: 'kept', kept: ['branch agent/later-branch (pass delete_branch: true to delete it)'] });
    expect(branchExists('later-branch')).toBe(true);

    const kept = await cleanupAgent(world.context, { name: 'later-branch' });
    expect(kept).toMatchObject({ alreadyRemoved: true, worktree: 'already gone', branch: 'kept', removed: [], kept: ['branch agent/later-branch (pass delete_branch: true to delete it)'] });

    const deleted = await cleanupAgent(world.context, { name: 'later-branch', deleteBranch: true });
    expect(deleted).toMatchObject({ alreadyRemoved: true, tmuxSession: 'not running', worktree: 'already gone', branch: 'deleted', removed: ['branch agent/later-branch'], kept: [] });
    expect(branchExists('later-branch')).toBe(false);
    expect(world.context.store.recentEvents(agent.id).map((event) => event.kind)).toEqual(['branch_deleted', 'cleaned_up', 'cleanup_started', 'spawned']);

    const again = await cleanupAgent(world.context, { name: 'later-branch', deleteBranch: true });
    expect(again).toMatchObject({ alreadyRemoved: true, branch: 'already gone', removed: [], kept: [] });
  });

  it('a repeat with delete_branch still refuses to lose unpushed commits unless forced', async () => {
    const agent = await spawn('later-ahead');
    writeFileSync(join(agent.worktreePath, 'work.txt'), 'work\n');
    git(agent.worktreePath, 'add', 'work.txt');
    git(agent.worktreePath, 'commit', '-q', '-m', 'work');
    // force removes the worktree; the branch (with its commit) is kept.
    expect(await cleanupAgent(world.context, { name: 'later-ahead', force: true })).toMatchObject({ worktree: 'removed', branch: 'kept' });

    const refused = await cleanupAgent(world.context, { name: 'later-ahead', deleteBranch: true }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toMatch(/1 commit\(s\) on agent\/later-ahead that exist on no other branch or remote .*The agent was already cleaned up; its branch was kept\..*force: true/);
    expect(branchExists('later-ahead')).toBe(true);

    const forced = await cleanupAgent(world.context, { name: 'later-ahead', deleteBranch: true, force: true });
    expect(forced).toMatchObject({ alreadyRemoved: true, branch: 'deleted', removed: ['branch agent/later-ahead'] });
    expect(branchExists('later-ahead')).toBe(false);
  });

  it('says clearly when there is no such agent', async () => {
    await expect(cleanupAgent(world.context, { name: 'ghost' })).rejects.toThrow(NotFoundError);
    await expect(cleanupAgent(world.context, { name: 'ghost' })).rejects.toThrow(/No agent named "ghost"/);
  });
});
