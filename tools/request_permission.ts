import { z } from 'zod';
import { requestApproval, type ApprovalScope, type AskHuman, type PermissionRequest, CATEGORIES, UNKNOWN_HOST_CATEGORY } from '../src/gate/index.js';
import { defineTool, type ToolExtras } from '../src/server/tool.js';

export const permissionRequestSchema = z.object({
  id: z.string(),
  agent: z.string().nullable(),
  tool: z.string(),
  summary: z.string(),
  category: z.string(),
  reason: z.string(),
  state: z.enum(['pending', 'approved', 'denied', 'expired']),
  created_at: z.string(),
  expires_at: z.string(),
  decided_by: z.string().nullable(),
  note: z.string().nullable(),
  resource: z.string().nullable().describe('For a connection held by the egress gate: host:port.'),
});

export function permissionRequestOutput(request: PermissionRequest): z.infer<typeof permissionRequestSchema> {
  return {
    id: request.id,
    agent: request.agentName,
    tool: request.tool,
    summary: request.summary,
    category: request.category,
    reason: request.reason,
    state: request.state,
    created_at: new Date(request.createdAt).toISOString(),
    expires_at: new Date(request.expiresAt).toISOString(),
    decided_by: request.decidedBy,
    note: request.note,
    resource: request.resource,
  };
}

const SCOPES: Record<string, number | undefined> = { once: undefined, '15 minutes': 15, '60 minutes': 60, '4 hours': 240 };
/** For a connection to a host no policy covers: standing answers as well. */
const HOST_SCOPES: Record<string, ApprovalScope> = { 'this agent, always': 'agent', 'every agent, always': 'always' };

/** The approval dialog the human sees in Claude Code (MCP elicitation). */
export function dialog(elicit: NonNullable<ToolExtras['elicit']>): AskHuman {
  return async (request) => {
    const answer = await elicit({
      message:
        `${request.agentName === 'parent' ? 'The parent session' : `Agent "${request.agentName ?? 'unknown'}"`} wants to do something gated (${request.category}):\n\n` +
        `${request.summary}\n\nWhy it is gated: ${request.reason}\nRequest ${request.id}. Approve it?`,
      requestedSchema: {
        type: 'object',
        properties: {
          approve: { type: 'boolean', title: 'Approve', description: 'Tick to allow; leave unticked to deny.', default: false },
          scope: {
            type: 'string',
            title: 'For',
            enum: [...Object.keys(SCOPES), ...(request.category === UNKNOWN_HOST_CATEGORY && request.resource ? Object.keys(HOST_SCOPES) : [])],
            default: 'once',
          },
          note: { type: 'string', title: 'Note for the agent (optional)' },
        },
        required: ['approve'],
      },
    });
    // Cancel (or a client that closes the dialog) is no decision at all, never an approval.
    if (answer.action === 'cancel') return 'no decision';
    if (answer.action === 'decline') return { approve: false, note: 'declined in the approval dialog' };
    const content = answer.content ?? {};
    const chosen = String(content.scope ?? 'once');
    return {
      approve: content.approve === true,
      minutes: SCOPES[chosen],
      scope: HOST_SCOPES[chosen] ?? 'once',
      note: typeof content.note === 'string' && content.note ? content.note : undefined,
    };
  };
}

export const requestPermissionTool = defineTool({
  name: 'request_permission',
  title: 'Request permission',
  description:
    "Get a human's decision on a gated action (AWS, Slack, protected-branch pushes, Terraform apply/destroy, databases): a child's pending request (request_id), or your own action (category + action). " +
    'Asks the human with an approval dialog when the client supports it; otherwise returns pending with the exact ringmaster approve/deny commands for the human. ' +
    'You may deny on your own (decision: "deny"), but approve only categories the user made parent-approvable in policy.json.',
  inputSchema: z.object({
    request_id: z.string().optional().describe("A child's pending request, e.g. pr_1a2b3c4d5e (see list_permission_requests)."),
    category: z.enum(CATEGORIES).optional().describe('For your own action: its category.'),
    action: z.string().optional().describe('For your own action: exactly what you want to run.'),
    decision: z.enum(['approve', 'deny']).optional().describe("Your own verdict; omit to ask the human."),
    minutes: z.number().int().min(1).max(1440).optional().describe('With approve: let this agent do this category for N minutes.'),
    note: z.string().optional().describe('Why; passed on to the agent.'),
  }),
  outputSchema: z.object({
    outcome: z.enum(['approved', 'denied', 'pending', 'expired']),
    request: permissionRequestSchema,
    human_commands: z.array(z.string()).describe('What a human runs to decide, while pending.'),
    notes: z.array(z.string()),
  }),
  summary: ({ outcome, request, human_commands }) =>
    `${request.category} request ${request.id} from ${request.agent ?? 'the parent'} is ${outcome}${outcome === 'pending' && human_commands[0] ? `; a human decides with: ${human_commands[0]}` : request.note ? ` (${request.note})` : ''}.`,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(context, args, { elicit }) {
    const result = await requestApproval(
      context,
      { requestId: args.request_id, category: args.category, action: args.action, decision: args.decision, minutes: args.minutes, note: args.note },
      elicit && dialog(elicit),
    );
    return { outcome: result.outcome, request: permissionRequestOutput(result.request), human_commands: result.humanCommands, notes: result.notes };
  },
});
