import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { findExecutable, isProcessAlive } from '../adapters/process.js';
import { loadConfig } from '../config.js';
import { CODE_MS, createLoginCode, dashboardDir } from '../dashboard/index.js';
import { NotFoundError } from '../errors.js';
import { EXIT, printJson } from './output.js';
import { examples, type Run } from './program.js';

/** dashboard: a one-time login link to the running `serve --http`'s browser dashboard. */
export function registerDashboardCommand(program: Command, run: Run): void {
  program
    .command('dashboard')
    .description('open the browser dashboard of the running serve --http with a one-time login link (no token in any URL)')
    .option('--no-open', 'only print the link')
    .option('--json', 'print {"url": …} as JSON')
    .addHelpText('after', `\nThe link logs this browser in once, within ${CODE_MS / 60_000} minutes, then redirects to a URL without the code.\n${examples('ringmaster serve --http &   # then', 'ringmaster dashboard', 'ringmaster dashboard --no-open')}`)
    .action((options: { open: boolean; json?: boolean }) =>
      run(async () => {
        const home = loadConfig().home;
        let server: { url: string; pid: number };
        try {
          server = JSON.parse(readFileSync(join(dashboardDir(home), 'server.json'), 'utf8')) as { url: string; pid: number };
        } catch {
          server = { url: '', pid: 0 };
        }
        if (!server.url || !isProcessAlive(server.pid)) {
          throw new NotFoundError(`No dashboard is running for RINGMASTER_HOME ${home}. Start one with: ringmaster serve --http   (then run ringmaster dashboard again)`);
        }
        const url = `${server.url.replace(/\/$/, '')}/login?code=${createLoginCode(home)}`;
        const opened = options.open ? openBrowser(url) : false;
        if (options.json) printJson({ url, opened });
        else process.stdout.write(`${opened ? 'Opened' : 'Open'} ${url}\n(single use, valid ${CODE_MS / 60_000} minutes)\n`);
        return EXIT.ok;
      }),
    );
}

/** Starts the desktop's browser when there is one (macOS open, xdg-open under a display); false otherwise. */
function openBrowser(url: string): boolean {
  const opener = process.platform === 'darwin' ? 'open' : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? 'xdg-open' : undefined;
  if (!opener || !findExecutable(opener, process.env.PATH)) return false;
  try {
    const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
