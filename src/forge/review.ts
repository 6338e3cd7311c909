import type { Octokit } from '@octokit/rest';
import { githubClient, type RepoRef } from '../adapters/github.js';
import type { AgentRecord } from '../store/store.js';
import type { Context } from '../core/index.js';
import { sendPrompt } from '../fleet/index.js';
import { githubRepoOf, groupByRepo, queryBranchPullRequests } from './prs.js';
import { agentStatus } from '../state/index.js';

export interface ReviewComment {
  id: string;
  author: string;
  body: string;
  path: string | null;
  line: number | null;
  url: string;
}

export interface ReviewForward {
  agent: string;
  pr: { number: number; url: string };
  newComments: ReviewComment[];
  newFailingChecks: string[];
  /** The fix prompt, whether or not it was sent. */
  prompt: string | null;
  sent: boolean;
  delivered: boolean | null;
  note: string | null;
}

interface ThreadNode {
  isResolved: boolean;
  path: string | null;
  line: number | null;
  comments: { nodes: Array<{ id: string; body: string; url: string; path: string | null; line: number | null; author: { login: string } | null }> };
}

interface ReviewPrNode {
  number: number;
  url: string;
  reviewThreads: { nodes: ThreadNode[] };
  commits: { nodes: Array<{ commit: { oid: string; statusCheckRollup: { contexts: { nodes: Array<{ __typename: string; name?: string; conclusion?: string | null; context?: string; state?: string }> } } | null } }> };
}

const REVIEW_FIELDS = `
  number url
  reviewThreads(first: 100) { nodes { isResolved path line comments(first: 30) { nodes { id body url path line author { login } } } } }
  commits(last: 1) { nodes { commit { oid statusCheckRollup { contexts(first: 100) { nodes {
    __typename
    ... on CheckRun { name conclusion }
    ... on StatusContext { context state }
  } } } } } }`;

/**
 * Finds review comments and failing checks on agents' open PRs that were not
 * forwarded yet, and sends each owning agent one fix prompt quoting them
 * (queued if the agent is busy). Remembers what it forwarded, so nothing is
 * sent twice. With dryRun it only reports what it would send.
 */
export async function reviewCheck(context: Context, options: { names?: string[]; dryRun?: boolean } = {}, client?: Octokit): Promise<ReviewForward[]> {
  const records = context.store.listAgents().filter((record) => !options.names?.length || options.names.includes(record.name));
  const octokit = client ?? (await githubClient(context.env));
  const byRepo = groupByRepo(records);
  const results: ReviewForward[] = [];
  for (const [repo, repoAgents] of byRepo) {
    let ref: RepoRef;
    try {
      ref = await githubRepoOf(context, repo);
    } catch {
      continue; // no GitHub remote: nothing to review here
    }
    const { pullRequests } = await queryBranchPullRequests<ReviewPrNode>(octokit, ref, repoAgents.map((record) => record.branch), REVIEW_FIELDS, 'reading reviews', '[OPEN]');
    for (const [index, record] of repoAgents.entries()) {
      const pr = pullRequests[index];
      if (pr) results.push(await forward(context, record, pr, Boolean(options.dryRun)));
    }
  }
  return results;
}

async function forward(context: Context, record: AgentRecord, pr: ReviewPrNode, dryRun: boolean): Promise<ReviewForward> {
  const seen = new Set((context.store.db.prepare(`SELECT item FROM forwarded WHERE agent_id = ?`).all(record.id) as Array<{ item: string }>).map((row) => row.item));
  const newComments: ReviewComment[] = [];
  for (const thread of pr.reviewThreads.nodes) {
    if (thread.isResolved) continue;
    for (const comment of thread.comments.nodes) {
      if (seen.has(`comment:${comment.id}`)) continue;
      newComments.push({ id: comment.id, author: comment.author?.login ?? 'someone', body: comment.body, path: comment.path ?? thread.path, line: comment.line ?? thread.line, url: comment.url });
    }
  }
  const commit = pr.commits.nodes[0]?.commit;
  const failing = (commit?.statusCheckRollup?.contexts.nodes ?? [])
    .filter((check) => (check.__typename === 'CheckRun' ? ['FAILURE', 'TIMED_OUT', 'CANCELLED', 'STARTUP_FAILURE'].includes(check.conclusion ?? '') : ['FAILURE', 'ERROR'].includes(check.state ?? '')))
    .map((check) => check.name ?? check.context ?? 'unnamed check');
  const newFailingChecks = failing.filter((name) => !seen.has(`check:${name}@${commit?.oid}`));
  const base = { agent: record.name, pr: { number: pr.number, url: pr.url }, newComments, newFailingChecks };
  if (newComments.length === 0 && newFailingChecks.length === 0) return { ...base, prompt: null, sent: false, delivered: null, note: 'nothing new' };

  const prompt = fixPrompt(pr, newComments, newFailingChecks, commit?.oid);
  if (dryRun) return { ...base, prompt, sent: false, delivered: null, note: 'dry run: not sent' };
  const status = await agentStatus(context, record);
  if (status.state === 'exited') return { ...base, prompt, sent: false, delivered: null, note: `agent has exited (${status.reason}); not sent` };
  const result = await sendPrompt(context, { name: record.name, text: prompt, queue: true });
  const now = Date.now();
  const remember = context.store.db.prepare(`INSERT OR IGNORE INTO forwarded (agent_id, item, at) VALUES (?, ?, ?)`);
  context.store.db.transaction(() => {
    for (const comment of newComments) remember.run(record.id, `comment:${comment.id}`, now);
    for (const name of newFailingChecks) remember.run(record.id, `check:${name}@${commit?.oid}`, now);
  })();
  return { ...base, prompt, sent: true, delivered: result.delivered, note: result.method === 'queued' ? 'queued: the agent was busy; it gets the prompt at its next idle' : null };
}

function fixPrompt(pr: ReviewPrNode, comments: ReviewComment[], failing: string[], oid: string | undefined): string {
  const lines = [`Review feedback arrived on your pull request #${pr.number} (${pr.url}).`, ''];
  if (comments.length) {
    lines.push('Unresolved review comments:');
    comments.forEach((comment, index) => {
      const where = comment.path ? `${comment.path}${comment.line ? `:${comment.line}` : ''}` : 'the PR';
      lines.push(`${index + 1}. ${where}, @${comment.author}:`, ...comment.body.split('\n').map((line) => `   > ${line}`));
    });
    lines.push('');
  }
  if (failing.length) lines.push(`Failing checks on ${oid ? oid.slice(0, 10) : 'the latest commit'}: ${failing.join(', ')}.`, '');
  lines.push('Address each point with commits on your branch, make the failing checks pass, then end your turn with a short summary of what you changed.');
  return lines.join('\n');
}
