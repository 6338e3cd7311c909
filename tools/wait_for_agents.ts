import { z } from 'zod';
import { waitAnywhere } from '../src/hosts/index.js';
import { defineTool } from '../src/server/tool.js';
import { toPublic } from '../src/core/index.js';
import { overlapsSchema, statusSchema } from './read_agent_state.js';

const agentStatusSchema = z.object({ name: z.string(), status: statusSchema });

export const waitForAgentsTool = defineTool({
  name: 'wait_for_agents',
  title: 'Wait for agents',
  description:
    'Block until one of the named agents (default: all) is idle, waiting for input or permission, or exited (or its host stops answering: unreachable), or until the timeout; agents on remote hosts wake it as fast as local ones; sends progress notifications while waiting. ' +
    'Use it instead of polling. With only_changes, agents already in such a state when the call starts are ignored. ' +
    'It also returns when a watched agent starts to overlap another live agent (same files changed, or branches that would conflict): see new_overlaps.',
  inputSchema: z.object({
    names: z.array(z.string()).optional().describe('Agents to watch; default all.'),
    timeout_sec: z.number().int().min(1).max(3600).optional().describe('Default 600.'),
    only_changes: z.boolean().optional().describe('Wait for a new arrival in an attention state.'),
  }),
  outputSchema: z.object({
    timed_out: z.boolean(),
    waited_seconds: z.number(),
    ready: z.array(agentStatusSchema).describe('The agents that need attention.'),
    agents: z.array(agentStatusSchema).describe('Every watched agent at the end.'),
    overlaps: z.array(z.object({ agent: z.string(), overlaps: overlapsSchema, base_conflict_files: z.array(z.string()) })).describe('Watched agents that overlap other live agents, at the end.'),
    new_overlaps: z.array(z.string()).describe('Agents whose overlap appeared or changed during this wait (it ends the wait).'),
  }),
  summary: (result) =>
    (result.new_overlaps.length > 0 ? `New overlap: ${result.overlaps.filter((overlap) => result.new_overlaps.includes(overlap.agent)).map((overlap) => `${overlap.agent} with ${overlap.overlaps.map((other) => `${other.agent} (${[...new Set([...other.conflict_files, ...other.same_files])].slice(0, 5).join(', ')})`).join(', ') || 'its base'}`).join('; ')}. ` : '') +
    (result.timed_out
      ? `No agent needed attention within ${result.waited_seconds} s (${result.agents.map((agent) => `${agent.name} ${agent.status.state}`).join(', ')}).`
      : result.ready.length === 0
        ? `After ${result.waited_seconds} s no agent needs attention yet.`
        : `After ${result.waited_seconds} s: ${result.ready.map((agent) => `${agent.name} is ${agent.status.state.replace('_', ' ')}`).join(', ')}.`),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(context, args, { progress, signal }) {
    const result = await waitAnywhere(context, { names: args.names, timeoutSec: args.timeout_sec ?? 600, onlyChanges: args.only_changes, signal, onProgress: progress });
    return toPublic(result);
  },
});
