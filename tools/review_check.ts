import { z } from 'zod';
import { reviewCheck } from '../src/forge/index.js';
import { defineTool, plural } from '../src/server/tool.js';

export const reviewCheckTool = defineTool({
  name: 'review_check',
  title: 'Forward review feedback',
  description:
    "Find new unresolved review comments and newly failing checks on agents' open pull requests, and send each owning agent one fix prompt quoting the comments with their files and lines (queued if the agent is busy). " +
    'Remembers what it forwarded, so nothing is sent twice. dry_run shows the prompts without sending.',
  inputSchema: z.object({
    names: z.array(z.string()).optional().describe('Only these agents.'),
    dry_run: z.boolean().optional(),
  }),
  outputSchema: z.object({
    forwarded: z.array(
      z.object({
        agent: z.string(),
        pr: z.object({ number: z.number(), url: z.string() }),
        new_comments: z.number(),
        new_failing_checks: z.array(z.string()),
        prompt: z.string().nullable(),
        sent: z.boolean(),
        delivered: z.boolean().nullable(),
        note: z.string().nullable(),
      }),
    ),
  }),
  summary: ({ forwarded }) => {
    const sent = forwarded.filter((entry) => entry.sent);
    return sent.length === 0
      ? `Nothing new to forward (${plural(forwarded.length, 'pull request')} checked).`
      : `Sent review feedback to ${sent.map((entry) => `${entry.agent} (#${entry.pr.number}: ${plural(entry.new_comments, 'comment')}, ${plural(entry.new_failing_checks.length, 'failing check')})`).join(', ')}.`;
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(context, args) {
    const results = await reviewCheck(context, { names: args.names, dryRun: args.dry_run });
    return {
      forwarded: results.map((result) => ({
        agent: result.agent,
        pr: result.pr,
        new_comments: result.newComments.length,
        new_failing_checks: result.newFailingChecks,
        prompt: result.prompt,
        sent: result.sent,
        delivered: result.delivered,
        note: result.note,
      })),
    };
  },
});
