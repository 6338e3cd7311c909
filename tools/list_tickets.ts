import { z } from 'zod';
import { listTickets } from '../src/forge/index.js';
import { defineTool, plural } from '../src/server/tool.js';

export const ticketSchema = z.object({ identifier: z.string(), title: z.string(), url: z.string(), state: z.string().nullable(), branch_name: z.string(), description: z.string().nullable() });

export const listTicketsTool = defineTool({
  name: 'list_tickets',
  title: 'List Linear tickets',
  description: 'Linear tickets assigned to you (default) or of a team, filtered by state and label names. Spawn an agent on one with spawn_agent linear_issue. Needs LINEAR_API_KEY.',
  inputSchema: z.object({
    team: z.string().optional().describe('Team key, e.g. ENG. Without it: tickets assigned to you.'),
    mine: z.boolean().optional().describe('Only tickets assigned to you (default when no team is given).'),
    states: z.array(z.string()).optional().describe('State names, e.g. ["Todo", "In Progress"].'),
    labels: z.array(z.string()).optional(),
    limit: z.number().int().min(1).max(250).optional(),
  }),
  outputSchema: z.object({ tickets: z.array(ticketSchema) }),
  summary: ({ tickets }) =>
    tickets.length === 0 ? 'No tickets match.' : `${plural(tickets.length, 'ticket')}: ${tickets.slice(0, 8).map((ticket) => ticket.identifier).join(', ')}${tickets.length > 8 ? ', …' : ''}.`,
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handle(context, args) {
    const tickets = await listTickets(context, { team: args.team, mine: args.mine, states: args.states, labels: args.labels, limit: args.limit });
    return { tickets: tickets.map((ticket) => ({ identifier: ticket.identifier, title: ticket.title, url: ticket.url, state: ticket.state, branch_name: ticket.branchName, description: ticket.description })) };
  },
});
