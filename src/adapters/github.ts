import { execFileSync } from 'node:child_process';
import type { Octokit } from '@octokit/rest';
import { ExternalToolError, UserInputError } from '../errors.js';

/**
 * The GitHub adapter: @octokit/rest for REST and its GraphQL client. Every
 * failure becomes an error that says what to do (token, permissions, rate
 * limit with its reset time, network).
 */

export interface RepoRef {
  owner: string;
  name: string;
}

/** owner/name from an origin URL in SSH (git@host:o/r.git, ssh://git@host/o/r) or HTTPS form. */
export function parseRemote(url: string): RepoRef | undefined {
  const match = /^(?:[a-z+]+:\/\/)?(?:[^@/]+@)?[^:/]+(?::\d+)?[:/](.+?)\/([^/]+?)(?:\.git)?\/?$/i.exec(url.trim());
  if (!match) return undefined;
  const owner = match[1]!.split('/').pop()!;
  return owner && match[2] ? { owner, name: match[2] } : undefined;
}

/** GITHUB_TOKEN, GH_TOKEN, or `gh auth token` when gh is installed. */
export function githubToken(env: Record<string, string | undefined>): string | undefined {
  if (env.GITHUB_TOKEN) return env.GITHUB_TOKEN;
  if (env.GH_TOKEN) return env.GH_TOKEN;
  try {
    return execFileSync('gh', ['auth', 'token'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The client loads @octokit/rest on first use, so a server that never talks to GitHub never loads it. */
export async function githubClient(env: Record<string, string | undefined>): Promise<Octokit> {
  const token = githubToken(env);
  if (!token) {
    throw new UserInputError('No GitHub token. Set GITHUB_TOKEN (or GH_TOKEN) in the environment ringmaster runs in, or run `gh auth login`; the token needs the repo scope.');
  }
  const { Octokit: Client } = await import('@octokit/rest');
  return new Client({ auth: token, baseUrl: env.GITHUB_API_URL || 'https://api.github.com', userAgent: 'ringmaster', request: { retries: 0 } });
}

/** Turns an Octokit failure into an actionable error. */
export function githubError(error: unknown, what: string): ExternalToolError {
  const status = (error as { status?: number }).status;
  const headers = ((error as { response?: { headers?: Record<string, string> } }).response?.headers ?? {}) as Record<string, string>;
  if ((status === 403 || status === 429) && (headers['x-ratelimit-remaining'] === '0' || headers['retry-after'])) {
    const reset = headers['x-ratelimit-reset'] ? new Date(Number(headers['x-ratelimit-reset']) * 1000).toISOString() : `in ${headers['retry-after']} s`;
    return new ExternalToolError(`GitHub rate limit reached while ${what}; it resets at ${reset}. Try again then.`, { cause: error });
  }
  if (status === 401) return new ExternalToolError(`GitHub rejected the token while ${what} (401). Check GITHUB_TOKEN / GH_TOKEN: it may be expired or mistyped.`, { cause: error });
  if (status === 403) return new ExternalToolError(`GitHub refused access while ${what} (403). The token needs the repo scope and access to this repository.`, { cause: error });
  if (status === 404) return new ExternalToolError(`GitHub found no such repository or object while ${what} (404). Check the origin remote and that the token can see the repo.`, { cause: error });
  // Octokit reports a failed connection as status 500 with no response at all.
  const noResponse = (error as { response?: unknown }).response === undefined;
  if (status === undefined || noResponse) {
    return new ExternalToolError(`Could not reach GitHub while ${what} (${(error as Error).message}). Check the network, or GITHUB_API_URL for GitHub Enterprise.`, { cause: error });
  }
  return new ExternalToolError(`GitHub answered ${status} while ${what}: ${(error as Error).message}`, { cause: error });
}
