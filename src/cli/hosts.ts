import type { Command } from 'commander';
import { toPublic } from '../core/index.js';
import { doctorHost, hostsHealth, runHostOp, serveHostOps } from '../hosts/index.js';
import { withContext } from './context.js';
import { EXIT, paint, printJson, tableOr } from './output.js';
import { examples, type Run } from './program.js';

/** hosts (the remote machines and their health), and _host-exec (the host side of a remote agent, run by the server over ssh). */
export function registerHostCommands(program: Command, run: Run): void {
  program
    .command('hosts')
    .description('the remote hosts in config.json with their health: reachable over ssh, round trip, live agents against the limit')
    .option('--json', 'print JSON (snake_case)')
    .addHelpText('after', examples('ringmaster hosts', 'ringmaster doctor --host box'))
    .action((options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const hosts = await hostsHealth(context);
          if (options.json) printJson(toPublic(hosts));
          else
            process.stdout.write(
              tableOr(hosts, 'No hosts. Add one to config.json: "hosts": {"box": {"destination": "me@box"}}', ['HOST', 'DESTINATION', 'HEALTH', 'AGENTS', 'PROBLEM'], (host) => [
                host.name,
                host.destination,
                host.problem === null ? paint(`ok ${host.latencyMs} ms`, 'green') : paint(host.reachable ? 'broken' : 'unreachable', 'red'),
                `${host.liveAgents}/${host.maxAgents}`,
                host.problem ?? '-',
              ]),
            );
          return hosts.every((host) => host.problem === null) ? EXIT.ok : EXIT.failed;
        }),
      ),
    );

  program
    .command('_host-exec', { hidden: true })
    .description('the host side of a remote agent: one JSON request on stdin, one JSON answer on stdout (the server runs this over ssh)')
    .argument('<op>', 'spawn, state, list, send, cleanup, requests, decide or load')
    .action((op: string) =>
      run(() =>
        withContext(async (context) => {
          if (op === 'serve') {
            await serveHostOps(context, process.stdin, (line) => process.stdout.write(line));
            return EXIT.ok;
          }
          const { request, callerGone } = await readRequestLine();
          process.stdout.write(`${await runHostOp(context, op, request, callerGone)}\n`);
          return EXIT.ok;
        }),
      ),
    );
}

/** `ringmaster doctor --host NAME`. */
export async function printHostDoctor(name: string, json: boolean | undefined): Promise<number> {
  return withContext(async (context) => {
    const checks = await doctorHost(context, name);
    if (json) printJson(toPublic(checks));
    else
      for (const check of checks) {
        process.stdout.write(`${check.ok ? paint('ok  ', 'green') : paint('FAIL', 'red')} ${check.name.padEnd(13)} ${check.detail}\n`);
        if (!check.ok && check.fix) process.stdout.write(`     fix: ${check.fix}\n`);
      }
    return checks.every((check) => check.ok) ? EXIT.ok : EXIT.failed;
  });
}

/**
 * The request is the first line on stdin; the server keeps stdin open while it
 * listens, so its end means the caller is gone (cancelled, or the connection
 * dropped) and a long wait can stop.
 */
function readRequestLine(): Promise<{ request: string; callerGone: AbortSignal }> {
  const gone = new AbortController();
  return new Promise((resolve) => {
    let buffered = '';
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      resolve({ request: buffered.split('\n')[0] ?? '', callerGone: gone.signal });
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.includes('\n')) answer();
    });
    process.stdin.on('end', () => {
      answer();
      gone.abort();
    });
    process.stdin.on('error', () => {
      answer();
      gone.abort();
    });
  });
}
