import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realChanges } from '../adapters/git.js';
import { UserInputError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import { agentDir, type Context, type ProgressReporter } from '../core/index.js';
import { enforcementOf, isCredentialVariable, loadPolicy, requireSandbox, srtCommand, srtSettings } from '../gate/index.js';
import { agentStatus, refreshTranscripts, type StatusReport } from '../state/index.js';
import { findAttemptGroup, type AttemptGroup } from './attempts.js';

/**
 * compare_attempts: every number here comes from running something (git on
 * the branches, the test command in each worktree, the transcripts' recorded
 * usage), never from what an agent says about its own work.
 */

export interface FileChange {
  path: string;
  insertions: number;
  deletions: number;
}

export interface TestRun {
  command: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The last lines of stdout and stderr together. */
  outputTail: string;
  /** Inside the same sandbox the children run in (srt), or not because policy.json switched it off. */
  sandboxed: boolean;
}

export interface AttemptReport {
  attempt: number;
  name: string;
  agent: string;
  model: string | null;
  branch: string;
  /** The branch's tip now, or null when the branch is gone. */
  head: string | null;
  status: Pick<StatusReport, 'state' | 'reason' | 'exitStatus'> | { state: 'removed'; reason: string; exitStatus: null };
  commits: number;
  /** Committed changes from the group's base commit to the branch tip. */
  diff: { files: number; insertions: number; deletions: number; changes: FileChange[] };
  /** Uncommitted changes in the worktree (tests see them; a pick keeps only what is committed). */
  uncommittedFiles: string[];
  tests: TestRun | null;
  costUsd: number | null;
  elapsedSeconds: number;
}

export interface PairDiff {
  a: string;
  b: string;
  identical: boolean;
  files: FileChange[];
  insertions: number;
  deletions: number;
}

export interface Comparison {
  group: string;
  name: string;
  repo: string;
  base: string;
  baseCommit: string;
  picked: string | null;
  testCommand: string | null;
  attempts: AttemptReport[];
  pairs: PairDiff[];
  notes: string[];
}

const TAIL_LINES = 30;

export async function compareAttempts(
  context: Context,
  input: { group: string; testCommand?: string; runTests?: boolean; testTimeoutSec?: number },
  progress: ProgressReporter = () => {},
): Promise<Comparison> {
  const group = findAttemptGroup(context, input.group);
  const notes: string[] = [];
  const testCommand = input.runTests === false ? null : (input.testCommand ?? repoTestCommand(group.repo, notes) ?? context.config.test.command ?? null);
  if (input.runTests !== false && !testCommand) {
    notes.push('No test command: pass test_command, or set "test": {"command": "…"} in the repo\'s .ringmaster.json or in ringmaster\'s config.json.');
  }
  const timeoutMs = (input.testTimeoutSec ?? context.config.test.timeoutSec) * 1000;
  const reports: AttemptReport[] = [];
  // One at a time: test runs side by side would compete for the same cores and distort each other's time.
  for (const { attempt, agent } of group.attempts) {
    progress(`Measuring ${agent.name}`);
    reports.push(await measureAttempt(context, group, attempt, agent, testCommand, timeoutMs, progress));
  }
  const pairs: PairDiff[] = [];
  for (let i = 0; i < reports.length; i++) {
    for (let j = i + 1; j < reports.length; j++) pairs.push(await pairDiff(context, group.repo, reports[i]!, reports[j]!));
  }
  const picked = group.attempts.find(({ agent }) => agent.id === group.pickedAgentId)?.agent.name ?? null;
  return { group: group.id, name: group.name, repo: group.repo, base: group.baseRef, baseCommit: group.baseCommit, picked, testCommand, attempts: reports, pairs, notes };
}

/** `test.command` from the repository's own `.ringmaster.json`, if it has one. */
function repoTestCommand(repo: string, notes: string[]): string | undefined {
  const file = join(repo, '.ringmaster.json');
  if (!existsSync(file)) return undefined;
  try {
    const command = (JSON.parse(readFileSync(file, 'utf8')) as { test?: { command?: unknown } }).test?.command;
    return typeof command === 'string' && command.trim() ? command : undefined;
  } catch (error) {
    notes.push(`${file} is not valid JSON (${(error as Error).message}); its test command was not used.`);
    return undefined;
  }
}

async function measureAttempt(
  context: Context,
  group: AttemptGroup,
  attempt: number,
  agent: AgentRecord,
  testCommand: string | null,
  timeoutMs: number,
  progress: ProgressReporter,
): Promise<AttemptReport> {
  const { git } = context;
  const head = (await git.resolveCommit(group.repo, `refs/heads/${agent.branch}`)) ?? null;
  const changes = head ? await numstat(context, group.repo, group.baseCommit, head) : [];
  const commits = head ? Number((await git.run(group.repo, ['rev-list', '--count', `${group.baseCommit}..${head}`])).trim()) : 0;
  const live = agent.state !== 'removed' && existsSync(agent.worktreePath);
  const uncommittedFiles = live ? realChanges(agent.worktreePath, await git.dirtyFiles(agent.worktreePath).catch(() => [])) : [];
  let status: AttemptReport['status'];
  let elapsedEnd = Date.now();
  if (agent.state === 'removed') {
    status = { state: 'removed', reason: 'cleaned up', exitStatus: null };
    elapsedEnd = agent.removedAt ?? elapsedEnd;
  } else {
    const report = await agentStatus(context, agent);
    status = { state: report.state, reason: report.reason, exitStatus: report.exitStatus };
    // An agent that stopped working finished at the start of its current state.
    if (['idle', 'exited', 'waiting_input'].includes(report.state)) elapsedEnd = Date.parse(report.since);
  }
  let tests: TestRun | null = null;
  if (testCommand && live) {
    progress(`Running ${JSON.stringify(testCommand)} in ${agent.name}`);
    tests = await runTests(context, agent, testCommand, timeoutMs);
  }
  return {
    attempt,
    name: agent.name,
    agent: agent.agentKind,
    model: agent.model,
    branch: agent.branch,
    head,
    status,
    commits,
    diff: {
      files: changes.length,
      insertions: changes.reduce((sum, change) => sum + change.insertions, 0),
      deletions: changes.reduce((sum, change) => sum + change.deletions, 0),
      changes,
    },
    uncommittedFiles,
    tests,
    costUsd: costOf(context, agent),
    elapsedSeconds: Math.max(0, Math.round((elapsedEnd - agent.createdAt) / 1000)),
  };
}

async function numstat(context: Context, repo: string, from: string, to: string): Promise<FileChange[]> {
  const out = await context.git.run(repo, ['diff', '--numstat', '-z', '--no-renames', from, to]);
  const changes: FileChange[] = [];
  for (const entry of out.split('\0')) {
    const match = /^(\d+|-)\t(\d+|-)\t(.+)$/s.exec(entry);
    if (!match) continue;
    // Binary files show "-": counted as a change of no lines.
    changes.push({ path: match[3]!, insertions: Number(match[1]) || 0, deletions: Number(match[2]) || 0 });
  }
  return changes;
}

async function pairDiff(context: Context, repo: string, a: AttemptReport, b: AttemptReport): Promise<PairDiff> {
  const files = a.head && b.head ? await numstat(context, repo, a.head, b.head) : [];
  return {
    a: a.name,
    b: b.name,
    identical: Boolean(a.head && b.head) && files.length === 0,
    files,
    insertions: files.reduce((sum, change) => sum + change.insertions, 0),
    deletions: files.reduce((sum, change) => sum + change.deletions, 0),
  };
}

/** The agent's cost so far from its recorded transcript usage; null when unknown (no transcript, or an unpriced model). */
function costOf(context: Context, agent: AgentRecord): number | null {
  const session = context.store.claudeSession(agent.id);
  if (!session.transcriptPath) return null;
  try {
    const usage = refreshTranscripts(context.store, context.config, agent.id, session.transcriptPath).usage;
    const buckets = [usage.main, usage.sidechain, usage.subagents];
    if (buckets.some((bucket) => bucket.costUsd === null)) return null;
    return Math.round(buckets.reduce((sum, bucket) => sum + (bucket.costUsd ?? 0), 0) * 1e6) / 1e6;
  } catch {
    return null;
  }
}

/**
 * Runs the test command in the agent's worktree inside the sandbox its child
 * runs in: srt, writes only to the worktree, the repository's .git and a
 * private temp folder, credentials unreadable, network only through the
 * agent's own egress ports (none when they are closed). With the sandbox
 * switched off in policy.json it runs plainly, and says so.
 */
export async function runTests(context: Context, agent: AgentRecord, command: string, timeoutMs: number): Promise<TestRun> {
  const policy = loadPolicy(context.config.home);
  const tmp = join(tmpdir(), `ringmaster-${agent.id}-test`);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const env = Object.fromEntries(Object.entries(context.env).filter(([key, value]) => value !== undefined && !isCredentialVariable(key) && !key.startsWith('RINGMASTER_'))) as Record<string, string>;
  let argv = ['sh', '-c', command];
  if (policy.sandbox.enabled) {
    requireSandbox(context.env);
    const enforcement = enforcementOf(context.store, agent.id);
    const settings = srtSettings({
      ports: { httpPort: enforcement?.httpPort ?? 0, socksPort: enforcement?.socksPort ?? 0 },
      ringmasterHome: context.config.home,
      home: context.env.HOME,
      writable: [agent.worktreePath, join(agent.repo, '.git'), tmp],
      readOnly: [join(agent.repo, '.git', 'hooks'), join(agent.repo, '.git', 'config')],
    });
    if (!enforcement?.httpPort || !enforcement.socksPort) {
      // The agent's ports are closed: no network at all rather than an open one.
      const network = settings.network as Record<string, unknown>;
      delete network.httpProxyPort;
      delete network.socksProxyPort;
    }
    const settingsPath = join(agentDir(context, agent.id), 'test-srt-settings.json');
    mkdirSync(agentDir(context, agent.id), { recursive: true, mode: 0o700 });
    writeFileSync(settingsPath, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
    const script = join(tmp, 'in-worktree.sh');
    writeFileSync(script, `cd -- "$1" || exit 98\nshift\nexec "$@"\n`, { mode: 0o700 });
    // srt starts in the private temp folder (it masks dotfiles in its working folder while it runs), then changes into the worktree.
    argv = [...srtCommand(), '--settings', settingsPath, '--', '/bin/bash', script, agent.worktreePath, 'sh', '-c', command];
    env.TMPDIR = tmp;
  }
  const started = Date.now();
  try {
    const { execa } = await import('execa');
    const result = await execa(argv[0]!, argv.slice(1), {
      cwd: policy.sandbox.enabled ? tmp : agent.worktreePath,
      env,
      extendEnv: false,
      reject: false,
      all: true,
      timeout: timeoutMs,
      stdin: 'ignore',
      forceKillAfterDelay: 2000,
    });
    const lines = (result.all ?? '').split('\n');
    return {
      command,
      passed: result.exitCode === 0 && !result.timedOut,
      exitCode: result.exitCode ?? null,
      timedOut: Boolean(result.timedOut),
      durationMs: Date.now() - started,
      outputTail: lines.slice(-TAIL_LINES).join('\n').slice(-4000),
      sandboxed: policy.sandbox.enabled,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function validateTestTimeout(seconds: number | undefined): void {
  if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 1 || seconds > 7200)) {
    throw new UserInputError(`test_timeout_sec must be a whole number from 1 to 7200; got ${seconds}.`);
  }
}
