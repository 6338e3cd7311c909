import type { AnyToolDefinition } from '../src/server/tool.js';
import { cancelSpawnTool } from './cancel_spawn.js';
import { cleanupWorktreeTool } from './cleanup_worktree.js';
import { listAgentsTool } from './list_agents.js';
import { listPermissionRequestsTool } from './list_permission_requests.js';
import { listPrsTool } from './list_prs.js';
import { createPrTool } from './create_pr.js';
import { reviewCheckTool } from './review_check.js';
import { listTicketsTool } from './list_tickets.js';
import { createTicketTool } from './create_ticket.js';
import { readAgentStateTool } from './read_agent_state.js';
import { requestPermissionTool } from './request_permission.js';
import { sendPromptTool } from './send_prompt.js';
import { spawnAgentTool } from './spawn_agent.js';
import { waitForAgentsTool } from './wait_for_agents.js';
import { compareAttemptsTool } from './compare_attempts.js';
import { pickAttemptTool } from './pick_attempt.js';
import { landTool } from './land.js';

/** Every MCP tool ringmaster serves, in the order clients list them. */
export const tools: AnyToolDefinition[] = [
  spawnAgentTool,
  listAgentsTool,
  readAgentStateTool,
  sendPromptTool,
  waitForAgentsTool,
  requestPermissionTool,
  listPermissionRequestsTool,
  listPrsTool,
  createPrTool,
  reviewCheckTool,
  listTicketsTool,
  createTicketTool,
  cleanupWorktreeTool,
  cancelSpawnTool,
  compareAttemptsTool,
  pickAttemptTool,
  landTool,
];
