import type { Command } from 'commander';
import { cancelSpawn, listQueue, startQueued, type QueuedSpawn } from '../fleet/index.js';
import { toPublic } from '../core/index.js';
import { withContext } from './context.js';
import { EXIT, paint, printJson, table } from './output.js';
import { examples, type Run } from './program.js';

/** queue: fleet discipline from the shell (src/fleet/queue.ts). */
export function registerFleetCommands(program: Command, run: Run): void {
  const queue = program
    .command('queue')
    .description('spawns waiting for a free slot (fleet.maxLiveAgents) or for other agents (--after), in order; and queued spawns that failed to start')
    .option('--json', 'print the list_agents "queued" entries')
    .addHelpText('after', examples('ringmaster queue', 'ringmaster queue cancel docs-pass', 'ringmaster queue start     # start what can start now, without a server'))
    .action((options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const entries = listQueue(context);
          if (options.json) printJson(toPublic(entries));
          else process.stdout.write(queueTable(entries));
          return EXIT.ok;
        }),
      ),
    );

  queue
    .command('cancel')
    .description('take a spawn out of the queue before it starts (what cancel_spawn does)')
    .argument('<name>', 'the queued spawn')
    .option('--json', 'print the cancel_spawn result')
    .addHelpText('after', examples('ringmaster queue cancel docs-pass'))
    .action((name: string, options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const cancelled = cancelSpawn(context, name);
          if (options.json) printJson(toPublic(cancelled));
          else process.stdout.write(`Cancelled the queued spawn ${cancelled.name}; nothing was started.\n`);
          return EXIT.ok;
        }),
      ),
    );

  queue
    .command('start')
    .description('start the queued spawns that can start now, in this process (a running server does this by itself)')
    .option('--json', 'print what was started')
    .addHelpText('after', examples('ringmaster queue start'))
    .action((options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const started = await startQueued(context, (message) => process.stderr.write(`${paint(message, 'dim', false)}\n`));
          if (options.json) printJson(started);
          else if (started.length === 0) process.stdout.write('Nothing could start now (see ringmaster queue for why).\n');
          else for (const item of started) process.stdout.write(`${item.ok ? 'started' : 'failed '} ${item.name}: ${item.detail}\n`);
          return started.some((item) => !item.ok) ? EXIT.failed : EXIT.ok;
        }),
      ),
    );
}

export function queueTable(entries: QueuedSpawn[]): string {
  if (entries.length === 0) return 'The queue is empty.\n';
  return table(
    ['PLACE', 'NAME', 'STATE', 'REPO', 'WHY'],
    entries.map((entry) => [entry.position === null ? '-' : String(entry.position), entry.name, entry.state, entry.repo, entry.reason]),
  );
}
