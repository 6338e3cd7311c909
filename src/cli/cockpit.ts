import type { Command } from 'commander';
import { watchFleet } from '../cockpit/index.js';
import { Notifier } from '../notify/index.js';
import { Monitor } from '../fleet/index.js';
import { UserInputError } from '../errors.js';
import { withContext } from './context.js';
import { colourEnabled, EXIT, parseWholeNumber, printJson } from './output.js';
import { examples, type Run } from './program.js';

/** watch and notify: the human's live view, and notifications without a Claude session. */
export function registerCockpitCommands(program: Command, run: Run): void {
  program
    .command('watch')
    .description('live full-screen view of the fleet: status, reason and age, cost, last message, pending approvals')
    .option('--interval <ms>', 'how often to look for changes', parseWholeNumber('--interval', 200, 60_000), 1000)
    .option('--no-notify', 'do not send notifications from this view')
    .addHelpText(
      'after',
      `\nKeys: ↑/↓ or j/k select an agent, a approve its pending request, d deny it (type a reason, enter),\nenter attach (inside tmux: switch to it), p peek at its screen, esc close, q quit.\n${examples('ringmaster watch', 'NO_COLOR=1 ringmaster watch --interval 500')}`,
    )
    .action((options: { interval: number; notify: boolean }) =>
      run(() =>
        withContext(async (context) => {
          if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UserInputError('watch needs a terminal. For scripts use ringmaster ls --json or ringmaster wait.');
          await watchFleet(context, { intervalMs: options.interval, colour: colourEnabled(), notify: options.notify });
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('notify')
    .description('send notifications (desktop, tmux, webhook, ntfy) while it runs; --test sends one now')
    .option('--test', 'send one test notification on every configured channel and report each')
    .option('--json', 'with --test: print the report as JSON')
    .addHelpText(
      'after',
      `\nChannels come from $RINGMASTER_HOME/config.json "notifications" {webhookUrl, ntfyUrl, desktop, tmux, minIntervalSec, stallAfterSec}\nor RINGMASTER_WEBHOOK_URL / RINGMASTER_NTFY_URL. MCP servers and ringmaster watch notify too; each notice goes out once.\n${examples('ringmaster notify --test', 'RINGMASTER_NTFY_URL=https://ntfy.sh/my-fleet ringmaster notify')}`,
    )
    .action((options: { test?: boolean; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const notifier = new Notifier(context, (message) => process.stderr.write(`ringmaster: ${message}\n`));
          if (options.test) {
            const report = await notifier.send(
              { agent: 'ringmaster', agentId: 'test', kind: 'test', state: 'test', title: 'ringmaster test notification', message: 'Notifications reach you here.', since: new Date().toISOString(), urgent: false },
              { force: true },
            );
            if (options.json) printJson({ sent: report.sent, failed: report.failed, skipped: report.skipped ?? null });
            else {
              if (report.skipped === 'no channels') process.stdout.write('No notification channels: set notifications in config.json or RINGMASTER_WEBHOOK_URL / RINGMASTER_NTFY_URL, or install notify-send.\n');
              for (const channel of report.sent) process.stdout.write(`sent:   ${channel}\n`);
              for (const failure of report.failed) process.stdout.write(`failed: ${failure.channel}: ${failure.error}\n`);
            }
            return report.failed.length || report.skipped ? EXIT.failed : EXIT.ok;
          }
          const monitor = new Monitor(context);
          notifier.attach(monitor);
          monitor.start();
          process.stderr.write(`ringmaster: notifying through ${notifier.channelNames.join(', ') || 'no channels'}; Ctrl-C to stop.\n`);
          // The monitor's timer does not hold the process open; this does, until a signal.
          const keepAlive = setInterval(() => {}, 1 << 30);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          clearInterval(keepAlive);
          monitor.stop();
          return EXIT.ok;
        }),
      ),
    );
}
