/**
 * A GitHub API stand-in on 127.0.0.1 for the real @octokit clients: POST
 * /graphql answers the pull-request queries ringmaster sends (aliased
 * `pullRequests(headRefName: $bN)` fields inside `repository`, and
 * `rateLimit`) in GitHub's response shape, and REST answers with GitHub's
 * error shapes. Requests are recorded so tests can count them.
 */
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
  /** When set, every request gets this failure. */
  failWith: { status: number; headers?: Record<string, string>; message: string } | null;
  close(): Promise<void>;
}

export async function startGitHubServer(token: string): Promise<GitHubServer> {
  const state: GitHubServer = { url: '', requests: [], prs: new Map(), failWith: null, close: async () => undefined };
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
        for (const match of query.matchAll(/(b\d+): pullRequests\(headRefName: \$(b\d+)/g)) {
          const pr = prs.get(variables[match[2]!]!);
          repository[match[1]!] = { nodes: pr ? [prNode(repoKey, pr)] : [] };
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
      return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

function prNode(repoKey: string, pr: FakePr) {
  return {
    number: pr.number,
    url: `https://github.com/${repoKey}/pull/${pr.number}`,
    state: pr.state ?? 'OPEN',
    isDraft: pr.isDraft ?? false,
    mergeable: pr.mergeable ?? 'MERGEABLE',
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
            oid: pr.oid ?? 'a'.repeat(40),
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
