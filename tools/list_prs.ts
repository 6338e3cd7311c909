import { z } from 'zod';
import { listPrsAnywhere } from '../src/hosts/index.js';
import { defineTool, plural } from '../src/server/tool.js';

export const listPrsTool = defineTool({
  name: 'list_prs',
  title: 'List pull requests',
  description:
    "Each agent's pull request on GitHub: number, URL, state, draft, mergeable, review decision, CI rollup with the names of failing checks, unresolved review threads, last update. " +
    'Agents without a PR are listed with pr: null. One GraphQL request per repository for up to 50 branches, so it stays cheap with many agents; the remaining rate limit is reported. ' +
    'Needs GITHUB_TOKEN or GH_TOKEN (or gh auth); GITHUB_API_URL selects GitHub Enterprise.',
  inputSchema: z.object({
    names: z.array(z.string()).optional().describe('Only these agents.'),
    repos: z.array(z.string()).optional().describe('Only agents of these repositories (path or folder name).'),
  }),
  outputSchema: z.object({
    agents: z.array(
      z.object({
        agent: z.string(),
        branch: z.string(),
        repo: z.string(),
        github: z.string().nullable(),
        pr: z
          .object({
            number: z.number(),
            url: z.string(),
            state: z.string(),
            draft: z.boolean(),
            mergeable: z.string(),
            review_decision: z.string().nullable(),
            checks: z.object({ state: z.string().nullable(), failing: z.array(z.string()) }),
            unresolved_threads: z.number(),
            updated_at: z.string(),
          })
          .nullable(),
        error: z.string().nullable(),
      }),
    ),
    rate_limit: z.object({ remaining: z.number(), reset_at: z.string() }).nullable(),
    graphql_requests: z.number(),
  }),
  summary: ({ agents }) => {
    const withPr = agents.filter((entry) => entry.pr);
    const failing = withPr.filter((entry) => entry.pr!.checks.failing.length > 0);
    return `${withPr.length} of ${plural(agents.length, 'agent')} have a pull request${failing.length ? `; failing checks: ${failing.map((entry) => `${entry.agent} #${entry.pr!.number}`).join(', ')}` : ''}.`;
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handle(context, args) {
    const listing = await listPrsAnywhere(context, { names: args.names, repos: args.repos });
    return {
      agents: listing.agents.map((entry) => ({
        agent: entry.agent,
        branch: entry.branch,
        repo: entry.repo,
        github: entry.github,
        pr: entry.pr && {
          number: entry.pr.number,
          url: entry.pr.url,
          state: entry.pr.state,
          draft: entry.pr.draft,
          mergeable: entry.pr.mergeable,
          review_decision: entry.pr.reviewDecision,
          checks: entry.pr.checks,
          unresolved_threads: entry.pr.unresolvedThreads,
          updated_at: entry.pr.updatedAt,
        },
        error: entry.error,
      })),
      rate_limit: listing.rateLimit && { remaining: listing.rateLimit.remaining, reset_at: listing.rateLimit.resetAt },
      graphql_requests: listing.requests,
    };
  },
});
