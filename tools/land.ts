import { z } from 'zod';
import { landAgent, MERGE_METHODS } from '../src/forge/index.js';
import { toPublic } from '../src/core/index.js';
import { defineTool } from '../src/server/tool.js';
import { dialog } from './request_permission.js';

export const landTool = defineTool({
  name: 'land',
  title: 'Land an agent',
  description:
    "Merge an agent's pull request on GitHub once it is approved, its checks are green and it has no conflict, then clean the agent up. " +
    'Landing is gated like a protected push: a human approves it (a dialog when the client has one; otherwise the result is pending_approval with the ringmaster approve command, and you call land again with request_id). ' +
    "The method is the repository's preferred one unless method is given and allowed. Conflicts are reported with their files and never forced; with GitHub unreachable nothing changes.",
  inputSchema: z.object({
    name: z.string().describe('The agent whose PR to land.'),
    method: z.enum(MERGE_METHODS).optional().describe("merge, squash or rebase; default: the repository's preferred method."),
    request_id: z.string().optional().describe('The permission request an earlier land call raised, once a human approved it.'),
    keep_agent: z.boolean().optional().describe('Keep the worktree and branch after landing. Default false.'),
  }),
  outputSchema: z.object({
    agent: z.string(),
    outcome: z.enum(['landed', 'pending_approval', 'denied']),
    pr: z.object({ number: z.number(), url: z.string(), base: z.string(), head: z.string(), head_sha: z.string() }),
    method: z.enum(MERGE_METHODS),
    merged_sha: z.string().nullable(),
    request: z.object({ id: z.string(), state: z.string(), human_commands: z.array(z.string()) }).nullable(),
    cleanup: z.object({ done: z.boolean(), removed: z.array(z.string()), kept: z.array(z.string()), error: z.string().nullable() }).nullable(),
    notes: z.array(z.string()),
  }),
  summary: (result) =>
    result.outcome === 'landed'
      ? `Landed ${result.agent}: PR #${result.pr.number} ${result.method}d into ${result.pr.base}${result.cleanup ? (result.cleanup.done ? '; agent cleaned up' : `; ${result.cleanup.error}`) : ''}.`
      : result.outcome === 'pending_approval'
        ? `Landing PR #${result.pr.number} waits for a human: ${result.request?.human_commands[0] ?? 'ringmaster permissions'}; then call land again with request_id ${result.request?.id}.`
        : `Landing PR #${result.pr.number} was denied${result.notes[0] ? `: ${result.notes[0]}` : ''}.`,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handle(context, args, { elicit }) {
    return toPublic(await landAgent(context, { name: args.name, method: args.method, requestId: args.request_id, keepAgent: args.keep_agent }, elicit && dialog(elicit)));
  },
});
