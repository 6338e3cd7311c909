import { existsSync } from 'node:fs';
import type { Octokit } from '@octokit/rest';
import { ExternalToolError, UserInputError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import type { Context } from '../core/index.js';
import { cleanupAgent, findAttemptGroup, markPicked, stopAgent } from '../fleet/index.js';
import { createPr } from './prs.js';

/**
 * pick_attempt: keeps one attempt of a group (its branch, and its PR opened
 * or updated when asked) and cleans up the others with cleanup_worktree's
 * safe cleanup: nothing uncommitted or unshared is lost without force. With
 * keep_branches the others' branches stay as references, and then their
 * commits are safe on them, so only uncommitted work blocks.
 */

export interface PickInput {
  group: string;
  /** The attempt to keep: its agent name or its number (1-based). */
  pick: string;
  keepBranches?: boolean;
  force?: boolean;
  /** Open a PR for the kept branch (if it has none yet; an existing one is updated by a push). */
  pr?: { title: string; body?: string; draft?: boolean };
}

export interface PickedOther {
  name: string;
  outcome: 'removed' | 'refused' | 'already removed';
  branch: 'deleted' | 'kept' | 'already gone';
  detail: string;
}

export interface PickResult {
  group: string;
  picked: { name: string; branch: string; head: string | null; pr: { number: number; url: string; action: 'opened' | 'updated' } | null };
  others: PickedOther[];
  notes: string[];
}

export async function pickAttempt(context: Context, input: PickInput, client?: Octokit): Promise<PickResult> {
  const group = findAttemptGroup(context, input.group);
  const chosen = group.attempts.find(({ attempt, agent }) => agent.name === input.pick || String(attempt) === input.pick.trim());
  if (!chosen) {
    throw new UserInputError(`${JSON.stringify(input.pick)} is not an attempt of ${group.name}; its attempts are ${group.attempts.map(({ attempt, agent }) => `${attempt} (${agent.name})`).join(', ')}.`);
  }
  const keep = chosen.agent;
  if (keep.state === 'removed') throw new UserInputError(`${keep.name} was already cleaned up; pick a live attempt.`);
  if (input.pr && !input.pr.title.trim()) throw new UserInputError('pr.title is empty. Give the pull request a title.');
  const notes: string[] = [];

  // The PR first: if GitHub fails, nothing has been cleaned up yet.
  const pr = await keepPullRequest(context, keep, input.pr, client, notes);
  markPicked(context, group.id, keep.id);
  context.store.addEvent(keep.id, 'attempt_picked', { group: group.id });

  const others: PickedOther[] = [];
  for (const { agent } of group.attempts) {
    if (agent.id === keep.id) continue;
    others.push(await cleanUpOther(context, agent, input));
  }
  if (others.some((other) => other.outcome === 'refused')) {
    notes.push('Some attempts were kept because cleaning them up would lose work; see each one\'s detail. Call pick_attempt again with force: true to discard it, or with keep_branches: true to keep committed work as branches.');
  }
  return { group: group.id, picked: { name: keep.name, branch: keep.branch, head: (await context.git.resolveCommit(keep.repo, `refs/heads/${keep.branch}`)) ?? null, pr }, others, notes };
}

async function keepPullRequest(context: Context, keep: AgentRecord, pr: PickInput['pr'], client: Octokit | undefined, notes: string[]): Promise<PickResult['picked']['pr']> {
  const existing = context.store.db.prepare(`SELECT pr_number, pr_url FROM agents WHERE id = ?`).get(keep.id) as { pr_number: number | null; pr_url: string | null };
  if (existing.pr_number && existing.pr_url) {
    try {
      await context.git.run(keep.worktreePath, ['push', 'origin', `refs/heads/${keep.branch}:refs/heads/${keep.branch}`]);
    } catch (error) {
      throw new ExternalToolError(`Updating PR #${existing.pr_number}: pushing ${keep.branch} to origin failed: ${(error as Error).message}. Nothing was cleaned up.`, { cause: error });
    }
    return { number: existing.pr_number, url: existing.pr_url, action: 'updated' };
  }
  if (!pr) {
    notes.push(`${keep.branch} was kept without a pull request; pass pr: {title} to open one, or call create_pr.`);
    return null;
  }
  const created = await createPr(context, { name: keep.name, title: pr.title, body: pr.body, draft: pr.draft }, client);
  notes.push(...created.notes);
  return { number: created.number, url: created.url, action: 'opened' };
}

async function cleanUpOther(context: Context, agent: AgentRecord, input: PickInput): Promise<PickedOther> {
  const deleteBranch = !input.keepBranches;
  let force = Boolean(input.force);
  if (agent.state === 'removed') {
    if (!deleteBranch) return { name: agent.name, outcome: 'already removed', branch: (await context.git.branchExists(agent.repo, agent.branch)) ? 'kept' : 'already gone', detail: 'cleaned up earlier' };
  } else if (!force && !deleteBranch && existsSync(agent.worktreePath)) {
    // Keeping the branch keeps its commits: stop the agent, then only uncommitted work (or a HEAD off the branch) can be lost.
    await stopAgent(context, { name: agent.name }).catch(() => undefined);
    const dirty = await context.git.dirtyFiles(agent.worktreePath).catch(() => ['(unreadable worktree)']);
    const head = await context.git.headCommit(agent.worktreePath);
    const tip = await context.git.resolveCommit(agent.repo, `refs/heads/${agent.branch}`);
    force = dirty.length === 0 && head !== undefined && head === tip;
  }
  try {
    const result = await cleanupAgent(context, { name: agent.name, force, deleteBranch });
    return {
      name: agent.name,
      outcome: result.alreadyRemoved ? 'already removed' : 'removed',
      branch: result.branch,
      detail: [...result.removed.map((item) => `removed ${item}`), ...result.kept.map((item) => `kept ${item}`)].join('; '),
    };
  } catch (error) {
    return { name: agent.name, outcome: 'refused', branch: (await context.git.branchExists(agent.repo, agent.branch)) ? 'kept' : 'already gone', detail: (error as Error).message };
  }
}
