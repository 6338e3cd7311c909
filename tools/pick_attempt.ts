import { z } from 'zod';
import { pickAttempt } from '../src/forge/index.js';
import { toPublic } from '../src/core/index.js';
import { defineTool } from '../src/server/tool.js';

export const pickAttemptTool = defineTool({
  name: 'pick_attempt',
  title: 'Pick an attempt',
  description:
    'Keep one attempt of a group and clean up the others. The kept branch stays; with pr its pull request is opened (or, when it has one, updated by a push). ' +
    'The others get cleanup_worktree\'s safe cleanup: an attempt with uncommitted changes, or commits that exist nowhere else while its branch would be deleted, is kept and reported unless force is true. ' +
    'keep_branches keeps the others\' branches as references (then only uncommitted work blocks).',
  inputSchema: z.object({
    group: z.string().describe('The group id or name, or the name of one attempt.'),
    pick: z.string().describe('The attempt to keep: its name (e.g. fix-login-a2) or its number ("2").'),
    keep_branches: z.boolean().optional().describe("Keep the other attempts' branches. Default false (deleted when nothing would be lost)."),
    force: z.boolean().optional().describe("Discard the other attempts' uncommitted changes and unshared commits. Default false."),
    pr: z.object({ title: z.string(), body: z.string().optional(), draft: z.boolean().optional() }).optional().describe('Open a pull request for the kept branch.'),
  }),
  outputSchema: z.object({
    group: z.string(),
    picked: z.object({
      name: z.string(),
      branch: z.string(),
      head: z.string().nullable(),
      pr: z.object({ number: z.number(), url: z.string(), action: z.enum(['opened', 'updated']) }).nullable(),
    }),
    others: z.array(z.object({ name: z.string(), outcome: z.enum(['removed', 'refused', 'already removed']), branch: z.enum(['deleted', 'kept', 'already gone']), detail: z.string() })),
    notes: z.array(z.string()),
  }),
  summary: (result) =>
    `Kept ${result.picked.name} on ${result.picked.branch}${result.picked.pr ? ` (PR #${result.picked.pr.number} ${result.picked.pr.action})` : ''}; ` +
    (result.others.map((other) => `${other.name} ${other.outcome}${other.outcome === 'refused' ? '' : `, branch ${other.branch}`}`).join('; ') || 'no other attempts') +
    '.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handle(context, args) {
    return toPublic(await pickAttempt(context, { group: args.group, pick: args.pick, keepBranches: args.keep_branches, force: args.force, pr: args.pr }));
  },
});
