/**
 * A GitHub API stand-in on 127.0.0.1 for the real @octokit clients: POST
 * /graphql answers the pull-request queries ringmaster sends (aliased
 * `pullRequests(headRefName: $bN)` fields inside `repository`, and
 * `rateLimit`) in GitHub's response shape, and REST answers with GitHub's
 * error shapes. Requests are recorded so tests can count them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakePr {
  number: number;
  state?: 'OPEN' | 'CLOSED' | 'MERGED';
  isDraft?: boolean;
  mergeable?: 'MERGEABLE' | 'CONFLICTING' | 'UNKNOWN';
  reviewDecision?: 'APPROVED' | 'CHANGES_REQUESTED' | 'REVIEW_REQUIRED' | null;
  checks?: Array<{ name: string; conclusion: 'SUCCESS' | 'FAILURE' | 'TIMED_OUT' | null }>;
  threads?: Array<{ isResolved: boolean; path?: string; line?: number; comments?: Array<{ id: string; body: string; author: string }> }>;
  oid?: string;
  title?: string;
  body?: string;
  base?: string;
}

export interface GitHubServer {
  url: string;
  requests: Array<{ method: string; path: string; body: unknown; authorization: string | undefined }>;
  /** Pull requests by "owner/name" and head branch. */
  prs: Map<string, Map<string, FakePr>>;
  /** Merge settings by "owner/name" (GraphQL mergeCommitAllowed …); default: all allowed, merge preferred. */
  mergeSettings: Map<string, { mergeCommitAllowed: boolean; squashMergeAllowed: boolean; rebaseMergeAllowed: boolean; viewerDefaultMergeMethod: 'MERGE' | 'SQUASH' | 'REBASE' }>;
  /**
   * A bare repository standing in for "owner/name" on GitHub: a PR's head oid
   * is its branch there, mergeable comes from a real `git merge-tree`, and
   * PUT …/merge really merges (merge, squash or rebase) into its base there.
   */
  remotes: Map<string, string>;
  /** When set, every request gets this failure. */
  failWith: { status: number; headers?: Record<string, string>; message: string } | null;
  close(): Promise<void>;
}

export async function startGitHubServer(token: string): Promise<GitHubServer> {
  const state: GitHubServer = { url: '', requests: [], prs: new Map(), mergeSettings: new Map(), remotes: new Map(), failWith: null, close: async () => undefined };
  const server = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
      state.requests.push({ method: request.method ?? '', path: request.url ?? '', body, authorization: request.headers.authorization });
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-remaining': '4990', 'x-ratelimit-reset': '1900000000', ...headers });
        response.end(JSON.stringify(payload));
      };
      if (state.failWith) return send(state.failWith.status, { message: state.failWith.message, documentation_url: 'https://docs.github.com/rest' }, state.failWith.headers);
      if (request.headers.authorization !== `token ${token}`) return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      if (request.method === 'POST' && request.url === '/graphql') {
        const query = String(body?.query ?? '');
        const variables = (body?.variables ?? {}) as Record<string, string>;
        const repoKey = `${variables.owner}/${variables.name}`;
        const prs = state.prs.get(repoKey);
        if (!prs) return send(200, { data: { rateLimit: { remaining: 4999, resetAt: '2026-11-21T12:00:00Z' }, repository: null }, errors: [{ type: 'NOT_FOUND', path: ['repository'], message: `Could not resolve to a Repository with the name '${repoKey}'.` }] });
        const repository: Record<string, unknown> = {};
        if (query.includes('mergeCommitAllowed')) Object.assign(repository, state.mergeSettings.get(repoKey) ?? { mergeCommitAllowed: true, squashMergeAllowed: true, rebaseMergeAllowed: true, viewerDefaultMergeMethod: 'MERGE' });
        for (const match of query.matchAll(/(b\d+): pullRequests\(headRefName: \$(b\d+)/g)) {
          const head = variables[match[2]!]!;
          const pr = prs.get(head);
          repository[match[1]!] = { nodes: pr ? [prNode(repoKey, pr, head, state.remotes.get(repoKey))] : [] };
        }
        return send(200, { data: { rateLimit: { remaining: 4999 - state.requests.length, resetAt: '2026-11-21T12:00:00Z' }, repository } });
      }
      const create = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(request.url ?? '');
      if (request.method === 'POST' && create) {
        const repoKey = `${create[1]}/${create[2]}`;
        const input = body as { head: string; base: string; title: string; body?: string; draft?: boolean };
        const prs = state.prs.get(repoKey) ?? new Map<string, FakePr>();
        state.prs.set(repoKey, prs);
        if (prs.has(input.head)) return send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${input.head}.` }] });
        const number = 200 + prs.size;
        prs.set(input.head, { number, isDraft: input.draft ?? false, title: input.title, body: input.body, base: input.base });
        return send(201, { number, html_url: `https://github.com/${repoKey}/pull/${number}`, state: 'open', draft: input.draft ?? false, title: input.title, body: input.body ?? null, head: { ref: input.head }, base: { ref: input.base } });
      }
      const merge = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/merge$/.exec(request.url ?? '');
      if (request.method === 'PUT' && merge) {
        const repoKey = `${merge[1]}/${merge[2]}`;
        const found = [...(state.prs.get(repoKey) ?? new Map<string, FakePr>())].find(([, pr]) => pr.number === Number(merge[3]));
        if (!found) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' });
        const [head, pr] = found;
        const input = (body ?? {}) as { merge_method?: string; sha?: string };
        const method = input.merge_method ?? 'merge';
        const settings = state.mergeSettings.get(repoKey);
        const allowed = !settings || (method === 'merge' ? settings.mergeCommitAllowed : method === 'squash' ? settings.squashMergeAllowed : settings.rebaseMergeAllowed);
        if (!allowed) return send(405, { message: `${method === 'merge' ? 'Merge commits are' : method === 'squash' ? 'Squash merges are' : 'Rebase merges are'} not allowed on this repository.`, documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' });
        if ((pr.state ?? 'OPEN') !== 'OPEN') return send(405, { message: 'Pull Request is not mergeable', documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' });
        const remote = state.remotes.get(repoKey);
        const oid = headOid(pr, head, remote);
        if (input.sha && input.sha !== oid) return send(409, { message: 'Head branch was modified. Review and try the merge again.', documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' });
        let sha = 'b'.repeat(40);
        if (remote) {
          const merged = mergeInBare(remote, pr.base ?? 'main', head, method, pr.title ?? head, pr.number);
          if (!merged) return send(405, { message: 'Pull Request is not mergeable', documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' });
          sha = merged;
        } else if (pr.mergeable === 'CONFLICTING') {
          return send(405, { message: 'Pull Request is not mergeable', documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' });
        }
        pr.state = 'MERGED';
        return send(200, { sha, merged: true, message: 'Pull Request successfully merged' });
      }
      return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

function bareGit(remote: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: remote, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function headOid(pr: FakePr, head: string, remote: string | undefined): string {
  if (pr.oid) return pr.oid;
  if (remote) {
    try {
      return bareGit(remote, 'rev-parse', `refs/heads/${head}`);
    } catch {
      // The branch is not on the remote (yet).
    }
  }
  return 'a'.repeat(40);
}

/** What GitHub computes for `mergeable`: a real merge of the head into the base in the bare repository. */
function mergeableIn(remote: string, base: string, head: string): 'MERGEABLE' | 'CONFLICTING' | 'UNKNOWN' {
  const result = spawnSync('git', ['merge-tree', '--write-tree', `refs/heads/${base}`, `refs/heads/${head}`], { cwd: remote, encoding: 'utf8' });
  return result.status === 0 ? 'MERGEABLE' : result.status === 1 ? 'CONFLICTING' : 'UNKNOWN';
}

/** Merges head into base in the bare repository the way GitHub's merge button does; undefined on a conflict. */
function mergeInBare(remote: string, base: string, head: string, method: string, title: string, number: number): string | undefined {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'GitHub', GIT_AUTHOR_EMAIL: 'noreply@github.com', GIT_COMMITTER_NAME: 'GitHub', GIT_COMMITTER_EMAIL: 'noreply@github.com' };
  const run = (...args: string[]) => execFileSync('git', args, { cwd: remote, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const baseTip = run('rev-parse', `refs/heads/${base}`);
  const headTip = run('rev-parse', `refs/heads/${head}`);
  const merged = spawnSync('git', ['merge-tree', '--write-tree', baseTip, headTip], { cwd: remote, encoding: 'utf8' });
  if (merged.status !== 0) return undefined;
  const tree = merged.stdout.split('\n')[0]!.trim();
  let commit: string;
  if (method === 'squash') commit = run('commit-tree', tree, '-p', baseTip, '-m', `${title} (#${number})`);
  else if (method === 'rebase') {
    // One commit per head commit would be GitHub's; the tree is what tests look at, so one commit on top of the base stands in.
    commit = run('commit-tree', tree, '-p', baseTip, '-m', run('log', '-1', '--format=%B', headTip));
  } else commit = run('commit-tree', tree, '-p', baseTip, '-p', headTip, '-m', `Merge pull request #${number} from ${head}`);
  run('update-ref', `refs/heads/${base}`, commit, baseTip);
  return commit;
}

function prNode(repoKey: string, pr: FakePr, head = '', remote?: string) {
  return {
    number: pr.number,
    url: `https://github.com/${repoKey}/pull/${pr.number}`,
    state: pr.state ?? 'OPEN',
    isDraft: pr.isDraft ?? false,
    mergeable: pr.mergeable ?? (remote && head ? mergeableIn(remote, pr.base ?? 'main', head) : 'MERGEABLE'),
    headRefOid: headOid(pr, head, remote),
    headRefName: head,
    baseRefName: pr.base ?? 'main',
    reviewDecision: pr.reviewDecision ?? null,
    updatedAt: '2026-11-21T10:00:00Z',
    reviewThreads: {
      nodes: (pr.threads ?? []).map((thread) => ({
        isResolved: thread.isResolved,
        path: thread.path ?? null,
        line: thread.line ?? null,
        comments: {
          nodes: (thread.comments ?? []).map((comment) => ({
            id: comment.id,
            body: comment.body,
            url: `https://github.com/${repoKey}/pull/${pr.number}#discussion_${comment.id}`,
            path: thread.path ?? null,
            line: thread.line ?? null,
            author: { login: comment.author },
          })),
        },
      })),
    },
    commits: {
      nodes: [
        {
          commit: {
            oid: headOid(pr, head, remote),
            statusCheckRollup: pr.checks
              ? {
                  state: pr.checks.some((check) => check.conclusion === 'FAILURE') ? 'FAILURE' : 'SUCCESS',
                  contexts: { nodes: pr.checks.map((check) => ({ __typename: 'CheckRun', name: check.name, conclusion: check.conclusion, status: 'COMPLETED' })) },
                }
              : null,
          },
        },
      ],
    },
  };
}
