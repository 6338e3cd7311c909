import { z } from 'zod';
import { listAgentsAnywhere } from '../src/hosts/index.js';
import { toPublic } from '../src/core/index.js';
import { defineTool, plural } from '../src/server/tool.js';

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
});

export const listAgentsTool = defineTool({
  name: 'list_agents',
  title: 'List agents',
  description:
    'Every agent ringmaster manages, with its repo, branch, worktree and tmux session, and whether its tmux session and its agent process are alive right now (probed, not remembered).',
  inputSchema: z.object({}),
  outputSchema: z.object({ agents: z.array(agentSummarySchema) }),
  summary: ({ agents }) => {
    if (agents.length === 0) return 'No agents. Start one with spawn_agent.';
    const running = agents.filter((agent) => agent.process_alive).length;
    return `${plural(agents.length, 'agent')}, ${running} running: ${agents.map((agent) => `${agent.name}${agent.process_alive ? '' : ' (ended)'}${agent.enforcement === 'unenforced' ? ' (UNENFORCED)' : ''}`).join(', ')}.`;
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(context) {
    return { agents: toPublic(await listAgentsAnywhere(context)) };
  },
});
