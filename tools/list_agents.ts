import { z } from 'zod';
import { listQueue } from '../src/fleet/index.js';
import { listAgentsAnywhere } from '../src/hosts/index.js';
import { toPublic } from '../src/core/index.js';
import { defineTool, plural } from '../src/server/tool.js';
import { fleetOverlaps, type AgentOverlap } from '../src/state/index.js';
import { overlapsOutput, overlapsSchema, queuedSpawnSchema } from './read_agent_state.js';

export const agentSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  agent: z.string(),
  repo: z.string(),
  branch: z.string(),
  base: z.string(),
  worktree_path: z.string(),
  worktree_exists: z.boolean(),
  tmux_session: z.string(),
  tmux_socket: z.string().nullable(),
  attach_command: z.string(),
  session_alive: z.boolean().describe('The tmux session exists.'),
  process_alive: z.boolean().describe('The agent process inside it is running.'),
  exit_status: z.number().nullable().describe('How the agent process ended, when it has.'),
  enforcement: z.enum(['sandboxed', 'unenforced']).describe('sandboxed: OS sandbox plus egress gate; unenforced: the sandbox is switched off in policy.json, only the hook gate (a classifier) stands in the way.'),
  host: z.string().nullable().describe('The host it runs on (over SSH); null for this machine.'),
  created_at: z.string(),
  task_preview: z.string(),
  overlaps: overlapsSchema,
  base_conflict_files: z.array(z.string()).describe("Files that conflict with the base branch's newer commits."),
});

export const listAgentsTool = defineTool({
  name: 'list_agents',
  title: 'List agents',
  description:
    'Every agent ringmaster manages, with its repo, branch, worktree and tmux session, and whether its tmux session and its agent process are alive right now (probed, not remembered).',
  inputSchema: z.object({}),
  outputSchema: z.object({
    agents: z.array(agentSummarySchema),
    queued: z.array(queuedSpawnSchema).describe('Spawns waiting for a slot or for other agents, in order, and queued spawns that failed to start.'),
  }),
  summary: ({ agents, queued }) => {
    const waiting = queued.length === 0 ? '' : ` Queued: ${queued.map((spawn) => (spawn.position === null ? `${spawn.name} (${spawn.state})` : `${spawn.position}. ${spawn.name}`)).join(', ')}.`;
    if (agents.length === 0) return `No agents.${waiting || ' Start one with spawn_agent.'}`;
    const running = agents.filter((agent) => agent.process_alive).length;
    return `${plural(agents.length, 'agent')}, ${running} running: ${agents.map((agent) => `${agent.name}${agent.process_alive ? '' : ' (ended)'}${agent.enforcement === 'unenforced' ? ' (UNENFORCED)' : ''}${agent.overlaps.length > 0 ? ` (overlaps ${agent.overlaps.map((other) => other.agent).join(', ')})` : ''}`).join(', ')}.${waiting}`;
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(context) {
    const [agents, overlaps] = await Promise.all([listAgentsAnywhere(context), fleetOverlaps(context).catch(() => new Map<string, AgentOverlap>())]);
    return { agents: agents.map((agent) => ({ ...toPublic(agent), ...overlapsOutput(overlaps.get(agent.id)) })), queued: toPublic(listQueue(context)) };
  },
});
