import { z } from 'zod';
import { createTicket } from '../src/forge/index.js';
import { defineTool } from '../src/server/tool.js';

export const createTicketTool = defineTool({
  name: 'create_ticket',
  title: 'Create Linear ticket',
  description: 'Create a Linear ticket in a team; returns its identifier (e.g. ENG-124) and URL. Needs LINEAR_API_KEY.',
  inputSchema: z.object({
    team: z.string().describe('Team key, e.g. ENG.'),
    title: z.string(),
    description: z.string().optional().describe('Markdown.'),
    labels: z.array(z.string()).optional().describe('Existing label names.'),
  }),
  outputSchema: z.object({ identifier: z.string(), url: z.string(), title: z.string(), branch_name: z.string() }),
  summary: (ticket) => `Created ${ticket.identifier} "${ticket.title}": ${ticket.url}`,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(context, args) {
    const ticket = await createTicket(context, { team: args.team, title: args.title, description: args.description, labels: args.labels });
    return { identifier: ticket.identifier, url: ticket.url, title: ticket.title, branch_name: ticket.branchName };
  },
});
