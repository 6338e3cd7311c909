import { z } from 'zod';
import { sendPromptAnywhere } from '../src/hosts/index.js';
import { defineTool } from '../src/server/tool.js';

export const sendPromptTool = defineTool({
  name: 'send_prompt',
  title: 'Send prompt',
  description:
    "Send a prompt to an agent and prove it arrived: delivered is true only when Claude's UserPromptSubmit event shows the exact text. " +
    'Any text works: many lines, quotes, $VARS, backticks, unicode; over 100 kB it is saved to a file the agent is told to read. Slash commands are typed. ' +
    'While the agent is mid-turn it refuses, unless interrupt (Esc first, then send) or queue (send at its next idle).',
  inputSchema: z.object({
    name: z.string().describe('The agent name.'),
    text: z.string().describe('The prompt.'),
    interrupt: z.boolean().optional().describe('Stop the running turn with Esc first.'),
    queue: z.boolean().optional().describe('If the agent is busy, deliver when it is next idle.'),
    timeout_sec: z.number().int().min(1).max(300).optional().describe('How long to wait for proof of delivery. Default 20.'),
  }),
  outputSchema: z.object({
    name: z.string(),
    delivered: z.boolean().nullable().describe('true: proven; false: not proven (see notes); null: this agent CLI cannot confirm.'),
    method: z.enum(['paste', 'typed', 'file', 'queued']),
    verified_by: z.string().nullable(),
    queue_id: z.number().nullable(),
    interrupted: z.boolean(),
    notes: z.array(z.string()),
  }),
  summary: (result) => {
    if (result.method === 'queued') return `Queued for ${result.name}: delivered when it is next idle (queue id ${result.queue_id}).`;
    const how = result.interrupted ? ' after interrupting its turn' : '';
    if (result.delivered === true) return `Delivered the prompt to ${result.name}${how}; Claude confirmed it.`;
    if (result.delivered === null) return `Sent the prompt to ${result.name}${how}; this agent CLI cannot confirm delivery.`;
    return `Sent the prompt to ${result.name}${how}, but delivery is not confirmed${result.notes[0] ? `: ${result.notes[0]}` : '.'}`;
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(context, args) {
    const result = await sendPromptAnywhere(context, {
      name: args.name,
      text: args.text,
      interrupt: args.interrupt,
      queue: args.queue,
      timeoutMs: args.timeout_sec === undefined ? undefined : args.timeout_sec * 1000,
    });
    return {
      name: result.name,
      delivered: result.delivered,
      method: result.method,
      verified_by: result.verifiedBy,
      queue_id: result.queueId,
      interrupted: result.interrupted,
      notes: result.notes,
    };
  },
});
