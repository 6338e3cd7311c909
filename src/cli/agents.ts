import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AGENT_KINDS, getAgent, listAgents, listQueue, peekAgent, restartAgent, stopAgent, type AgentSummary } from '../fleet/index.js';
import { queueTable } from './fleet.js';
import { type AgentOverlap, agentStatuses, fleetOverlaps, livePanes, type StatusReport } from '../state/index.js';
import { tmuxFor, toPublic } from '../core/index.js';
import { UserInputError } from '../errors.js';
import type { AgentKind } from '../store/store.js';
import { withContext } from './context.js';
import { cleanupAnywhere, findRemoteAgent, listRemoteAgents, readAgentStateAnywhere, remoteAgentStates, remoteAgentSummaries, sendPromptAnywhere, spawnAnywhere, waitAnywhere } from '../hosts/index.js';
import { collect, collectEnv, EXIT, firstLine, formatDuration, paint, parseWholeNumber, printJson, stateStyle, table } from './output.js';
import { examples, type Run } from './program.js';

/** ls, state, spawn, send, wait, peek, attach, stop, restart, cleanup: one agent's life from the shell. */
export function registerAgentCommands(program: Command, run: Run): void {
  program
    .command('ls')
    .alias('status')
    .description('every agent with its live status (and how long it has had it), branch and session')
    .option('--json', 'print JSON: list_agents fields plus status, snake_case')
    .addHelpText('after', examples('ringmaster ls', 'ringmaster status --json | jq -r \'.[] | select(.status.state=="idle") | .name\''))
    .action((options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const records = context.store.listAgents();
          const paneOf = await livePanes(context, records);
          const agents = await listAgents(context, records, paneOf);
          const statuses = await agentStatuses(context, records, paneOf);
          const overlaps = await fleetOverlaps(context, records).catch(() => new Map<string, AgentOverlap>());
          const rows: Array<AgentSummary & { host: string | null; status: StatusReport; overlaps: AgentOverlap['overlaps']; baseConflictFiles: string[] }> = agents.map((agent) => ({
            ...agent,
            host: null,
            status: statuses.get(agent.id)!,
            overlaps: overlaps.get(agent.id)?.overlaps ?? [],
            baseConflictFiles: overlaps.get(agent.id)?.baseConflictFiles ?? [],
          }));
          const remote = listRemoteAgents(context);
          if (remote.length) {
            const [summaries, states] = await Promise.all([remoteAgentSummaries(context, remote), remoteAgentStates(context, remote)]);
            rows.push(...summaries.map((summary, index) => ({ ...summary, status: states[index]!.status, overlaps: [], baseConflictFiles: [] })));
          }
          if (options.json) printJson(toPublic(rows));
          else {
            process.stdout.write(statusTable(rows));
            const queued = listQueue(context);
            if (queued.length > 0) process.stdout.write(`\nQueued:\n${queueTable(queued)}`);
          }
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('state')
    .description('the full state as JSON (what read_agent_state returns): status, transcript summary, tokens and cost, git')
    .argument('[name]', 'one agent; default all')
    .option('--verbose', 'add recent transcript lines and the last screen')
    .option('--json', 'accepted for symmetry; state always prints JSON')
    .addHelpText('after', examples('ringmaster state fix-login', 'ringmaster state --verbose'))
    .action((name: string | undefined, options: { verbose?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          printJson(toPublic(await readAgentStateAnywhere(context, { name, verbose: options.verbose })));
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('spawn')
    .description('start an agent on its own branch, worktree and tmux session (what spawn_agent does)')
    .argument('[command...]', 'for --agent custom, after --: the program and its arguments; {task} and {task_file} are filled in')
    .requiredOption('--repo <dir>', 'the git checkout to branch from')
    .option('--task <text>', 'what the agent should do')
    .option('--task-file <file>', 'read the task from a file ("-" for stdin)')
    .option('--name <name>', 'agent name (default: from the task)')
    .option('--base <ref>', "branch, tag or commit to start from (default: the repo's current branch)")
    .option('--branch <branch>', 'branch to create (default: agent/<name>)')
    .option('--agent <kind>', `${AGENT_KINDS.join(', ')} (default claude)`)
    .option('--host <name>', 'run it on this host from config.json, over ssh (--repo is then a path on that host)')
    .option('--model <model>', 'model for the agent CLI')
    .option('--extra-arg <arg>', 'one more argument for the agent CLI (repeatable)', collect)
    .option('--env <KEY=VALUE>', 'an environment variable for the agent (repeatable)', collectEnv)
    .option('--copy <glob>', 'copy untracked files matching this glob from the main checkout, e.g. ".env*" (repeatable)', collect)
    .option('--setup <command>', 'run this in the new worktree before the agent starts, e.g. "npm ci"')
    .option('--setup-timeout <sec>', 'how long setup may take', parseWholeNumber('--setup-timeout', 1, 7200))
    .option('--after <name>', 'wait for this agent to finish first (repeatable); the spawn is queued', collect)
    .option('--base-after', 'with --after: start from the branch of the last --after agent')
    .option('--json', 'print the spawn_agent result as JSON')
    .addHelpText(
      'after',
      examples(
        'ringmaster spawn --repo ~/code/app --task "fix the flaky login test"',
        'ringmaster spawn --repo "$PWD" --name docs --task-file task.md --copy ".env*" --setup "npm ci"',
        "ringmaster spawn --repo \"$PWD\" --agent custom --task 'tidy the README' -- my-agent --prompt '{task}'",
        'ringmaster spawn --repo "$PWD" --task "…" --extra-arg=--allowedTools --extra-arg=Bash --env DEBUG=1',
      ),
    )
    .action(
      (command: string[], options: {
        repo: string;
        task?: string;
        taskFile?: string;
        name?: string;
        base?: string;
        branch?: string;
        agent?: string;
        host?: string;
        model?: string;
        extraArg?: string[];
        env?: Record<string, string>;
        copy?: string[];
        setup?: string;
        setupTimeout?: number;
        after?: string[];
        baseAfter?: boolean;
        json?: boolean;
      }) =>
        run(() =>
          withContext(async (context) => {
            if (options.agent && !(AGENT_KINDS as readonly string[]).includes(options.agent)) throw new UserInputError(`--agent must be one of ${AGENT_KINDS.join(', ')}.`);
            const task = readText(options.task, options.taskFile, '--task', '--task-file');
            const bootstrap = options.copy || options.setup ? { copy: options.copy, setup: options.setup, setupTimeoutSec: options.setupTimeout } : undefined;
            const result = await spawnAnywhere(
              context,
              {
                host: options.host,
                repo: options.host ? options.repo : resolve(options.repo),
                task,
                name: options.name,
                base: options.base,
                branch: options.branch,
                agent: options.agent as AgentKind | undefined,
                command: command.length ? command : undefined,
                model: options.model,
                extraArgs: options.extraArg,
                env: options.env,
                bootstrap,
                after: options.after,
                baseAfter: options.baseAfter,
              },
              (message) => process.stderr.write(`${paint(message, 'dim', false)}\n`),
            );
            if (options.json) printJson(toPublic(result));
            else if (result.status === 'queued') process.stdout.write(`Queued ${result.name} (${result.id}) at place ${result.queue.position}: ${result.queue.reason}\n`);
            else {
              process.stdout.write(`Spawned ${result.name} (${result.id}) on ${result.branch} in ${result.worktreePath}\nAttach: ${result.attachCommand}\n`);
              for (const note of result.notes) process.stdout.write(`Note: ${note}\n`);
            }
            return EXIT.ok;
          }),
        ),
    );

  program
    .command('send')
    .description("type a prompt into an agent's terminal and prove it arrived (what send_prompt does)")
    .argument('<name>', 'the agent')
    .argument('[text...]', 'the prompt (or use --file)')
    .option('--file <file>', 'read the prompt from a file ("-" for stdin)')
    .option('--interrupt', 'mid-turn: press Esc, wait for idle, then send')
    .option('--queue', 'mid-turn: deliver when the agent is next idle')
    .option('--timeout <sec>', 'how long to wait for proof of delivery', parseWholeNumber('--timeout', 1, 600))
    .option('--json', 'print the send_prompt result as JSON')
    .addHelpText('after', examples('ringmaster send fix-login "also run the e2e tests"', 'ringmaster send fix-login --file review.md --queue', 'ringmaster send fix-login /compact'))
    .action((name: string, words: string[], options: { file?: string; interrupt?: boolean; queue?: boolean; timeout?: number; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const text = readText(words.length ? words.join(' ') : undefined, options.file, 'text', '--file');
          const result = await sendPromptAnywhere(context, { name, text, interrupt: options.interrupt, queue: options.queue, timeoutMs: options.timeout && options.timeout * 1000 });
          if (options.json) printJson(toPublic(result));
          else {
            const verdict =
              result.method === 'queued'
                ? `queued (id ${result.queueId}); delivered when ${name} is next idle`
                : result.delivered === true
                  ? 'delivered (confirmed by Claude)'
                  : result.delivered === null
                    ? 'sent (this agent CLI cannot confirm delivery)'
                    : 'sent, but delivery is not confirmed';
            process.stdout.write(`${name}: ${verdict}${result.interrupted ? ', after interrupting its turn' : ''}\n`);
            for (const note of result.notes) process.stdout.write(`Note: ${note}\n`);
          }
          return result.delivered === false && result.method !== 'queued' ? EXIT.failed : EXIT.ok;
        }),
      ),
    );

  program
    .command('wait')
    .description('block until an agent is idle, waiting for input or permission, or exited (what wait_for_agents does)')
    .argument('[names...]', 'agents to watch; default all')
    .option('--timeout <sec>', 'give up after this many seconds (exit 5)', parseWholeNumber('--timeout', 1, 86_400), 600)
    .option('--only-changes', 'ignore agents already needing attention; wait for a new arrival')
    .option('--json', 'print the wait_for_agents result as JSON')
    .addHelpText('after', examples('ringmaster wait', 'ringmaster wait fix-login docs --timeout 300 && ringmaster ls', 'ringmaster wait --only-changes --json'))
    .action((names: string[], options: { timeout: number; onlyChanges?: boolean; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const result = await waitAnywhere(context, { names, timeoutSec: options.timeout, onlyChanges: options.onlyChanges });
          if (options.json) printJson(toPublic(result));
          else if (result.timedOut) process.stdout.write(`No agent needed attention within ${result.waitedSeconds} s.\n`);
          else for (const { name, status } of result.ready) process.stdout.write(`${name}: ${paint(status.state, stateStyle(status.state))} (${status.reason})\n`);
          return result.timedOut ? EXIT.timeout : EXIT.ok;
        }),
      ),
    );

  program
    .command('peek')
    .alias('logs')
    .description("an agent's last screen (or, once its pane is gone, its last transcript lines) without attaching")
    .argument('<name>', 'the agent')
    .option('-n, --lines <count>', 'how many lines', parseWholeNumber('--lines', 1, 10_000), 40)
    .option('--transcript', 'read the conversation transcript instead of the screen')
    .option('--json', 'print JSON: name, source, lines, status')
    .addHelpText('after', examples('ringmaster peek fix-login', 'ringmaster logs fix-login --transcript -n 20'))
    .action((name: string, options: { lines: number; transcript?: boolean; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const result = await peekAgent(context, { name, lines: options.lines, transcript: options.transcript });
          if (options.json) printJson(toPublic(result));
          else if (result.source === 'none') process.stdout.write(`${name} has no screen and no transcript to show.\n`);
          else process.stdout.write(`${result.lines.join('\n')}\n`);
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('attach')
    .description("attach this terminal to an agent's tmux session (detach with Ctrl-b d)")
    .argument('<name>', 'the agent')
    .addHelpText('after', examples('ringmaster attach fix-login'))
    .action((name: string) =>
      run(() =>
        withContext(async (context) => {
          // An agent on another host: its own tmux there, through ssh with a terminal.
          const remote = findRemoteAgent(context, name);
          if (remote) return spawnSync('sh', ['-c', remote.attachCommand], { stdio: 'inherit' }).status ?? EXIT.failed;
          const agent = await getAgent(context, name);
          if (!agent.sessionAlive) throw new UserInputError(`Agent "${name}" has no tmux session any more. Restart it with ringmaster restart ${name}, or clean it up with ringmaster cleanup ${name}.`);
          return attachTo(context, agent);
        }),
      ),
    );

  program
    .command('stop')
    .description('end the agent process; its worktree, branch and tmux pane (with the last screen) stay')
    .argument('<name>', 'the agent')
    .option('--json', 'print JSON')
    .addHelpText('after', examples('ringmaster stop fix-login', 'ringmaster restart fix-login   # later: resume the conversation'))
    .action((name: string, options: { json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const result = await stopAgent(context, { name });
          if (options.json) printJson(toPublic(result));
          else process.stdout.write(result.outcome === 'stopped' ? `Stopped ${name} (${result.signal}); kept ${result.kept.join(', ')}.\n` : `${name} was not running; nothing to stop.\n`);
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('restart')
    .description("start an agent again in its worktree and branch; Claude resumes its conversation")
    .argument('<name>', 'the agent')
    .option('--fresh', 'start a new conversation on the original task instead of resuming')
    .option('--env <KEY=VALUE>', 'an environment variable for the agent (repeatable; spawn-time values are not kept)', collectEnv)
    .option('--json', 'print JSON')
    .addHelpText('after', examples('ringmaster restart fix-login', 'ringmaster restart fix-login --fresh --env DEBUG=1'))
    .action((name: string, options: { fresh?: boolean; env?: Record<string, string>; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const result = await restartAgent(context, { name, fresh: options.fresh, env: options.env });
          if (options.json) printJson(toPublic(result));
          else {
            const how = { session: 'resuming its conversation', latest: "continuing the folder's latest conversation", fresh: 'starting afresh on its task' }[result.resumed];
            process.stdout.write(`Restarted ${name}, ${how}.\nAttach: ${result.attachCommand}\n`);
            for (const note of result.notes) process.stdout.write(`Note: ${note}\n`);
          }
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('cleanup')
    .description('kill the session and remove the worktree; refuses on unsaved work unless --force (exit 4)')
    .argument('<name>', 'the agent')
    .option('--force', 'remove even with uncommitted changes or unshared commits')
    .option('--delete-branch', 'delete the branch too')
    .option('--json', 'print the cleanup_worktree result as JSON')
    .addHelpText('after', examples('ringmaster cleanup fix-login', 'ringmaster cleanup fix-login --force --delete-branch'))
    .action((name: string, options: { force?: boolean; deleteBranch?: boolean; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const result = await cleanupAnywhere(context, { name, force: options.force, deleteBranch: options.deleteBranch });
          if (options.json) return printJson(toPublic(result)), EXIT.ok;
          if (result.alreadyRemoved) process.stdout.write(`${result.name} was already cleaned up; nothing to do.\n`);
          for (const item of result.removed) process.stdout.write(`removed: ${item}\n`);
          for (const item of result.kept) process.stdout.write(`kept:    ${item}\n`);
          return EXIT.ok;
        }),
      ),
    );
}

/** Runs tmux attach in this terminal; inside tmux on the same server, switches the client instead of nesting. */
export function attachTo(context: Parameters<typeof tmuxFor>[0], agent: Pick<AgentSummary, 'tmuxSocket' | 'tmuxSession'>): number {
  const tmux = tmuxFor(context, agent.tmuxSocket);
  const socketArgs = agent.tmuxSocket ? (agent.tmuxSocket.includes('/') ? ['-S', agent.tmuxSocket] : ['-L', agent.tmuxSocket]) : [];
  const verb = process.env.TMUX && !agent.tmuxSocket ? ['switch-client', '-t', `=${agent.tmuxSession}`] : ['attach', '-t', `=${agent.tmuxSession}`];
  const result = spawnSync(tmux.command, [...socketArgs, ...verb], { stdio: 'inherit' });
  return result.status ?? EXIT.failed;
}

function readText(inline: string | undefined, file: string | undefined, inlineName: string, fileName: string): string {
  if (inline !== undefined && file !== undefined) throw new UserInputError(`Pass ${inlineName} or ${fileName}, not both.`);
  if (file !== undefined) {
    try {
      return readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (error) {
      throw new UserInputError(`Cannot read ${fileName} ${file}: ${(error as Error).message}.`);
    }
  }
  if (inline === undefined) throw new UserInputError(`Pass ${inlineName} or ${fileName}.`);
  return inline;
}

function statusTable(agents: Array<AgentSummary & { host?: string | null; status: StatusReport }>): string {
  if (agents.length === 0) return 'No agents. Start one with ringmaster spawn (see ringmaster spawn --help), or spawn_agent from Claude Code.\n';
  const rows = agents.map((agent) => {
    const { state, exitStatus, secondsInState } = agent.status;
    return [
      agent.name,
      agent.agent,
      `${paint(state, stateStyle(state))}${exitStatus === null ? '' : ` (${exitStatus})`} ${formatDuration(secondsInState)}`,
      agent.branch,
      // An agent on a host: host:path (whether it exists there is the host's to say).
      agent.host ? `${agent.host}:${agent.worktreePath}` : agent.worktreePath + (agent.worktreeExists ? '' : ' (missing)'),
      agent.tmuxSession,
    ];
  });
  return table(['NAME', 'AGENT', 'STATUS', 'BRANCH', 'WORKTREE', 'SESSION'], rows);
}

export { firstLine };
