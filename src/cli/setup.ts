import type { Command } from 'commander';
import { createContext, toPublic } from '../core/index.js';
import { INSTALL_SCOPES, installIntoClaude, runDoctor, type InstallScope } from '../setup/index.js';
import { UserInputError } from '../errors.js';
import { withContext } from './context.js';
import { printHostDoctor } from './hosts.js';
import { EXIT, firstLine, paint, parseWholeNumber, printJson, table } from './output.js';
import { examples, type Run } from './program.js';

/** serve, install, doctor, prs, review-check: ringmaster's own plumbing and its links to GitHub. */
export function registerSetupCommands(program: Command, run: Run): void {
  program
    .command('serve')
    .description('the MCP server: stdio (what Claude Code starts), or Streamable HTTP on 127.0.0.1 with a bearer token')
    .option('--http', 'serve Streamable HTTP instead of stdio')
    .option('--port <port>', 'HTTP port (default 7411, RINGMASTER_PORT; 0 picks a free one)', parseWholeNumber('--port', 0, 65_535))
    .addHelpText('after', examples('ringmaster serve', 'RINGMASTER_TOKEN=secret ringmaster serve --http --port 7411'))
    .action((options: { http?: boolean; port?: number }) => run(() => serve(options)));

  program
    .command('install')
    .description('register ringmaster with Claude Code (claude mcp add), so Claude sessions get its tools')
    .option('--scope <scope>', `${INSTALL_SCOPES.join(', ')}: all your projects, this folder's .mcp.json (shared), or this folder for you only`, 'user')
    .addHelpText('after', examples('ringmaster install', 'npx ringmaster install --scope project', 'RINGMASTER_CLAUDE=/opt/claude/bin/claude ringmaster install'))
    .action((options: { scope: string }) =>
      run(() =>
        withContext(async (context) => {
          if (!(INSTALL_SCOPES as readonly string[]).includes(options.scope)) throw new UserInputError(`--scope must be one of ${INSTALL_SCOPES.join(', ')}.`);
          const result = await installIntoClaude(context, { scope: options.scope as InstallScope, cwd: process.cwd() });
          const claude = result.claudeOnPath ? 'claude' : result.claude;
          process.stdout.write(
            `${result.replacedExisting ? 'Replaced the existing' : 'Added the'} ${result.scope}-scope registration:\n  ${result.command.join(' ')}\n${result.output ? `${result.output}\n` : ''}` +
              `\nNext steps:\n` +
              `  ${claude} mcp list                 # shows ringmaster: … - ✔ Connected\n` +
              `  ringmaster doctor                  # checks tmux, the hooks, onboarding and the store\n` +
              `  ${claude}                          # then ask: "spawn an agent in ~/code/app to fix the flaky login test"\n` +
              (result.claudeOnPath ? '' : `claude is not on your PATH; the commands above use its full path. Add ${result.claude.replace(/\/[^/]+$/, '')} to PATH to type just "claude".\n`),
          );
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('doctor')
    .description('check git, tmux, the hooks, claude, onboarding, the store and the registration; each failure says how to fix it')
    .option('--fix', 'repair what is safe to repair: the hooks\' run bits, a damaged store moved aside (state.db.damaged-<time>) for a fresh one, a stopped egress gate started')
    .option('--backup', 'write a consistent copy of a healthy store to state.db.backup-<time>')
    .option('--json', 'print JSON')
    .option('--host <name>', 'check a remote host from config.json instead: ssh, git, tmux, node, the sandbox tools, ringmaster and the agent CLI there')
    .addHelpText('after', examples('ringmaster doctor', 'ringmaster doctor --fix', 'ringmaster doctor --backup', 'ringmaster doctor --host box'))
    .action((options: { fix?: boolean; backup?: boolean; json?: boolean; host?: string }) =>
      run(() =>
        options.host ? printHostDoctor(options.host, options.json) : withContext(async (context) => {
          const checks = await runDoctor(context, { fix: options.fix, backup: options.backup, cwd: process.cwd() });
          if (options.json) printJson(toPublic(checks));
          else
            for (const check of checks) {
              process.stdout.write(`${check.ok ? paint('ok  ', 'green') : paint('FAIL', 'red')} ${check.name.padEnd(13)} ${check.detail}\n`);
              if (check.fixed) process.stdout.write(`     fixed: ${check.fixed}\n`);
              if (!check.ok && check.fix) process.stdout.write(`     fix: ${check.fix}\n`);
            }
          return checks.every((check) => check.ok) ? EXIT.ok : EXIT.failed;
        }),
      ),
    );

  program
    .command('egress')
    .description("run the egress gate (every sandboxed child's network) in the foreground; spawn starts it in the background when it is not running")
    .addHelpText('after', examples('ringmaster egress', 'tail -f ~/.ringmaster/egress/egress.log'))
    .action(() =>
      run(async () => {
        const { runEgressDaemon } = await import('../gate/egress/daemon.js');
        const { loadConfig } = await import('../config.js');
        await runEgressDaemon(loadConfig());
        return new Promise<number>(() => {});
      }),
    );

  program
    .command('prs')
    .description("each agent's pull request: state, checks, review decision, unresolved threads (what list_prs does)")
    .argument('[names...]', 'agents; default all')
    .option('--json', 'print the list_prs result as JSON')
    .addHelpText('after', examples('ringmaster prs', 'GITHUB_TOKEN=… ringmaster prs fix-login --json'))
    .action((names: string[], options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          // The MCP server, GitHub and Linear clients load only for the commands that use them: every other command starts faster.
          const { listPrsAnywhere } = await import('../hosts/index.js');
          if (options.json) {
            const { listPrsTool } = await import('../../tools/list_prs.js');
            // Exactly list_prs's result, field for field.
            printJson(listPrsTool.outputSchema.parse(await listPrsTool.handle(context, { names: names.length ? names : undefined }, { progress: () => {}, signal: new AbortController().signal })));
            return EXIT.ok;
          }
          const listing = await listPrsAnywhere(context, { names: names.length ? names : undefined });
          if (listing.agents.length === 0) process.stdout.write('No agents.\n');
          else {
            const rows = listing.agents.map((entry) => [
              entry.agent,
              entry.pr ? `#${entry.pr.number}` : '-',
              entry.pr ? `${entry.pr.state}${entry.pr.draft ? ' (draft)' : ''}` : entry.error ? paint('error', 'red') : 'no PR',
              entry.pr ? paint(entry.pr.checks.state ?? '-', entry.pr.checks.failing.length ? 'red' : undefined) + (entry.pr.checks.failing.length ? ` (${entry.pr.checks.failing.join(', ')})` : '') : '-',
              entry.pr?.reviewDecision ?? '-',
              entry.pr ? String(entry.pr.unresolvedThreads) : '-',
              entry.pr?.url ?? firstLine(entry.error, 80) ?? '',
            ]);
            process.stdout.write(table(['AGENT', 'PR', 'STATE', 'CHECKS', 'REVIEW', 'THREADS', 'URL'], rows));
          }
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('review-check')
    .description('forward new PR review comments and failing checks to their agents, once each')
    .option('--watch', 'keep checking')
    .option('--interval <sec>', 'seconds between checks with --watch', parseWholeNumber('--interval', 5, 86_400), 60)
    .option('--dry-run', 'show the prompts without sending')
    .addHelpText('after', examples('ringmaster review-check --dry-run', 'ringmaster review-check --watch --interval 120'))
    .action((options: { watch?: boolean; interval: number; dryRun?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const { reviewCheck } = await import('../forge/index.js');
          for (;;) {
            const results = await reviewCheck(context, { dryRun: options.dryRun });
            for (const result of results) {
              if (result.note === 'nothing new') continue;
              process.stdout.write(`${result.agent} #${result.pr.number}: ${result.newComments.length} new comment(s), failing: ${result.newFailingChecks.join(', ') || 'none'}; ${result.sent ? `sent (delivered: ${result.delivered})` : result.note}\n`);
              if (options.dryRun && result.prompt) process.stdout.write(`${result.prompt.replace(/^/gm, '    ')}\n`);
            }
            if (!options.watch) return EXIT.ok;
            await new Promise((resolve) => setTimeout(resolve, options.interval * 1000));
          }
        }),
      ),
    );
}

async function serve(options: { http?: boolean; port?: number }): Promise<number> {
  // Only the transport asked for is loaded: the HTTP one (hono) stays out of a stdio server's memory.
  if (!options.http) return (await import('../server/stdio.js')).runStdioServer();
  const context = createContext();
  const { serveHttp } = await import('../server/http.js');
  const port = options.port ?? context.config.http.port;
  const handle = await serveHttp(context, { port, token: process.env.RINGMASTER_TOKEN });
  // Machine-readable first line for scripts; the token line for humans.
  process.stdout.write(`${JSON.stringify({ url: handle.url, token: process.env.RINGMASTER_TOKEN ? '(from RINGMASTER_TOKEN)' : handle.token })}\n`);
  process.stderr.write(`ringmaster: MCP over Streamable HTTP at ${handle.url}\nSend the header: Authorization: Bearer ${process.env.RINGMASTER_TOKEN ? '$RINGMASTER_TOKEN' : handle.token}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await handle.close();
  context.store.close();
  return EXIT.ok;
}
