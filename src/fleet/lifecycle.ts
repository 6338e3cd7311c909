import { existsSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, UserInputError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import { agentDir, exitStatusFile, tmuxFor, type Context } from '../core/index.js';
import { childPids, isProcessAlive } from '../adapters/process.js';
import { agentStatus, findLiveAgent, liveness, refreshTranscripts } from '../state/index.js';
import { childEnvironment, envFileText, launchScript } from './launch-script.js';

/**
 * Stopping and restarting an agent in place: the worktree, the branch, the
 * tmux session and the agent's folder stay; only the agent process goes and
 * comes back. A restarted Claude resumes its conversation (`--resume <session
 * id>`, else `--continue`); other CLIs start afresh on their original task.
 */

export interface StopResult {
  name: string;
  /** 'stopped': this call ended it; 'not running': it had already ended. */
  outcome: 'stopped' | 'not running';
  signal: 'SIGTERM' | 'SIGKILL' | null;
  exitStatus: number | null;
  kept: string[];
}

export async function stopAgent(context: Context, input: { name: string; timeoutMs?: number }): Promise<StopResult> {
  const record = findLiveAgent(context, input.name);
  const tmux = tmuxFor(context, record.tmuxSocket);
  const kept = [`worktree ${record.worktreePath}`, `branch ${record.branch}`, `tmux session ${record.tmuxSession} (its last screen stays)`];
  const live = await liveness(context, record, await tmux.pane(record.tmuxSession));
  if (!live.processAlive || live.agentPid === null) return { name: record.name, outcome: 'not running', signal: null, exitStatus: live.exitStatus, kept };

  // The agent is the launch script's one child; its own children (tools, MCP servers) go with it.
  const pid = live.agentPid;
  const tree = [pid, ...(await descendants(pid))];
  signalAll(tree, 'SIGTERM');
  let signal: StopResult['signal'] = 'SIGTERM';
  const deadline = Date.now() + (input.timeoutMs ?? 5_000);
  while (isProcessAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isProcessAlive(pid)) {
    signalAll([pid, ...(await descendants(pid)), ...tree], 'SIGKILL');
    signal = 'SIGKILL';
  }
  // The launch script records the exit status as the agent ends.
  const statusDeadline = Date.now() + 3_000;
  let exitStatus = (await liveness(context, record, await tmux.pane(record.tmuxSession))).exitStatus;
  while (exitStatus === null && Date.now() < statusDeadline) {
    await sleep(100);
    exitStatus = (await liveness(context, record, await tmux.pane(record.tmuxSession))).exitStatus;
  }
  context.store.addEvent(record.id, 'stopped', { signal });
  return { name: record.name, outcome: 'stopped', signal, exitStatus, kept };
}

export interface RestartResult {
  name: string;
  /** How the conversation continues: resumed by session id, by the folder's latest conversation, or a fresh start on the original task. */
  resumed: 'session' | 'latest' | 'fresh';
  argv: string[];
  stopped: boolean;
  attachCommand: string;
  notes: string[];
}

/**
 * Ends the agent process if it still runs, then starts it again in the same
 * pane, worktree and branch. Spawn-time `env` values are not kept on disk
 * (env.sh is deleted as the agent starts), so pass them again in `env`.
 */
export async function restartAgent(context: Context, input: { name: string; env?: Record<string, string>; fresh?: boolean }): Promise<RestartResult> {
  const record = findLiveAgent(context, input.name);
  if (!existsSync(record.worktreePath)) {
    throw new ConflictError(`The worktree of "${record.name}" (${record.worktreePath}) is gone, so it cannot restart there. Clean it up with ringmaster cleanup ${record.name} and spawn a new agent.`);
  }
  if (record.command.length === 0) throw new ConflictError(`Agent "${record.name}" never finished starting, so there is no command to restart. Clean it up and spawn it again.`);
  for (const key of Object.keys(input.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || key.startsWith('RINGMASTER_')) throw new UserInputError(`env key ${JSON.stringify(key)} is not allowed: use letters, digits and "_", not RINGMASTER_*.`);
  }
  const stop = await stopAgent(context, { name: record.name });
  const dir = agentDir(context, record.id);
  const notes: string[] = [];
  const { argv, resumed } = restartArgv(context, record, input.fresh === true);
  if (resumed === 'fresh' && record.agentKind !== 'claude') notes.push(`${record.agentKind} has no resume that ringmaster drives: it starts afresh on its original task, in the same worktree.`);
  if (Object.keys(input.env ?? {}).length === 0) notes.push('Variables passed with env at spawn are not kept on disk; pass them again to restart with them.');

  const envPath = join(dir, 'env.sh');
  const childEnv = childEnvironment(context.env, {
    ...input.env,
    RINGMASTER_AGENT_ID: record.id,
    RINGMASTER_AGENT_NAME: record.name,
    RINGMASTER_HOME: context.config.home,
    RINGMASTER_WORKTREE_ROOT: realpathSync(context.config.worktreeRoot),
  });
  writeFileSync(envPath, envFileText(childEnv), { mode: 0o600 });
  const restartScript = join(dir, 'restart.sh');
  writeFileSync(
    restartScript,
    launchScript({
      agentId: record.id,
      agentName: record.name,
      envFile: envPath,
      worktreePath: record.worktreePath,
      taskArgFile: join(dir, 'task-arg.txt'),
      taskFile: join(dir, 'inbox', 'task.md'),
      systemPromptFile: join(dir, 'system-prompt.md'),
      exitStatusFile: exitStatusFile(dir),
      argv,
    }),
    { mode: 0o700 },
  );
  rmSync(exitStatusFile(dir), { force: true });

  const tmux = tmuxFor(context, record.tmuxSocket);
  const command = ['bash', restartScript];
  const paneEnv = { RINGMASTER_AGENT_ID: record.id };
  if (await tmux.hasSession(record.tmuxSession)) await tmux.respawnPane({ session: record.tmuxSession, cwd: record.worktreePath, command, env: paneEnv });
  else await tmux.newSession({ session: record.tmuxSession, cwd: record.worktreePath, command, env: paneEnv });
  context.store.addEvent(record.id, 'restarted', { resumed });
  return { name: record.name, resumed, argv, stopped: stop.outcome === 'stopped', attachCommand: tmux.attachCommand(record.tmuxSession), notes };
}

/** The stored argv with the task replaced by a resume, where the CLI has one. */
function restartArgv(context: Context, record: AgentRecord, fresh: boolean): { argv: string[]; resumed: RestartResult['resumed'] } {
  const argv = [...record.command];
  if (record.agentKind !== 'claude' || fresh) return { argv, resumed: 'fresh' };
  // A Claude argv ends with `-- {task}` (see buildLaunchPlan).
  const separator = argv.lastIndexOf('--');
  const base = separator >= 0 ? argv.slice(0, separator) : argv;
  const sessionId = context.store.claudeSession(record.id).sessionId;
  return sessionId ? { argv: [...base, '--resume', sessionId], resumed: 'session' } : { argv: [...base, '--continue'], resumed: 'latest' };
}

export interface PeekResult {
  name: string;
  /** 'screen': the pane's last lines; 'transcript': the conversation's last lines (the pane is gone). */
  source: 'screen' | 'transcript' | 'none';
  lines: string[];
  status: Awaited<ReturnType<typeof agentStatus>>;
}

/** An agent's last lines without attaching: its pane's screen with scrollback, else its transcript. */
export async function peekAgent(context: Context, input: { name: string; lines?: number; transcript?: boolean }): Promise<PeekResult> {
  const record = findLiveAgent(context, input.name);
  const count = input.lines ?? 40;
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new UserInputError('--lines takes a whole number from 1 to 10000.');
  const status = await agentStatus(context, record);
  if (!input.transcript) {
    const screen = await tmuxFor(context, record.tmuxSocket).capturePane(record.tmuxSession, count);
    if (screen !== undefined) return { name: record.name, source: 'screen', lines: screen.split('\n').slice(-count), status };
  }
  const session = context.store.claudeSession(record.id);
  if (!session.transcriptPath) return { name: record.name, source: 'none', lines: [], status };
  const state = refreshTranscripts(context.store, context.config, record.id, session.transcriptPath);
  const lines = state.summary.recentLines.map((line) => `${line.at ? `${line.at.slice(11, 19)} ` : ''}${line.role}: ${line.text.replace(/\s*\n\s*/g, ' ')}`);
  return { name: record.name, source: 'transcript', lines: lines.slice(-count), status };
}

async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const child of await childPids(pid)) out.push(child, ...(await descendants(child)));
  return out;
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
