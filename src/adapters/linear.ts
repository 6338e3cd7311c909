import type { LinearClient } from '@linear/sdk';
import { ExternalToolError, NotFoundError, UserInputError } from '../errors.js';

/**
 * The Linear adapter: the real @linear/sdk client; LINEAR_API_URL points it elsewhere (tests, proxies).
 * The SDK loads on first use, so a server that never talks to Linear never loads it.
 */
export async function linearClient(env: Record<string, string | undefined>): Promise<LinearClient> {
  if (!env.LINEAR_API_KEY) {
    throw new UserInputError('No Linear API key. Create one at https://linear.app/settings/account/security and set LINEAR_API_KEY in the environment ringmaster runs in.');
  }
  const { LinearClient: Client } = await import('@linear/sdk');
  return new Client({ apiKey: env.LINEAR_API_KEY, ...(env.LINEAR_API_URL ? { apiUrl: env.LINEAR_API_URL } : {}) });
}

/** Turns an SDK failure into an actionable error. */
export function linearError(error: unknown, what: string): Error {
  const type = (error as { type?: string }).type;
  const status = (error as { status?: number }).status;
  const message = (error as Error).message ?? String(error);
  if (type === 'AuthenticationError' || status === 401) return new ExternalToolError(`Linear rejected the API key while ${what}. Check LINEAR_API_KEY.`, { cause: error });
  if (type === 'Ratelimited' || status === 429) return new ExternalToolError(`Linear rate limit reached while ${what}; wait a minute and try again.`, { cause: error });
  if (type === 'NetworkError' || /fetch failed|ECONNREFUSED|ENOTFOUND/i.test(message)) return new ExternalToolError(`Could not reach Linear while ${what} (${message}). Check the network or LINEAR_API_URL.`, { cause: error });
  if (/not found|Entity not found/i.test(message)) return new NotFoundError(`Linear has no such ticket or object (${what}). Check the identifier, e.g. ENG-123.`, { cause: error });
  return new ExternalToolError(`Linear failed while ${what}: ${message}`, { cause: error });
}
