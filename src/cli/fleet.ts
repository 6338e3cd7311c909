import type { Command } from 'commander';
import { approveBudget, budgetLook, budgetReport, cancelSpawn, listQueue, runGc, startQueued, type QueuedSpawn } from '../fleet/index.js';
import { UserInputError } from '../errors.js';
import { toPublic } from '../core/index.js';
import { withContext } from './context.js';
import { EXIT, paint, printJson, table, tableOr } from './output.js';
import { examples, type Run } from './program.js';

/** queue, budget, gc: fleet discipline from the shell (src/fleet/queue.ts, budget.ts, gc.ts). */
export function registerFleetCommands(program: Command, run: Run): void {
  program
    .command('gc')
    .description('remove agents inactive past gc.inactiveHours (default 6) or past gc.maxWorktreesPerRepo (default 20) whose work is safe (merged, or pushed and unchanged); list the rest with why they were kept')
    .option('--dry-run', 'only list what would be removed')
    .option('--inactive-hours <hours>', 'inactive for longer than this (overrides gc.inactiveHours)', parseAmount('--inactive-hours'))
    .option('--max-per-repo <n>', 'worktrees per repository (overrides gc.maxWorktreesPerRepo)', parseAmount('--max-per-repo'))
    .option('--json', 'print removed and kept as JSON')
    .addHelpText('after', examples('ringmaster gc --dry-run', 'ringmaster gc', 'ringmaster gc --inactive-hours 24 --max-per-repo 10'))
    .action((options: { dryRun?: boolean; inactiveHours?: number; maxPerRepo?: number; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const result = await runGc(context, { dryRun: options.dryRun, inactiveHours: options.inactiveHours, maxPerRepo: options.maxPerRepo });
          if (options.json) printJson(toPublic(result));
          else {
            for (const entry of result.removed) process.stdout.write(`${options.dryRun ? 'would remove' : 'removed'} ${entry.name}: ${entry.candidate}; ${entry.why}\n`);
            for (const entry of result.kept) process.stdout.write(`kept    ${entry.name}: ${entry.candidate}; ${entry.why}\n`);
            process.stdout.write(`${result.removed.length} removed, ${result.kept.length} kept, ${result.untouched} active and within the cap.\n`);
          }
          return EXIT.ok;
        }),
      ),
    );

  const budget = program
    .command('budget')
    .description("each agent's spend in the budget window against its limits, and which agents are held at their budget")
    .option('--json', 'print the read_agent_state "budget" fields per agent')
    .addHelpText('after', examples('ringmaster budget', 'ringmaster budget approve fix-login --usd 5', 'ringmaster budget approve fix-login --tokens 200000'))
    .action((options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const look = budgetLook(context);
          const rows = context.store.listAgents().map((record) => ({ name: record.name, ...budgetReport(context, record, look) }));
          if (options.json) printJson(toPublic(rows));
          else
            process.stdout.write(
              tableOr(rows, 'No agents.', ['NAME', 'BUDGET', 'SPENT', 'LIMIT', 'WHY'], (row) => [
                row.name,
                row.state,
                `${row.spentUsd === null ? '?' : `$${row.spentUsd.toFixed(2)}`} / ${row.spentTokens ?? '?'} tok`,
                `${row.limitUsd === null ? '-' : `$${row.limitUsd}`} / ${row.limitTokens ?? '-'} tok`,
                row.reason,
              ]),
            );
          return EXIT.ok;
        }),
      ),
    );

  budget
    .command('approve')
    .description('allow an agent to spend more than its budget, and let go of its hold (a human decision: the audit log records it)')
    .argument('<name>', 'the agent')
    .option('--usd <dollars>', 'how many more dollars', parseAmount('--usd'))
    .option('--tokens <n>', 'how many more tokens', parseAmount('--tokens'))
    .option('--json', 'print its budget afterwards')
    .addHelpText('after', examples('ringmaster budget approve fix-login --usd 5', 'ringmaster budget approve fix-login --tokens 200000'))
    .action((name: string, options: { usd?: number; tokens?: number; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const report = approveBudget(context, name, { usd: options.usd, tokens: options.tokens });
          if (options.json) printJson(toPublic(report));
          else process.stdout.write(`${name} may spend more: budget ${report.state} (${report.reason}). Send it a prompt to go on.\n`);
          return EXIT.ok;
        }),
      ),
    );

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

function parseAmount(option: string): (value: string) => number {
  return (value) => {
    const amount = Number(value);
    if (!Number.isFinite(amount) || amount <= 0) throw new UserInputError(`${option} must be a positive number, got ${JSON.stringify(value)}.`);
    return amount;
  };
}
