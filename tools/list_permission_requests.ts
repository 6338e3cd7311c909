import { z } from 'zod';
import { listRequestsAnywhere } from '../src/hosts/index.js';
import { defineTool, plural } from '../src/server/tool.js';
import { permissionRequestOutput, permissionRequestSchema } from './request_permission.js';

export const listPermissionRequestsTool = defineTool({
  name: 'list_permission_requests',
  title: 'List permission requests',
  description: 'Gated actions that wait for a decision, and recent decided ones, newest first, from this machine and every host (ids from a host read host:id). A pending request holds its agent in waiting_permission.',
  inputSchema: z.object({
    pending_only: z.boolean().optional().describe('Only those still waiting.'),
    limit: z.number().int().min(1).max(500).optional().describe('Default 50.'),
  }),
  outputSchema: z.object({ requests: z.array(permissionRequestSchema) }),
  summary: ({ requests }) => {
    const pending = requests.filter((request) => request.state === 'pending');
    if (requests.length === 0) return 'No permission requests.';
    return `${plural(requests.length, 'request')}, ${pending.length} pending${pending.length ? `: ${pending.map((request) => `${request.id} (${request.agent ?? '?'}, ${request.category})`).join(', ')}` : ''}.`;
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(context, args) {
    return { requests: (await listRequestsAnywhere(context, { pendingOnly: args.pending_only, limit: args.limit })).map(permissionRequestOutput) };
  },
});
