import { z } from 'zod';
import { createPr } from '../src/forge/index.js';
import { defineTool } from '../src/server/tool.js';

export const createPrTool = defineTool({
  name: 'create_pr',
  title: 'Create pull request',
  description:
    "Push an agent's branch (never a protected branch) and open a GitHub pull request against its base. The default body summarises the agent's task and commits. " +
    'The PR is linked to the agent, and to its Linear ticket when it has one (PR attached, ticket moved to review).',
  inputSchema: z.object({
    name: z.string().describe('The agent.'),
    title: z.string().describe('Pull request title.'),
    body: z.string().optional().describe('Pull request body; default: the task and the commit list.'),
    draft: z.boolean().optional(),
  }),
  outputSchema: z.object({ agent: z.string(), number: z.number(), url: z.string(), branch: z.string(), base: z.string(), notes: z.array(z.string()) }),
  summary: (pr) => `Opened PR #${pr.number} for ${pr.agent} (${pr.branch} → ${pr.base}): ${pr.url}`,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(context, args) {
    const pr = await createPr(context, { name: args.name, title: args.title, body: args.body, draft: args.draft });
    return { agent: pr.agent, number: pr.number, url: pr.url, branch: pr.branch, base: pr.base, notes: pr.notes };
  },
});
