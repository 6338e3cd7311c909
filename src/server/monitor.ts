import type { Context } from '../core/index.js';
import { Monitor } from '../fleet/index.js';
import { Notifier } from '../notify/index.js';

const monitors = new WeakMap<Context, Monitor>();

/**
 * One status monitor per process and context, shared by every session's
 * server (and by the stdio front before the MCP SDK is loaded). Kept apart
 * from index.ts so that running it loads no MCP SDK.
 */
export function monitorFor(context: Context): Monitor {
  let monitor = monitors.get(context);
  if (!monitor) {
    monitor = new Monitor(context);
    monitor.setMaxListeners(0);
    monitor.start();
    // The human hears about agents that need one, from whichever process sees it first (see src/notify).
    new Notifier(context, (message) => process.stderr.write(`ringmaster: ${message}\n`)).attach(monitor);
    monitors.set(context, monitor);
  }
  return monitor;
}
