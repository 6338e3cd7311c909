import { z } from 'zod';
import { startQueued } from '../src/fleet/index.js';
import { cleanupAnywhere } from '../src/hosts/index.js';
import { defineTool } from '../src/server/tool.js';

export const cleanupWorktreeTool = defineTool({
  name: 'cleanup_worktree',
  title: 'Clean up agent',
  description:
    "Stop an agent's tmux session and remove its worktree. Refuses while the worktree has uncommitted changes or commits that exist on no other branch or remote, unless force is true. " +
    'The branch is kept unless delete_branch is true. Safe to repeat: a half-removed agent is finished off, and a repeat with delete_branch: true deletes a branch an earlier cleanup kept. ' +
      'The result lists exactly what was removed and what was kept, and why.',
  inputSchema: z.object({
    name: z.string().describe('The agent name.'),
    force: z.boolean().optional().describe('Discard uncommitted changes and unshared commits. Default false.'),
    delete_branch: z.boolean().optional().describe('Also delete the branch. Default false (kept).'),
  }),
  outputSchema: z.object({
    name: z.string(),
    id: z.string(),
    tmux_session: z.enum(['killed', 'not running']),
    worktree: z.enum(['removed', 'already gone', 'kept']),
    branch: z.enum(['deleted', 'kept', 'already gone']),
    removed: z.array(z.string()),
    kept: z.array(z.string()).describe('What was left in place, each with why.'),
    already_removed: z.boolean().describe('true when an earlier call had already finished the cleanup.'),
  }),
  summary: (result) =>
    result.already_removed
      ? `${result.name} was already cleaned up; nothing to do.`
      : `Cleaned up ${result.name}: tmux session ${result.tmux_session}, worktree ${result.worktree}, branch ${result.branch}.`,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handle(context, args) {
    const result = await cleanupAnywhere(context, { name: args.name, force: args.force, deleteBranch: args.delete_branch });
    // A freed slot goes to the next queued spawn; the server goes on serving while it starts.
    void startQueued(context).catch(() => undefined);
    return {
      name: result.name,
      id: result.id,
      tmux_session: result.tmuxSession,
      worktree: result.worktree,
      branch: result.branch,
      removed: result.removed,
      kept: result.kept,
      already_removed: result.alreadyRemoved,
    };
  },
});
