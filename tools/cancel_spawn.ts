import { z } from 'zod';
import { cancelSpawn } from '../src/fleet/index.js';
import { toPublic } from '../src/core/index.js';
import { defineTool } from '../src/server/tool.js';
import { queuedSpawnSchema } from './read_agent_state.js';

export const cancelSpawnTool = defineTool({
  name: 'cancel_spawn',
  title: 'Cancel queued spawn',
  description:
    'Take a queued spawn (one past the live-agent cap, or waiting for other agents) out of the queue before it starts, or drop a queued spawn that failed to start from the list. ' +
    'An agent that already started is not touched: stop that one with cleanup_worktree.',
  inputSchema: z.object({
    name: z.string().describe('The name the spawn was queued under (list_agents shows the queue).'),
  }),
  outputSchema: queuedSpawnSchema,
  summary: (spawn) => `Cancelled the queued spawn ${spawn.name}; nothing was started.`,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handle(context, args) {
    return toPublic(cancelSpawn(context, args.name));
  },
});
