import type { Octokit } from '@octokit/rest';
import { githubClient, githubError, parseRemote, type RepoRef } from '../adapters/github.js';
import { ExternalToolError, UserInputError } from '../errors.js';
import { isProtectedBranch, loadPolicy } from '../gate/index.js';
import type { AgentRecord } from '../store/store.js';
import type { Context } from '../core/index.js';
import { linkPrToTicket } from './linear.js';
import { findLiveAgent } from '../state/index.js';

/** GitHub allows many aliases per query; 50 branches per request keeps each response small and fast. */
export const BRANCHES_PER_QUERY = 50;

export interface PullRequestInfo {
  number: number;
  url: string;
  state: string;
  draft: boolean;
  mergeable: string;
  reviewDecision: string | null;
  checks: { state: string | null; failing: string[] };
  unresolvedThreads: number;
  updatedAt: string;
}

export interface AgentPullRequest {
  agent: string;
  branch: string;
  repo: string;
  github: string | null;
  pr: PullRequestInfo | null;
  error: string | null;
}

export interface PrListing {
  agents: AgentPullRequest[];
  rateLimit: { remaining: number; resetAt: string } | null;
  requests: number;
}

/** The checks of a PR's last commit, as list_prs and land read them (GraphQL). */
export const CHECK_ROLLUP_FIELDS = `
  commits(last: 1) { nodes { commit { statusCheckRollup { state contexts(first: 100) { nodes {
    __typename
    ... on CheckRun { name conclusion status }
    ... on StatusContext { context state }
  } } } } } }`;

export interface CheckRollupNode {
  commits: { nodes: Array<{ commit: { statusCheckRollup: { state: string; contexts: { nodes: Array<{ __typename: string; name?: string; conclusion?: string | null; status?: string; context?: string; state?: string }> } } | null } }> };
}

const PR_FIELDS = `
  number url state isDraft mergeable reviewDecision updatedAt
  reviewThreads(first: 100) { nodes { isResolved } }${CHECK_ROLLUP_FIELDS}`;

interface PrNode extends CheckRollupNode {
  number: number;
  url: string;
  state: string;
  isDraft: boolean;
  mergeable: string;
  reviewDecision: string | null;
  updatedAt: string;
  reviewThreads: { nodes: Array<{ isResolved: boolean }> };
}

export function groupByRepo(records: AgentRecord[]): Map<string, AgentRecord[]> {
  const byRepo = new Map<string, AgentRecord[]>();
  for (const record of records) byRepo.set(record.repo, [...(byRepo.get(record.repo) ?? []), record]);
  return byRepo;
}

/** The GitHub owner/name of a repo's origin, or an explanation of why there is none. */
export async function githubRepoOf(context: Context, repo: string): Promise<RepoRef> {
  // The configured URL, not one rewritten by url.*.insteadOf: it names the GitHub repository even when git reaches it through a mirror.
  const url = (await context.git.tryRun(repo, ['config', '--get', 'remote.origin.url']))?.trim();
  if (!url) throw new UserInputError(`${repo} has no origin remote, so ringmaster cannot find its GitHub repository. Add one: git remote add origin git@github.com:OWNER/REPO.git`);
  const ref = parseRemote(url);
  if (!ref) throw new UserInputError(`The origin remote of ${repo} (${url}) is not a GitHub repository URL. Use the SSH or HTTPS form: git@github.com:OWNER/REPO.git`);
  return ref;
}

/**
 * Every agent's pull request with one GraphQL request per repository for up
 * to 50 branches (aliases), instead of one request per branch.
 */
export async function listPrs(context: Context, options: { names?: string[]; repos?: string[] } = {}, client?: Octokit): Promise<PrListing> {
  let records = options.names?.length ? options.names.map((name) => findLiveAgent(context, name)) : context.store.listAgents();
  if (options.repos?.length) records = records.filter((record) => options.repos!.some((repo) => record.repo === repo || record.repo.endsWith(`/${repo}`)));
  const octokit = client ?? (await githubClient(context.env));
  const byRepo = groupByRepo(records);
  const agents: AgentPullRequest[] = [];
  let rateLimit: PrListing['rateLimit'] = null;
  let requests = 0;
  for (const [repo, repoAgents] of byRepo) {
    let ref: RepoRef;
    try {
      ref = await githubRepoOf(context, repo);
    } catch (error) {
      for (const record of repoAgents) agents.push({ agent: record.name, branch: record.branch, repo, github: null, pr: null, error: (error as Error).message });
      continue;
    }
    const result = await queryBranchPullRequests<PrNode>(octokit, ref, repoAgents.map((record) => record.branch), PR_FIELDS, 'listing pull requests');
    requests += result.requests;
    rateLimit = result.rateLimit ?? rateLimit;
    repoAgents.forEach((record, index) => {
      const node = result.pullRequests[index];
      agents.push({ agent: record.name, branch: record.branch, repo, github: `${ref.owner}/${ref.name}`, pr: node ? prInfo(node) : null, error: null });
    });
  }
  return { agents, rateLimit, requests };
}

/**
 * Pull requests for branches whose repository is known by its origin URL
 * rather than a checkout here (agents on other hosts: the host says where its
 * clone's origin points; the GitHub query and its token stay on this machine).
 */
export async function listBranchPrs(octokit: Octokit, items: Array<{ agent: string; branch: string; repo: string; originUrl: string | null }>): Promise<PrListing> {
  const agents: AgentPullRequest[] = [];
  let rateLimit: PrListing['rateLimit'] = null;
  let requests = 0;
  const byOrigin = new Map<string, typeof items>();
  for (const item of items) {
    const ref = item.originUrl ? parseRemote(item.originUrl) : undefined;
    if (!ref) {
      agents.push({ ...item, github: null, pr: null, error: item.originUrl ? `The origin remote of ${item.repo} (${item.originUrl}) is not a GitHub repository URL.` : `${item.repo} has no origin remote.` });
      continue;
    }
    const key = `${ref.owner}/${ref.name}`;
    byOrigin.set(key, [...(byOrigin.get(key) ?? []), item]);
  }
  for (const [key, group] of byOrigin) {
    const ref = parseRemote(group[0]!.originUrl!)!;
    const result = await queryBranchPullRequests<PrNode>(octokit, ref, group.map((item) => item.branch), PR_FIELDS, 'listing pull requests');
    requests += result.requests;
    rateLimit = result.rateLimit ?? rateLimit;
    group.forEach((item, index) => {
      const node = result.pullRequests[index];
      agents.push({ agent: item.agent, branch: item.branch, repo: item.repo, github: key, pr: node ? prInfo(node) : null, error: null });
    });
  }
  return { agents, rateLimit, requests };
}

/**
 * The newest pull request for each branch (undefined where there is none),
 * with one GraphQL request per 50 branches: each branch is an aliased
 * `pullRequests(headRefName:)` field, its name passed as a variable.
 */
export async function queryBranchPullRequests<Node>(
  octokit: Octokit,
  ref: RepoRef,
  branches: string[],
  fields: string,
  what: string,
  states = '[OPEN, CLOSED, MERGED]',
): Promise<{ pullRequests: Array<Node | undefined>; requests: number; rateLimit: { remaining: number; resetAt: string } | null }> {
  const pullRequests: Array<Node | undefined> = [];
  let requests = 0;
  let rateLimit: { remaining: number; resetAt: string } | null = null;
  for (let start = 0; start < branches.length; start += BRANCHES_PER_QUERY) {
    const chunk = branches.slice(start, start + BRANCHES_PER_QUERY);
    const variables: Record<string, string> = { owner: ref.owner, name: ref.name };
    chunk.forEach((branch, index) => (variables[`b${index}`] = branch));
    const query = `query RingmasterPullRequests($owner: String!, $name: String!, ${chunk.map((_, index) => `$b${index}: String!`).join(', ')}) {
      rateLimit { remaining resetAt }
      repository(owner: $owner, name: $name) {
        ${chunk.map((_, index) => `b${index}: pullRequests(headRefName: $b${index}, first: 1, states: ${states}, orderBy: {field: UPDATED_AT, direction: DESC}) { nodes { ${fields} } }`).join('\n')}
      }
    }`;
    let data: { rateLimit: { remaining: number; resetAt: string }; repository: Record<string, { nodes: Node[] }> | null };
    try {
      requests++;
      data = await octokit.graphql(query, variables);
    } catch (error) {
      throw githubError(error, `${what} of ${ref.owner}/${ref.name}`);
    }
    rateLimit = data.rateLimit ?? rateLimit;
    chunk.forEach((_, index) => pullRequests.push(data.repository?.[`b${index}`]?.nodes[0]));
  }
  return { pullRequests, requests, rateLimit };
}

function prInfo(node: PrNode): PullRequestInfo {
  const rollup = node.commits.nodes[0]?.commit.statusCheckRollup ?? null;
  const failing = (rollup?.contexts.nodes ?? [])
    .filter((context) => (context.__typename === 'CheckRun' ? ['FAILURE', 'TIMED_OUT', 'CANCELLED', 'ACTION_REQUIRED', 'STARTUP_FAILURE'].includes(context.conclusion ?? '') : ['FAILURE', 'ERROR'].includes(context.state ?? '')))
    .map((context) => context.name ?? context.context ?? 'unnamed check');
  return {
    number: node.number,
    url: node.url,
    state: node.state,
    draft: node.isDraft,
    mergeable: node.mergeable,
    reviewDecision: node.reviewDecision,
    checks: { state: rollup?.state ?? null, failing },
    unresolvedThreads: node.reviewThreads.nodes.filter((thread) => !thread.isResolved).length,
    updatedAt: node.updatedAt,
  };
}

export interface CreatePrInput {
  name: string;
  title: string;
  body?: string;
  draft?: boolean;
}

export interface CreatedPr {
  agent: string;
  number: number;
  url: string;
  branch: string;
  base: string;
  pushed: string;
}

/**
 * Pushes the agent's branch (never a protected one) and opens a pull request
 * against its base; the default body lists the agent's task and commits. The
 * PR is linked to the agent, and to its Linear ticket when it has one.
 */
export async function createPr(context: Context, input: CreatePrInput, client?: Octokit): Promise<CreatedPr & { notes: string[] }> {
  const record = findLiveAgent(context, input.name);
  if (!input.title.trim()) throw new UserInputError('title is empty. Give the pull request a title.');
  const policy = loadPolicy(context.config.home);
  if (isProtectedBranch(policy.protectedBranches, record.branch)) {
    throw new UserInputError(`Branch ${record.branch} is protected; ringmaster never pushes it. Spawn agents on their own branches.`);
  }
  const ref = await githubRepoOf(context, record.repo);
  const octokit = client ?? (await githubClient(context.env));
  try {
    await context.git.run(record.worktreePath, ['push', '--set-upstream', 'origin', `refs/heads/${record.branch}:refs/heads/${record.branch}`]);
  } catch (error) {
    throw new ExternalToolError(`Pushing ${record.branch} to origin failed: ${(error as Error).message}. Check the remote and your git credentials.`, { cause: error });
  }
  const commits = (await context.git.run(record.worktreePath, ['log', '--format=- %s', `${record.baseCommit}..refs/heads/${record.branch}`])).trim();
  const body =
    input.body ??
    `${context.store.getTask(record.id)?.slice(0, 4_000) ?? record.taskPreview}\n\n## Commits\n${commits || '(none yet)'}\n\n_Opened by ringmaster for agent \`${record.name}\`._`;
  let created;
  try {
    created = await octokit.rest.pulls.create({ owner: ref.owner, repo: ref.name, head: record.branch, base: record.baseRef, title: input.title, body, draft: input.draft ?? false });
  } catch (error) {
    throw githubError(error, `opening a pull request for ${record.branch}`);
  }
  context.store.db.prepare(`UPDATE agents SET pr_number = ?, pr_url = ?, updated_at = ? WHERE id = ?`).run(created.data.number, created.data.html_url, Date.now(), record.id);
  context.store.addEvent(record.id, 'pr_opened', { number: created.data.number, url: created.data.html_url });
  const pr: CreatedPr = { agent: record.name, number: created.data.number, url: created.data.html_url, branch: record.branch, base: record.baseRef, pushed: record.branch };
  return { ...pr, notes: await linkPrToTicket(context, record, pr.url) };
}
