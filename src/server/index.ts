import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerPrompts } from '../../prompts/index.js';
import { tools } from '../../tools/index.js';
import type { Context } from '../core/index.js';
import type { Monitor } from '../fleet/index.js';
import { monitorFor } from './monitor.js';
import { registerResources } from './resources.js';
import { registerTool } from './tool.js';

export const SERVER_NAME = 'ringmaster';
export const SERVER_VERSION = '0.1.0';

/**
 * One MCP server over a shared core context; each transport session gets its
 * own. Its status notifications come from `monitor` (default: the process's
 * running one).
 */
export function createServer(context: Context, monitor: Monitor = monitorFor(context)): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: { logging: {} },
      instructions:
        'ringmaster runs child coding agents, each on its own branch in its own git worktree and tmux session. ' +
        'Use the "orchestrate" prompt for the workflow: split work into non-overlapping tasks, spawn_agent, wait_for_agents, read_agent_state, send_prompt, review, cleanup_worktree.',
    },
  );
  for (const tool of tools) registerTool(server, context, tool);
  registerPrompts(server);
  registerResources(server, context, monitor);
  return server;
}
