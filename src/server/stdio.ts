import { closeStore, createContext, type Context } from '../core/index.js';
import { StdioFront } from './front.js';
import { readListing } from './listing.js';

/** The MCP SDK's server over this process's stdio, loaded at once. */
export async function serveStdio(context: Context): Promise<void> {
  const [{ createServer }, { StdioServerTransport }] = await Promise.all([import('./index.js'), import('@modelcontextprotocol/sdk/server/stdio.js')]);
  const server = createServer(context);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  process.stdin.on('end', () => void server.close());
  await closed;
}

/**
 * `ringmaster serve`: the stdio server over this process's environment, until
 * the client closes stdin; its exit code. The front (front.ts) answers what a
 * client asks on connecting and loads the SDK at the first real request; with
 * no listing that matches the built code, the SDK is loaded at once.
 */
export async function runStdioServer(): Promise<number> {
  const context = createContext();
  const found = readListing();
  if ('listing' in found) await new StdioFront(context, found.listing).run();
  else {
    process.stderr.write(`ringmaster: serving without the front (${found.problem})\n`);
    await serveStdio(context);
  }
  closeStore(context);
  return 0;
}
