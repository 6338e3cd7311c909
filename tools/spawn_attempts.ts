/**
 * The best-of-N part of spawn_agent (`attempts: N`), kept apart so that the
 * tool's own file stays about one agent.
 */
import { z } from 'zod';
import { AGENT_KINDS, MAX_ATTEMPTS, MIN_ATTEMPTS, spawnAttempts, type Limits, type SpawnInput } from '../src/fleet/index.js';
import { toPublic, type Context, type ProgressReporter } from '../src/core/index.js';
import { UserInputError } from '../src/errors.js';
import type { AgentKind } from '../src/store/store.js';

export const attemptsInput = {
  attempts: z
    .number()
    .int()
    .min(MIN_ATTEMPTS)
    .max(MAX_ATTEMPTS)
    .optional()
    .describe(`Best of N: start ${MIN_ATTEMPTS}-${MAX_ATTEMPTS} agents on the same task and base, named <name>-a1 … -aN, each on its own branch, grouped as one run. Compare them with compare_attempts, keep one with pick_attempt. If any attempt fails to start, none is kept.`),
  agents: z.array(z.enum(AGENT_KINDS)).optional().describe('With attempts: the agent CLI of each attempt in order (missing ones use agent).'),
  models: z.array(z.string()).optional().describe('With attempts: the model of each attempt in order (missing ones use model).'),
};

export const attemptsOutput = {
  group: z
    .object({
      id: z.string(),
      name: z.string(),
      attempts: z.array(
        z.object({ name: z.string(), agent: z.string(), branch: z.string(), worktree_path: z.string(), attach_command: z.string(), task_submitted: z.boolean().nullable() }),
      ),
    })
    .optional()
    .describe('With attempts: the group; the fields above describe its first attempt.'),
};

export async function spawnAttemptsFromTool(
  context: Context,
  args: { attempts?: number; agents?: AgentKind[]; models?: string[]; linear_issue?: string },
  request: SpawnInput & { budget?: Limits },
  progress: ProgressReporter,
) {
  if (args.linear_issue) throw new UserInputError('attempts cannot be combined with linear_issue yet; spawn the attempts with the ticket text as task.');
  const result = await spawnAttempts(context, { ...request, attempts: args.attempts!, agents: args.agents, models: args.models }, progress);
  return {
    ...toPublic(result.attempts[0]!),
    status: 'started' as const,
    queue: null,
    group: {
      id: result.group,
      name: result.name,
      attempts: result.attempts.map((attempt) => ({
        name: attempt.name,
        agent: attempt.agent,
        branch: attempt.branch,
        worktree_path: attempt.worktreePath,
        attach_command: attempt.attachCommand,
        task_submitted: attempt.taskSubmitted,
      })),
    },
  };
}
