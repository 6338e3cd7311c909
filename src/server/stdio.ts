import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { closeStore, createContext, type Context } from '../core/index.js';
import { createServer } from './index.js';

export async function serveStdio(context: Context): Promise<void> {
  const server = createServer(context);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  process.stdin.on('end', () => void server.close());
  await closed;
}

/** `ringmaster serve`: the stdio server over this process's environment, until the client closes stdin; its exit code. */
export async function runStdioServer(): Promise<number> {
  const context = createContext();
  await serveStdio(context);
  closeStore(context);
  return 0;
}
