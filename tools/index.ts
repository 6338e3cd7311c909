import type { AnyToolDefinition } from '../src/server/tool.js';
import { cleanupWorktreeTool } from './cleanup_worktree.js';
import { listAgentsTool } from './list_agents.js';
import { spawnAgentTool } from './spawn_agent.js';

/** Every MCP tool ringmaster serves, in the order clients list them. */
export const tools: AnyToolDefinition[] = [spawnAgentTool, listAgentsTool, cleanupWorktreeTool];
