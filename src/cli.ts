#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { listAgents, getAgent, type AgentSummary, cleanupAgent, AGENT_KINDS, spawnAgent } from './fleet/index.js';
import { decide, listAudit, listRequests } from './gate/index.js';
import { reviewCheck } from './forge/index.js';
import { agentStatuses, readAgentState, type StatusReport, livePanes } from './state/index.js';
import { closeStore, contextStorePath, createContext, tmuxFor, type Context, toPublic } from './core/index.js';
import { runDoctor, installIntoClaude } from './setup/index.js';
import { runEgressDaemon } from './gate/egress/daemon.js';
import { loadConfig } from './config.js';
import { describeError, storeFault, UserInputError } from './errors.js';
import { serveHttp } from './server/http.js';
import { serveStdio } from './server/stdio.js';
import type { AgentKind } from './store/store.js';

const USAGE = `ringmaster: run a fleet of coding agents, each in its own git worktree and tmux session.

Usage:
  ringmaster serve [--http] [--port N]     MCP server on stdio, or Streamable HTTP on 127.0.0.1
  ringmaster install                       register with Claude Code (claude mcp add, user scope)
  ringmaster status [--json]               table of agents and whether they are alive
  ringmaster state [name] [--verbose]      full state as JSON: status, transcript summary, git summary
  ringmaster attach <name>                 attach to an agent's tmux session
  ringmaster spawn --repo DIR --task TEXT [--name N] [--base REF] [--agent KIND]
  ringmaster cleanup <name> [--force] [--delete-branch]
  ringmaster permissions [--all]           gated actions waiting for a human (all: with decided ones)
  ringmaster approve <id> [--for 30m]      approve one request, or that agent's category for a while
  ringmaster deny <id> [--reason TEXT]     deny a request; the agent sees the reason
  ringmaster audit [--agent NAME]          every gated decision: who, when, what, outcome
  ringmaster review-check [--watch] [--dry-run]   forward new PR review comments and failing checks to their agents
  ringmaster egress                        run the egress gate (children's network) in the foreground; spawn starts it when needed
  ringmaster doctor [--fix] [--backup]     check git, tmux, claude, the store and the registration;
                                           --fix moves a damaged store aside, --backup copies a healthy one

Environment: RINGMASTER_HOME (default ~/.ringmaster), RINGMASTER_TMUX_SOCKET, RINGMASTER_CLAUDE,
RINGMASTER_CHILD_PERMISSION_MODE, RINGMASTER_TOKEN (HTTP bearer token), RINGMASTER_PORT,
RINGMASTER_STORE_BUSY_TIMEOUT_MS (how long a write waits for another process's lock, default 5000).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'install':
      return withContext(async (context) => {
        const result = await installIntoClaude(context);
        process.stdout.write(
          `${result.replacedExisting ? 'Replaced the existing' : 'Added the'} user-scope registration:\n  ${result.command.join(' ')}\n${result.output ? `${result.output}\n` : ''}` +
            `Claude Code sessions started from now on have the ringmaster tools. Check with: claude mcp list\n`,
        );
        return 0;
      });
    case 'status':
      return withContext(async (context) => {
        const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
        const records = context.store.listAgents();
        const paneOf = await livePanes(context, records);
        const agents = await listAgents(context, records, paneOf);
        const statuses = await agentStatuses(context, records, paneOf);
        const rows = agents.map((agent) => ({ ...agent, status: statuses.get(agent.id) }));
        process.stdout.write(values.json ? `${JSON.stringify(toPublic(rows), null, 2)}\n` : statusTable(rows));
        return 0;
      });
    case 'state':
      return withContext(async (context) => {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { verbose: { type: 'boolean' } } });
        const reports = await readAgentState(context, { name: positionals[0], verbose: values.verbose });
        process.stdout.write(`${JSON.stringify(toPublic(reports), null, 2)}\n`);
        return 0;
      });
    case 'attach':
      return withContext(async (context) => {
        const name = rest[0];
        if (!name) throw new UserInputError('Usage: ringmaster attach <name>. See the names with ringmaster status.');
        const agent = await getAgent(context, name);
        if (!agent.sessionAlive) throw new UserInputError(`Agent "${name}" has no tmux session any more. Clean it up with ringmaster cleanup ${name}.`);
        const tmux = tmuxFor(context, agent.tmuxSocket);
        const socketArgs = agent.tmuxSocket ? (agent.tmuxSocket.includes('/') ? ['-S', agent.tmuxSocket] : ['-L', agent.tmuxSocket]) : [];
        // Inside tmux already, switch this client instead of nesting a second one.
        const verb = process.env.TMUX && !agent.tmuxSocket ? ['switch-client', '-t', agent.tmuxSession] : ['attach', '-t', agent.tmuxSession];
        const result = spawnSync(tmux.command, [...socketArgs, ...verb], { stdio: 'inherit' });
        return result.status ?? 1;
      });
    case 'spawn':
      return withContext(async (context) => {
        const { values } = parseArgs({
          args: rest,
          options: {
            repo: { type: 'string' },
            task: { type: 'string' },
            name: { type: 'string' },
            base: { type: 'string' },
            branch: { type: 'string' },
            agent: { type: 'string' },
            model: { type: 'string' },
          },
        });
        if (!values.repo || !values.task) throw new UserInputError('Usage: ringmaster spawn --repo DIR --task TEXT [--name N] [--base REF] [--agent KIND]');
        if (values.agent && !(AGENT_KINDS as readonly string[]).includes(values.agent)) {
          throw new UserInputError(`--agent must be one of ${AGENT_KINDS.join(', ')}.`);
        }
        const result = await spawnAgent(
          context,
          {
            repo: values.repo,
            task: values.task,
            name: values.name,
            base: values.base,
            branch: values.branch,
            agent: values.agent as AgentKind | undefined,
            model: values.model,
          },
          (message) => process.stderr.write(`${message}\n`),
        );
        process.stdout.write(`Spawned ${result.name} (${result.id}) on ${result.branch} in ${result.worktreePath}\nAttach: ${result.attachCommand}\n`);
        for (const note of result.notes) process.stdout.write(`Note: ${note}\n`);
        return 0;
      });
    case 'cleanup':
      return withContext(async (context) => {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { force: { type: 'boolean' }, 'delete-branch': { type: 'boolean' } },
        });
        if (!positionals[0]) throw new UserInputError('Usage: ringmaster cleanup <name> [--force] [--delete-branch]');
        const result = await cleanupAgent(context, { name: positionals[0], force: values.force, deleteBranch: values['delete-branch'] });
        if (result.alreadyRemoved) process.stdout.write(`${result.name} was already cleaned up${result.removed.length ? '' : '; nothing to do'}.\n`);
        for (const item of result.removed) process.stdout.write(`removed: ${item}\n`);
        for (const item of result.kept) process.stdout.write(`kept:    ${item}\n`);
        return 0;
      });
    case 'permissions':
      return withContext(async (context) => {
        const { values } = parseArgs({ args: rest, options: { all: { type: 'boolean' }, json: { type: 'boolean' } } });
        const requests = listRequests(context.store, { pendingOnly: !values.all });
        if (values.json) process.stdout.write(`${JSON.stringify(toPublic(requests), null, 2)}\n`);
        else if (requests.length === 0) process.stdout.write(values.all ? 'No permission requests yet.\n' : 'Nothing waits for approval.\n');
        else for (const request of requests) process.stdout.write(`${request.id}  ${request.state.padEnd(8)} ${(request.agentName ?? '?').padEnd(16)} ${request.category.padEnd(14)} ${request.summary.split('\n')[0]!.slice(0, 100)}\n    why: ${request.reason}\n`);
        return 0;
      });
    case 'approve':
    case 'deny':
      return withContext(async (context) => {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { for: { type: 'string' }, reason: { type: 'string' } } });
        const id = positionals[0];
        if (!id) throw new UserInputError(`Usage: ringmaster ${command} <request id>${command === 'approve' ? ' [--for 30m]' : ' [--reason …]'}. See the ids with ringmaster permissions.`);
        const minutes = values.for === undefined ? undefined : parseMinutes(values.for);
        const request = decide(context.store, id, { approve: command === 'approve', actor: `human (${process.env.USER ?? 'cli'})`, note: values.reason, minutes });
        process.stdout.write(`${request.id} ${request.state}${minutes ? ` for ${minutes} min (this agent, category ${request.category})` : ''}: ${request.summary.split('\n')[0]!.slice(0, 100)}\n`);
        return 0;
      });
    case 'audit':
      return withContext(async (context) => {
        const { values } = parseArgs({ args: rest, options: { agent: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } } });
        const entries = listAudit(context.store, { agentName: values.agent, limit: values.limit ? Number(values.limit) : 100 });
        if (values.json) process.stdout.write(`${JSON.stringify(toPublic(entries), null, 2)}\n`);
        else for (const entry of entries) process.stdout.write(`${new Date(entry.at).toISOString()}  ${(entry.agentName ?? '-').padEnd(16)} ${entry.category.padEnd(14)} ${entry.outcome.padEnd(18)} ${entry.actor.padEnd(18)} ${(entry.summary ?? '').split('\n')[0]!.slice(0, 80)}\n`);
        return 0;
      });
    case 'review-check':
      return withContext(async (context) => {
        const { values } = parseArgs({ args: rest, options: { watch: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, interval: { type: 'string' } } });
        const intervalSec = values.interval ? Number(values.interval) : 60;
        if (!Number.isFinite(intervalSec) || intervalSec < 5) throw new UserInputError('--interval takes seconds, at least 5.');
        for (;;) {
          const results = await reviewCheck(context, { dryRun: values['dry-run'] });
          for (const result of results) {
            if (result.note === 'nothing new') continue;
            process.stdout.write(`${result.agent} #${result.pr.number}: ${result.newComments.length} new comment(s), failing: ${result.newFailingChecks.join(', ') || 'none'}; ${result.sent ? `sent (delivered: ${result.delivered})` : result.note}\n`);
            if (values['dry-run'] && result.prompt) process.stdout.write(`${result.prompt.replace(/^/gm, '    ')}\n`);
          }
          if (!values.watch) return 0;
          await new Promise((resolve) => setTimeout(resolve, intervalSec * 1000));
        }
      });
    case 'egress':
      // The egress gate's long-lived process; spawn starts it on its own when it is not running.
      await runEgressDaemon(loadConfig());
      return new Promise<number>(() => {});
    case 'doctor':
      return withContext(async (context) => {
        const { values } = parseArgs({ args: rest, options: { fix: { type: 'boolean' }, backup: { type: 'boolean' } } });
        const checks = await runDoctor(context, { fix: values.fix, backup: values.backup });
        for (const check of checks) {
          process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name.padEnd(13)} ${check.detail}\n`);
          if (!check.ok && check.fix) process.stdout.write(`     fix: ${check.fix}\n`);
        }
        return checks.every((check) => check.ok) ? 0 : 1;
      });
    default:
      process.stderr.write(`ringmaster: unknown command "${command}".\n\n${USAGE}\n`);
      return 2;
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { http: { type: 'boolean' }, port: { type: 'string' } } });
  // The store opens on the first call that needs it: a broken store still lets the server answer and explain.
  const context = createContext();
  if (!values.http) {
    await serveStdio(context);
    closeStore(context);
    return 0;
  }
  const port = values.port === undefined ? context.config.http.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserInputError(`--port ${values.port} is not a port number (0-65535).`);
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
  closeStore(context);
  return 0;
}

async function withContext(action: (context: Context) => Promise<number>): Promise<number> {
  const context = createContext();
  try {
    return await action(context);
  } catch (error) {
    // A raw SQLite fault becomes the store's one clear error, naming the file and the fix.
    throw storeFault(error, contextStorePath(context), context.config.store.busyTimeoutMs) ?? error;
  } finally {
    closeStore(context);
  }
}

function statusTable(agents: Array<AgentSummary & { status?: StatusReport }>): string {
  if (agents.length === 0) return 'No agents. Start one with spawn_agent from Claude Code, or ringmaster spawn.\n';
  const rows = agents.map((agent) => [
    agent.name,
    agent.agent,
    agent.status ? `${agent.status.state}${agent.status.exitStatus === null ? '' : ` (${agent.status.exitStatus})`} ${formatDuration(agent.status.secondsInState)}` : 'unknown',
    agent.branch,
    agent.worktreePath + (agent.worktreeExists ? '' : ' (missing)'),
    agent.tmuxSession,
  ]);
  const header = ['NAME', 'AGENT', 'STATUS', 'BRANCH', 'WORKTREE', 'SESSION'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function parseMinutes(text: string): number {
  const match = /^(\d+)\s*(m|min|h)?$/.exec(text.trim());
  if (!match) throw new UserInputError(`--for ${text}: give minutes or hours, e.g. 30m or 2h.`);
  return Number(match[1]) * (match[2] === 'h' ? 60 : 1);
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`ringmaster: ${describeError(error)}\n`);
    process.exit(1);
  },
);
