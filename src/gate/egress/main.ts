/**
 * Entry point of the egress gate's own process (started by spawn, or by
 * `ringmaster egress`). Deliberately small: it loads the store and the gate,
 * not the MCP SDK or the forge clients, so it starts in a fraction of a second.
 */
import { loadConfig } from '../../config.js';
import { runEgressDaemon } from './daemon.js';

runEgressDaemon(loadConfig()).catch((error: unknown) => {
  process.stderr.write(`ringmaster egress: ${(error as Error).message}\n`);
  process.exit(1);
});
