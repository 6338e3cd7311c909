import type { Command } from 'commander';
import { listAudit } from '../gate/index.js';
import { decideAnywhere, listRequestsAnywhere } from '../hosts/index.js';
import { toPublic } from '../core/index.js';
import { permissionRequestOutput } from '../../tools/request_permission.js';
import { withContext } from './context.js';
import { EXIT, firstLine, paint, parseMinutes, parseWholeNumber, printJson, tableOr } from './output.js';
import { examples, type Run } from './program.js';

/** permissions, approve, deny, audit: the human's side of the gate. */
export function registerGateCommands(program: Command, run: Run): void {
  program
    .command('permissions')
    .description('gated actions waiting for a human (with --all, decided ones too)')
    .option('--all', 'include approved, denied and expired requests')
    .option('--limit <count>', 'at most this many', parseWholeNumber('--limit', 1, 10_000), 100)
    .option('--json', 'print JSON in list_permission_requests fields')
    .addHelpText('after', examples('ringmaster permissions', 'ringmaster approve pr_1a2b3c --for 30m', 'ringmaster deny pr_1a2b3c --reason "not on prod"'))
    .action((options: { all?: boolean; limit: number; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const requests = await listRequestsAnywhere(context, { pendingOnly: !options.all, limit: options.limit });
          if (options.json) printJson(requests.map(permissionRequestOutput));
          else
            process.stdout.write(
              tableOr(requests, options.all ? 'No permission requests yet.' : 'Nothing waits for approval.', ['ID', 'STATE', 'AGENT', 'CATEGORY', 'ACTION', 'WHY'], (request) => [
                request.id,
                paint(request.state, request.state === 'pending' ? 'yellow' : request.state === 'approved' ? 'green' : 'red'),
                request.agentName ?? '?',
                request.category,
                firstLine(request.summary, 80),
                firstLine(request.state === 'pending' ? request.reason : (request.note ?? request.reason), 80),
              ]),
            );
          return EXIT.ok;
        }),
      ),
    );

  for (const verb of ['approve', 'deny'] as const) {
    const command = program
      .command(verb)
      .description(verb === 'approve' ? 'let a held action run (with --for, that agent may do that category for a while)' : 'refuse a held action; the agent sees the reason')
      .argument('<id>', 'the request id (see ringmaster permissions)');
    if (verb === 'approve') {
      command
        .option('--for <duration>', 'grant the category (or, for an unknown host, that host) to this agent for 30m, 2h, …')
        .option('--agent-always', 'an unknown host only: allow it for this agent from now on')
        .option('--always', 'an unknown host only: allow it for every agent from now on');
    }
    command
      .option(verb === 'approve' ? '--note <text>' : '--reason <text>', verb === 'approve' ? 'a note for the audit log' : 'why; the agent is told')
      .option('--json', 'print the request as JSON (list_permission_requests fields)')
      .addHelpText(
        'after',
        verb === 'approve'
          ? examples('ringmaster approve pr_1a2b3c', 'ringmaster approve pr_1a2b3c --for 2h', 'ringmaster approve pr_1a2b3c --always   # a connection to a host no policy covers')
          : examples('ringmaster deny pr_1a2b3c --reason "use the staging account"'),
      )
      .action((id: string, options: { for?: string; note?: string; reason?: string; json?: boolean; always?: boolean; agentAlways?: boolean }) =>
        run(() =>
          withContext(async (context) => {
            const minutes = options.for === undefined ? undefined : parseMinutes(options.for);
            const scope = options.always ? 'always' : options.agentAlways ? 'agent' : 'once';
            const request = await decideAnywhere(context, id, { approve: verb === 'approve', actor: `human (${process.env.USER ?? 'cli'})`, note: options.reason ?? options.note, minutes, scope });
            if (options.json) printJson(permissionRequestOutput(request));
            else process.stdout.write(`${request.id} ${request.state}${minutes ? ` for ${minutes} min (this agent, category ${request.category})` : ''}: ${firstLine(request.summary)}\n`);
            return EXIT.ok;
          }),
        ),
      );
  }

  program
    .command('audit')
    .description('every gated decision, newest first: when, agent, category, outcome, who, what, and why')
    .option('--agent <name>', 'only this agent')
    .option('--limit <count>', 'at most this many', parseWholeNumber('--limit', 1, 100_000), 100)
    .option('--json', 'print JSON (snake_case)')
    .addHelpText('after', examples('ringmaster audit', 'ringmaster audit --agent fix-login --json'))
    .action((options: { agent?: string; limit: number; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const entries = listAudit(context.store, { agentName: options.agent, limit: options.limit });
          if (options.json) printJson(toPublic(entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() }))));
          else
            process.stdout.write(
              tableOr(entries, 'No gated decisions yet.', ['WHEN', 'AGENT', 'CATEGORY', 'OUTCOME', 'BY', 'ACTION', 'REASON'], (entry) => [
                new Date(entry.at).toISOString().replace('T', ' ').slice(0, 19),
                entry.agentName ?? '-',
                entry.category,
                paint(entry.outcome, /denied|expired/.test(entry.outcome) ? 'red' : /approved|granted|allowed/.test(entry.outcome) ? 'green' : undefined),
                entry.actor,
                firstLine(entry.summary, 60),
                firstLine(entry.note, 80) || '-',
              ]),
            );
          return EXIT.ok;
        }),
      ),
    );
}
