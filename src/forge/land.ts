import type { Octokit } from '@octokit/rest';
import { githubClient, githubError, type RepoRef } from '../adapters/github.js';
import { previewMerge } from '../adapters/git.js';
import { ConflictError, ExternalToolError, UserInputError } from '../errors.js';
import { type AskHuman, getRequest, requestApproval } from '../gate/index.js';
import type { AgentRecord } from '../store/store.js';
import type { Context } from '../core/index.js';
import { cleanupAgent, type CleanupResult } from '../fleet/index.js';
import { findLiveAgent } from '../state/index.js';
import { CHECK_ROLLUP_FIELDS, githubRepoOf, queryBranchPullRequests, type CheckRollupNode } from './prs.js';

/**
 * land: merges an agent's pull request on GitHub when it is approved and
 * green, after a human approved the landing through the permission gate (as
 * a protected push), then cleans the agent up. Every check that reads comes
 * before anything is asked or changed: with GitHub unreachable, or the PR not
 * ready, it says so and nothing changes. Conflicts are reported with the
 * files, never forced.
 */

export const MERGE_METHODS = ['merge', 'squash', 'rebase'] as const;
export type MergeMethod = (typeof MERGE_METHODS)[number];

export interface LandInput {
  name: string;
  method?: MergeMethod;
  /** A permission request an earlier call raised and a human has since approved. */
  requestId?: string;
  /** Keep the agent's worktree and branch after landing. Default false. */
  keepAgent?: boolean;
}

export interface LandResult {
  agent: string;
  outcome: 'landed' | 'pending_approval' | 'denied';
  pr: { number: number; url: string; base: string; head: string; headSha: string };
  method: MergeMethod;
  /** The merge commit (or the base's new tip) GitHub reported. */
  mergedSha: string | null;
  request: { id: string; state: string; humanCommands: string[] } | null;
  cleanup: { done: boolean; removed: string[]; kept: string[]; error: string | null } | null;
  notes: string[];
}

const LAND_FIELDS = `
  number url state isDraft mergeable reviewDecision headRefOid baseRefName headRefName${CHECK_ROLLUP_FIELDS}`;

interface LandNode extends CheckRollupNode {
  number: number;
  url: string;
  state: string;
  isDraft: boolean;
  mergeable: string;
  reviewDecision: string | null;
  headRefOid: string;
  baseRefName: string;
  headRefName: string;
}

interface RepoMergeSettings {
  mergeCommitAllowed: boolean;
  squashMergeAllowed: boolean;
  rebaseMergeAllowed: boolean;
  viewerDefaultMergeMethod: string | null;
}

export async function landAgent(context: Context, input: LandInput, askHuman?: AskHuman, client?: Octokit): Promise<LandResult> {
  if (input.method !== undefined && !(MERGE_METHODS as readonly string[]).includes(input.method)) {
    throw new UserInputError(`method must be one of ${MERGE_METHODS.join(', ')}; got ${JSON.stringify(input.method)}. Leave it out to use the repository's preferred method.`);
  }
  const record = findLiveAgent(context, input.name);
  const ref = await githubRepoOf(context, record.repo);
  const octokit = client ?? (await githubClient(context.env));
  const { pr, settings } = await readPullRequest(octokit, ref, record);
  const method = chooseMethod(settings, input.method);
  await refuseUnlessReady(context, record, pr);

  const action = `land ${ref.owner}/${ref.name}#${pr.number} (${pr.headRefName} → ${pr.baseRefName}, ${method}) at ${pr.headRefOid}`;
  const base: Omit<LandResult, 'outcome' | 'request'> = {
    agent: record.name,
    pr: { number: pr.number, url: pr.url, base: pr.baseRefName, head: pr.headRefName, headSha: pr.headRefOid },
    method,
    mergedSha: null,
    cleanup: null,
    notes: [],
  };
  const approval = await approvalFor(context, action, input.requestId, askHuman);
  if (approval.outcome !== 'approved') {
    return { ...base, outcome: approval.outcome === 'denied' ? 'denied' : 'pending_approval', request: approval.request, notes: approval.notes };
  }

  let mergedSha: string;
  try {
    const merged = await octokit.rest.pulls.merge({ owner: ref.owner, repo: ref.name, pull_number: pr.number, merge_method: method, sha: pr.headRefOid });
    mergedSha = merged.data.sha;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 405 || status === 409) {
      const files = await localConflicts(context, record, pr.baseRefName);
      throw new ConflictError(
        `GitHub refused to merge #${pr.number} (${status}: ${(error as Error).message})${files.length ? `; ${pr.headRefName} conflicts with ${pr.baseRefName} in ${files.join(', ')}` : ''}. Nothing was merged. ` +
          `Have the agent rebase on ${pr.baseRefName} and resolve ${files.length ? 'those files' : 'the conflict'}, push, and land again.`,
        { cause: error },
      );
    }
    throw githubError(error, `merging ${ref.owner}/${ref.name}#${pr.number}`);
  }
  context.store.addEvent(record.id, 'landed', { pr: pr.number, method, sha: mergedSha, request: approval.request?.id ?? null });
  const result: LandResult = { ...base, outcome: 'landed', mergedSha, request: approval.request, notes: [...approval.notes] };
  if (!input.keepAgent) result.cleanup = await cleanUpLanded(context, record);
  return result;
}

async function readPullRequest(octokit: Octokit, ref: RepoRef, record: AgentRecord): Promise<{ pr: LandNode; settings: RepoMergeSettings }> {
  const { pullRequests } = await queryBranchPullRequests<LandNode>(octokit, ref, [record.branch], LAND_FIELDS, 'reading the pull request to land');
  const pr = pullRequests[0];
  if (!pr) throw new UserInputError(`${record.branch} has no pull request on ${ref.owner}/${ref.name}. Open one first (create_pr, or pick_attempt with pr).`);
  let repository: RepoMergeSettings | null;
  try {
    ({ repository } = await octokit.graphql<{ repository: RepoMergeSettings | null }>(
      `query RingmasterMergeSettings($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { mergeCommitAllowed squashMergeAllowed rebaseMergeAllowed viewerDefaultMergeMethod } }`,
      { owner: ref.owner, name: ref.name },
    ));
  } catch (error) {
    throw githubError(error, `reading the merge settings of ${ref.owner}/${ref.name}`);
  }
  if (!repository) throw new ExternalToolError(`GitHub did not return ${ref.owner}/${ref.name}'s merge settings. Check that the token can see the repository.`);
  return { pr, settings: repository };
}

/** The requested method if the repository allows it, else the repository's preferred one. */
export function chooseMethod(settings: RepoMergeSettings, requested: MergeMethod | undefined): MergeMethod {
  const allowed: MergeMethod[] = [
    ...(settings.mergeCommitAllowed ? (['merge'] as const) : []),
    ...(settings.squashMergeAllowed ? (['squash'] as const) : []),
    ...(settings.rebaseMergeAllowed ? (['rebase'] as const) : []),
  ];
  if (allowed.length === 0) throw new ExternalToolError('The repository allows no merge method (merge, squash and rebase are all off in its settings).');
  if (requested) {
    if (!allowed.includes(requested)) throw new UserInputError(`The repository does not allow ${requested} merges; it allows ${allowed.join(', ')}.`);
    return requested;
  }
  const preferred = settings.viewerDefaultMergeMethod?.toLowerCase() as MergeMethod | undefined;
  return preferred && allowed.includes(preferred) ? preferred : allowed[0]!;
}

/** Open, not a draft, approved, every check passed, no conflict, and the PR holds exactly the local branch. */
async function refuseUnlessReady(context: Context, record: AgentRecord, pr: LandNode): Promise<void> {
  const problems: string[] = [];
  if (pr.state !== 'OPEN') throw new ConflictError(`#${pr.number} is ${pr.state.toLowerCase()}, so there is nothing to land.`);
  if (pr.isDraft) problems.push('it is a draft');
  if (pr.reviewDecision !== 'APPROVED') problems.push(`its review decision is ${pr.reviewDecision ?? 'none yet'} (it needs APPROVED)`);
  const rollup = pr.commits.nodes[0]?.commit.statusCheckRollup ?? null;
  if (rollup && rollup.state !== 'SUCCESS') {
    const unfinished = rollup.contexts.nodes
      .filter((check) => (check.__typename === 'CheckRun' ? check.conclusion !== 'SUCCESS' && check.conclusion !== 'SKIPPED' && check.conclusion !== 'NEUTRAL' : check.state !== 'SUCCESS'))
      .map((check) => `${check.name ?? check.context ?? 'unnamed'} (${(check.conclusion ?? check.state ?? check.status ?? 'pending').toLowerCase()})`);
    problems.push(`its checks are ${rollup.state.toLowerCase()}${unfinished.length ? `: ${unfinished.join(', ')}` : ''}`);
  }
  if (pr.mergeable === 'CONFLICTING') {
    const files = await localConflicts(context, record, pr.baseRefName);
    problems.push(`it conflicts with ${pr.baseRefName}${files.length ? ` in ${files.join(', ')}` : ''}`);
  }
  const localTip = await context.git.resolveCommit(record.repo, `refs/heads/${record.branch}`);
  if (localTip && localTip !== pr.headRefOid) {
    problems.push(`the local ${record.branch} (${localTip.slice(0, 10)}) differs from the PR's head (${pr.headRefOid.slice(0, 10)}): push it first (create_pr or pick_attempt updates the PR)`);
  }
  if (problems.length > 0) throw new ConflictError(`Not landing #${pr.number}: ${problems.join('; ')}. Nothing was changed.`);
}

/** The files the branch would conflict in against the base, by `git merge-tree` on origin's base (fetched) or the local one. */
async function localConflicts(context: Context, record: AgentRecord, base: string): Promise<string[]> {
  // The base on GitHub may have moved: bring origin's tip in when the remote can be reached (best effort; the local refs serve otherwise).
  await context.git.tryRun(record.repo, ['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${base}:refs/remotes/origin/${base}`]).catch(() => undefined);
  for (const baseRef of [`refs/remotes/origin/${base}`, `refs/heads/${base}`]) {
    const baseTip = await context.git.resolveCommit(record.repo, baseRef);
    const head = await context.git.resolveCommit(record.repo, `refs/heads/${record.branch}`);
    if (baseTip && head) return (await previewMerge(record.repo, baseTip, head).catch(() => ({ conflictedFiles: [] }))).conflictedFiles;
  }
  return [];
}

async function approvalFor(
  context: Context,
  action: string,
  requestId: string | undefined,
  askHuman: AskHuman | undefined,
): Promise<{ outcome: 'approved' | 'denied' | 'pending' | 'expired'; request: LandResult['request']; notes: string[] }> {
  if (requestId) {
    const request = getRequest(context.store, requestId);
    if (request.category !== 'protected_push' || request.summary !== action) {
      throw new UserInputError(`Request ${requestId} was for "${request.summary}", not for "${action}". Call land without request_id to ask for this landing.`);
    }
    if (request.state === 'approved') return { outcome: 'approved', request: { id: request.id, state: request.state, humanCommands: [] }, notes: [`Approved by ${request.decidedBy ?? 'a human'}.`] };
    if (request.state === 'pending') {
      return { outcome: 'pending', request: { id: request.id, state: request.state, humanCommands: [`ringmaster approve ${request.id}`, `ringmaster deny ${request.id} --reason "…"`] }, notes: ['Still waiting for a human to decide.'] };
    }
    return { outcome: 'denied', request: { id: request.id, state: request.state, humanCommands: [] }, notes: [`Request ${request.id} was ${request.state}${request.note ? `: ${request.note}` : ''}.`] };
  }
  const result = await requestApproval(context, { category: 'protected_push', action }, askHuman);
  return {
    outcome: result.outcome,
    request: { id: result.request.id, state: result.request.state, humanCommands: result.humanCommands },
    notes: [...result.notes, ...(result.outcome === 'pending' ? [`Once a human approved, call land again with request_id "${result.request.id}".`] : [])],
  };
}

async function cleanUpLanded(context: Context, record: AgentRecord): Promise<NonNullable<LandResult['cleanup']>> {
  try {
    const cleaned: CleanupResult = await cleanupAgent(context, { name: record.name, deleteBranch: true });
    return { done: true, removed: cleaned.removed, kept: cleaned.kept, error: null };
  } catch (error) {
    return { done: false, removed: [], kept: [], error: `Landed, but the agent was not cleaned up: ${(error as Error).message}` };
  }
}
