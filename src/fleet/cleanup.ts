import { existsSync, realpathSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { claudeJsonFor, forgetFolder } from '../adapters/claude-config.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import { agentDir, tmuxFor, type Context, inboxDir } from '../core/index.js';
import { closeEgress } from '../gate/index.js';
import { srtTempDir } from './spawn.js';

export interface CleanupInput {
  name: string;
  /** Remove even with uncommitted changes or commits found on no other branch or remote. */
  force?: boolean;
  deleteBranch?: boolean;
}

export interface CleanupResult {
  name: string;
  id: string;
  tmuxSession: 'killed' | 'not running';
  worktree: 'removed' | 'already gone' | 'kept';
  branch: 'deleted' | 'kept' | 'already gone';
  /** Human-readable lists of exactly what this call removed and what it left in place, each kept item with why. */
  removed: string[];
  kept: string[];
  alreadyRemoved: boolean;
}

interface UnsavedWork {
  dirtyFiles: string[];
  unsharedCommits: string[];
}

/**
 * Stops an agent and removes its worktree, refusing while that would lose work.
 * Safe to repeat: each step looks at what is actually there, so a second call
 * (or a call on a half-removed agent) finishes whatever is left.
 *
 * Failure ordering: the checks come first; the first write marks the row
 * (cleanup_started) before anything is stopped, so a store that cannot take
 * writes fails the call with nothing changed; the row turns 'removed' last, so
 * a failure in between leaves an agent that a repeat finishes.
 */
export async function cleanupAgent(context: Context, input: CleanupInput): Promise<CleanupResult> {
  const { git, store } = context;
  const record = store.findAgentByName(input.name);
  if (!record) {
    throw new NotFoundError(`No agent named ${JSON.stringify(input.name)}. Run list_agents (or ringmaster status) to see the agents that exist.`);
  }
  const repoExists = existsSync(record.repo);
  if (record.state === 'removed') return finishRemovedAgent(context, record, input, repoExists);
  const tmux = tmuxFor(context, record.tmuxSocket);

  if (!input.force && repoExists) refuseIfUnsaved(record, await findUnsavedWork(context, record), input, 'Nothing was removed.');

  store.markCleanupStarted(record.id, { force: Boolean(input.force), deleteBranch: Boolean(input.deleteBranch) });
  const removed: string[] = [];
  const kept: string[] = [];
  const sessionKilled = await tmux.killSession(record.tmuxSession);
  if (sessionKilled) removed.push(`tmux session ${record.tmuxSession}`);

  // The agent could have written between the first check and the kill.
  if (!input.force && repoExists) {
    refuseIfUnsaved(record, await findUnsavedWork(context, record), input, `The tmux session was stopped; the worktree and branch were kept.`);
  }

  let worktree: CleanupResult['worktree'] = 'already gone';
  if (existsSync(record.worktreePath)) {
    const registered = repoExists && (await git.listWorktreePaths(record.repo)).some((path) => samePath(path, record.worktreePath));
    if (registered) {
      await git.removeWorktree(record.repo, record.worktreePath);
    } else if (isInside(context.config.worktreeRoot, record.worktreePath)) {
      // A leftover of an interrupted spawn or of a repo that moved; it is ours to delete.
      rmSync(record.worktreePath, { recursive: true, force: true });
    }
    if (!existsSync(record.worktreePath)) {
      worktree = 'removed';
      removed.push(`worktree ${record.worktreePath}`);
    } else {
      worktree = 'kept';
      kept.push(`worktree ${record.worktreePath} (not a worktree of ${record.repo} and outside ${context.config.worktreeRoot}, so not ours to delete; remove it yourself)`);
    }
  }
  if (repoExists) await git.pruneWorktrees(record.repo);

  const branch = await settleBranch(context, record, input, repoExists, removed, kept);

  forgetFolder(claudeJsonFor(context.env), [record.worktreePath, inboxDir(agentDir(context, record.id))]);
  rmSync(agentDir(context, record.id), { recursive: true, force: true });
  // The sandbox's private temp folder of a non-Claude agent (srt), and its egress ports.
  rmSync(srtTempDir(record.id), { recursive: true, force: true });
  await closeEgress(store, context.config.home, record.id);
  store.markRemoved(record.id, { removed, kept, force: Boolean(input.force) });
  return {
    name: record.name,
    id: record.id,
    tmuxSession: sessionKilled ? 'killed' : 'not running',
    worktree,
    branch,
    removed,
    kept,
    alreadyRemoved: false,
  };
}

/**
 * A repeat on an agent that an earlier call removed: only the branch may be
 * left, and it goes when delete_branch asks for it (still refusing, without
 * force, when that would lose commits that exist nowhere else).
 */
async function finishRemovedAgent(context: Context, record: AgentRecord, input: CleanupInput, repoExists: boolean): Promise<CleanupResult> {
  const removed: string[] = [];
  const kept: string[] = [];
  if (input.deleteBranch && !input.force && repoExists) {
    refuseIfUnsaved(record, await findUnsavedWork(context, record), input, 'The agent was already cleaned up; its branch was kept.');
  }
  const branch = await settleBranch(context, record, input, repoExists, removed, kept);
  if (branch === 'deleted') context.store.addEvent(record.id, 'branch_deleted', { branch: record.branch, force: Boolean(input.force) });
  const worktreeLeft = existsSync(record.worktreePath);
  if (worktreeLeft) kept.push(`worktree ${record.worktreePath} (an earlier cleanup left it: not a worktree ringmaster may delete; remove it yourself)`);
  return {
    name: record.name,
    id: record.id,
    tmuxSession: 'not running',
    worktree: worktreeLeft ? 'kept' : 'already gone',
    branch,
    removed,
    kept,
    alreadyRemoved: true,
  };
}

/** Deletes the branch when asked, else keeps it; says which in removed or kept. */
async function settleBranch(
  context: Context,
  record: AgentRecord,
  input: CleanupInput,
  repoExists: boolean,
  removed: string[],
  kept: string[],
): Promise<CleanupResult['branch']> {
  if (!repoExists || !(await context.git.branchExists(record.repo, record.branch))) return 'already gone';
  if (input.deleteBranch) {
    await context.git.deleteBranch(record.repo, record.branch);
    removed.push(`branch ${record.branch}`);
    return 'deleted';
  }
  kept.push(`branch ${record.branch} (pass delete_branch: true to delete it)`);
  return 'kept';
}

async function findUnsavedWork(context: Context, record: AgentRecord): Promise<UnsavedWork> {
  const { git } = context;
  const work: UnsavedWork = { dirtyFiles: [], unsharedCommits: [] };
  const tips = new Set<string>();
  if (existsSync(record.worktreePath)) {
    const head = await git.headCommit(record.worktreePath);
    if (head) {
      work.dirtyFiles = await git.dirtyFiles(record.worktreePath);
      tips.add(head);
    }
  }
  const branchTip = (await git.branchExists(record.repo, record.branch)) ? await git.resolveCommit(record.repo, `refs/heads/${record.branch}`) : undefined;
  if (branchTip) tips.add(branchTip);
  for (const tip of tips) {
    for (const sha of await git.commitsOnlyOn(record.repo, tip, record.branch)) {
      if (!work.unsharedCommits.includes(sha)) work.unsharedCommits.push(sha);
    }
  }
  return work;
}

function refuseIfUnsaved(record: AgentRecord, work: UnsavedWork, input: CleanupInput, whatHappened: string): void {
  const problems: string[] = [];
  if (work.dirtyFiles.length > 0) {
    problems.push(`${work.dirtyFiles.length} uncommitted change(s) in ${record.worktreePath} (${preview(work.dirtyFiles)})`);
  }
  // The branch survives a cleanup unless deleted, but a detached HEAD or a
  // deleted branch would lose these, so they block either way without force.
  if (work.unsharedCommits.length > 0) {
    problems.push(
      `${work.unsharedCommits.length} commit(s) on ${record.branch} that exist on no other branch or remote (${preview(work.unsharedCommits.map((sha) => sha.slice(0, 10)))})`,
    );
  }
  if (problems.length === 0) return;
  throw new ConflictError(
    `Refusing to clean up "${record.name}": ${problems.join('; ')}. ${whatHappened} ` +
      `Commit and push or merge the work first, or call again with force: true to discard ` +
      `${input.deleteBranch ? 'it' : 'the uncommitted changes (the branch is kept unless delete_branch is set)'}.`,
  );
}

function preview(items: string[], count = 5): string {
  return items.slice(0, count).join(', ') + (items.length > count ? `, and ${items.length - count} more` : '');
}

function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(existsSync(root) ? realpathSync(root) : root, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith('/');
}
