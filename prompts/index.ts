import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { renderPrompt } from '../src/core/index.js';

/** MCP prompts. Their text lives beside this file as Markdown, so it reads as prose in review. */
export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    'orchestrate',
    {
      title: 'Orchestrate a fleet of agents',
      description: 'How to run a fleet: decompose the work into non-overlapping tasks, spawn, monitor, review, clean up.',
      argsSchema: {
        goal: z.string().optional().describe('What the fleet should achieve.'),
        repo: z.string().optional().describe('Absolute path of the repository to work in.'),
      },
    },
    ({ goal, repo }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: renderPrompt('orchestrate.md', { goal: goal || '(ask the human)', repo: repo || '(ask the human)' }),
          },
        },
      ],
    }),
  );
}
