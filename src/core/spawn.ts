import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { execa } from 'execa';
import { glob } from 'tinyglobby';
import { buildLaunchPlan, MAX_TASK_ARG_BYTES } from '../adapters/agent-cli.js';
import { claudeJsonFor, forgetFolder, prepareClaudeProject, readClaudeJson } from '../adapters/claude-config.js';
import { findExecutable } from '../adapters/process.js';
import { ConflictError, ExternalToolError, UserInputError } from '../errors.js';
import type { AgentKind } from '../store/store.js';
import { agentDir, type Context } from './context.js';
import { childEnvironment, envFileText, launchScript } from './launch-script.js';
import { nameFromTask, repoSlug, sessionName, slugify, validateName } from './names.js';
import { fetchTicket, recordTicket, taskFromTicket, type Ticket } from './linear.js';
import { packageRoot, renderPrompt } from './paths.js';
import { defaultPolicy, loadPolicy, type Policy } from '../policy/policy.js';
import { ingestEvents, spoolDir } from './events.js';
import { exitStatusFile, inboxDir, readExitStatus } from './agent-files.js';
import { shellQuote } from '../adapters/tmux.js';
import { watchStartup } from './startup.js';

export const AGENT_KINDS = ['claude', 'codex', 'aider', 'opencode', 'custom'] as const;
const MAX_TASK_BYTES = 10 * 1024 * 1024;

export interface SpawnInput {
  repo: string;
  task: string;
  name?: string;
  base?: string;
  branch?: string;
  agent?: AgentKind;
  /** argv of the agent when `agent` is "custom"; `{task}` / `{task_file}` are filled in. */
  command?: string[];
  model?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
  bootstrap?: { copy?: string[]; setup?: string; setupTimeoutSec?: number };
  /** A Linear ticket (e.g. ENG-123): its text becomes the task, its suggested branch the branch. */
  linearIssue?: string;
}

export interface SpawnResult {
  id: string;
  name: string;
  agent: AgentKind;
  repo: string;
  branch: string;
  base: string;
  baseCommit: string;
  worktreePath: string;
  tmuxSession: string;
  tmuxSocket: string | null;
  attachCommand: string;
  /** True once the agent confirmed it received its task; null where the CLI cannot tell us. */
  taskSubmitted: boolean | null;
  copiedFiles: string[];
  setup: { command: string; exitCode: number; durationMs: number } | null;
  linear: { identifier: string; url: string } | null;
  notes: string[];
}

export type ProgressReporter = (message: string) => void;

/**
 * Creates a branch, a worktree and a tmux session, and starts an agent there
 * with its task. Everything is checked before anything is made; if a later
 * step fails, every earlier step is undone, so a failed spawn leaves nothing.
 */
export async function spawnAgent(context: Context, request: SpawnInput, progress: ProgressReporter = () => {}): Promise<SpawnResult> {
  const { config, git, store, tmux } = context;
  let input = request;
  let ticket: Ticket | undefined;
  if (request.linearIssue) {
    progress(`Fetching Linear ticket ${request.linearIssue}`);
    ticket = await fetchTicket(context, request.linearIssue);
    input = {
      ...request,
      task: taskFromTicket(ticket, request.task?.trim() ? request.task : undefined),
      branch: request.branch ?? ticket.branchName,
      name: request.name ?? slugify(ticket.identifier, 40),
    };
  }
  const kind: AgentKind = input.agent ?? 'claude';
  const plan = await checkSpawnInput(context, input, kind);
  const { name, repo, branch, baseRef, baseCommit, env } = plan;

  const id = `ag_${randomBytes(6).toString('hex')}`;
  const session = sessionName(name);
  // The real path, so that it matches what git and Claude Code record for the folder.
  const worktreeParent = join(config.worktreeRoot, repoSlug(repo));
  mkdirSync(worktreeParent, { recursive: true });
  const worktreePath = join(realpathSync(worktreeParent), name);
  const dir = agentDir(context, id);
  const undo: Array<{ what: string; run: () => Promise<unknown> | unknown }> = [];

  progress(`Reserving agent "${name}"`);
  store.insertAgent({
    id,
    name,
    repo,
    baseRef,
    baseCommit,
    branch,
    worktreePath,
    tmuxSocket: tmux.socket,
    tmuxSession: session,
    agentKind: kind,
    model: input.model ?? null,
    task: input.task,
    taskPreview: input.task.slice(0, 200),
  });
  undo.push({ what: 'database row', run: () => store.deleteAgent(id) });

  try {
    if (await tmux.hasSession(session)) {
      throw new ConflictError(`A tmux session named ${session} already exists on this server. Pick another name, or end that session (tmux kill-session -t ${session}).`);
    }
    if (existsSync(worktreePath)) {
      throw new ConflictError(`${worktreePath} already exists. Pick another name, or move that folder away.`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    undo.push({ what: 'agent folder', run: () => rmSync(dir, { recursive: true, force: true }) });

    progress(`Creating branch ${branch} and worktree at ${worktreePath}`);
    // Registered before the attempt: a worktree add that fails half-way can leave either piece.
    undo.push({ what: 'branch', run: async () => (await git.branchExists(repo, branch)) && git.deleteBranch(repo, branch) });
    undo.push({
      what: 'worktree',
      run: async () => {
        if (existsSync(worktreePath)) await git.removeWorktree(repo, worktreePath);
        await git.pruneWorktrees(repo);
      },
    });
    await git.addWorktree(repo, worktreePath, branch, baseCommit);

    const copiedFiles = await copyBootstrapFiles(repo, worktreePath, input.bootstrap?.copy ?? [], progress);
    let setup: SpawnResult['setup'] = null;
    if (input.bootstrap?.setup) {
      setup = await runSetup(input.bootstrap.setup, worktreePath, env, (input.bootstrap.setupTimeoutSec ?? config.spawn.setupTimeoutSec) * 1000, progress);
    }

    const childEnv = childEnvironment(context.env, {
      ...env,
      RINGMASTER_AGENT_ID: id,
      RINGMASTER_AGENT_NAME: name,
      RINGMASTER_HOME: config.home,
      RINGMASTER_WORKTREE_ROOT: realpathSync(config.worktreeRoot),
    });
    const files = writeAgentFiles(dir, { id, name, branch, baseRef, worktreePath, task: input.task, childEnv, waitSeconds: plan.policy.waitSeconds, worktreeRoot: realpathSync(config.worktreeRoot) });
    const launch = buildLaunchPlan({
      kind,
      config,
      model: input.model,
      // The inbox holds texts too long to type (a long task, a long prompt); Claude may read it without asking.
      extraArgs: [...(input.extraArgs ?? []), ...(kind === 'claude' ? ['--add-dir', inboxDir(dir)] : [])],
      customCommand: input.command,
      settingsPath: files.settingsPath,
      systemPromptPlaceholder: '{system_prompt}',
      taskPlaceholder: '{task}',
    });
    writeFileSync(
      files.launchPath,
      launchScript({
        agentId: id,
        agentName: name,
        envFile: files.envPath,
        worktreePath,
        taskArgFile: launch.delivery === 'argv' ? files.taskArgPath : files.emptyPath,
        taskFile: files.taskPath,
        systemPromptFile: files.systemPromptPath,
        exitStatusFile: exitStatusFile(dir),
        argv: launch.argv,
      }),
      { mode: 0o700 },
    );

    const claudeJson = claudeJsonFor(childEnv);
    if (kind === 'claude') {
      if (readClaudeJson(claudeJson)?.hasCompletedOnboarding !== true) {
        files.notes.push(`Claude Code's first-run setup is not marked complete in ${claudeJson}; if the child shows the welcome screens, run \`claude\` once in a terminal and finish them.`);
      }
      undo.push({ what: 'folder trust', run: () => forgetFolder(claudeJson, [worktreePath, inboxDir(dir)]) });
      files.notes.push(
        ...prepareClaudeProject({
          claudeJsonPath: claudeJson,
          folder: worktreePath,
          extraFolders: [inboxDir(dir)],
          mainCheckout: repo,
          projectMcpServers: projectMcpServers(worktreePath),
          apiKey: childEnv.ANTHROPIC_API_KEY,
        }),
      );
    }

    progress(`Starting ${kind} in tmux session ${session}`);
    undo.push({ what: 'tmux session', run: () => tmux.killSession(session) });
    await tmux.newSession({ session, cwd: worktreePath, command: ['bash', files.launchPath], env: { RINGMASTER_AGENT_ID: id } });

    const startup = await watchStartup({
      tmux,
      session,
      kind,
      delivery: launch.delivery,
      task: input.task,
      exitStatus: () => readExitStatus(dir),
      taskSubmitted: () => {
        ingestEvents(store, id, dir);
        return store.recentEvents(id, 20).some((event) => event.kind === 'UserPromptSubmit');
      },
      timeoutMs: config.spawn.startupTimeoutMs,
      progress,
    });

    store.markRunning(id, launch.argv);
    if (ticket) recordTicket(context, id, ticket);
    store.addEvent(id, 'spawned', { branch, worktreePath, session, kind });
    progress(startup.taskSubmitted ? `Agent "${name}" is working` : `Agent "${name}" started`);
    return {
      id,
      name,
      agent: kind,
      repo,
      branch,
      base: baseRef,
      baseCommit,
      worktreePath,
      tmuxSession: session,
      tmuxSocket: tmux.socket,
      attachCommand: tmux.attachCommand(session),
      taskSubmitted: startup.taskSubmitted,
      copiedFiles,
      setup,
      linear: ticket ? { identifier: ticket.identifier, url: ticket.url } : null,
      notes: [...files.notes, ...startup.notes],
    };
  } catch (error) {
    const leftovers: string[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.run();
      } catch (undoError) {
        leftovers.push(`${step.what} (${(undoError as Error).message})`);
      }
    }
    if (leftovers.length > 0 && error instanceof Error) {
      error.message += ` Rolling back also failed for: ${leftovers.join('; ')}; run cleanup_worktree on "${name}" with force: true.`;
    }
    throw error;
  }
}

interface CheckedSpawn {
  name: string;
  repo: string;
  branch: string;
  baseRef: string;
  baseCommit: string;
  env: Record<string, string>;
  policy: Policy;
}

/** Every check that can fail before anything is created. */
async function checkSpawnInput(context: Context, input: SpawnInput, kind: AgentKind): Promise<CheckedSpawn> {
  const { git, tmux } = context;
  if (typeof input.task !== 'string' || input.task.trim() === '') throw new UserInputError('task is empty. Describe what the agent should do.');
  if (input.task.includes('\0')) throw new UserInputError('task contains a NUL byte, which no terminal program can receive. Remove it.');
  if (Buffer.byteLength(input.task) > MAX_TASK_BYTES) {
    throw new UserInputError(`task is ${Buffer.byteLength(input.task)} bytes; the limit is ${MAX_TASK_BYTES}. Put the material in a file in the repo and point the task at it.`);
  }
  const name = input.name === undefined ? nameFromTask(input.task) : validateName(input.name);

  const env = input.env ?? {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UserInputError(`env key ${JSON.stringify(key)} is not a valid variable name. Use letters, digits and "_".`);
    if (key.startsWith('RINGMASTER_')) throw new UserInputError(`env key ${key} is reserved for ringmaster. Choose another name.`);
    if (value.includes('\0')) throw new UserInputError(`env value of ${key} contains a NUL byte. Remove it.`);
  }

  if (kind === 'custom' && (!input.command || input.command.length === 0)) {
    throw new UserInputError('agent "custom" needs `command`: the argv to run, e.g. ["my-agent", "--prompt", "{task}"].');
  }
  if (kind !== 'custom' && input.command) throw new UserInputError(`command is only used with agent "custom"; drop it or set agent to "custom".`);
  const executable = kind === 'custom' ? input.command![0]! : context.config.agents[kind];
  const childPath = env.PATH ?? context.env.PATH;
  if (!findExecutable(executable, childPath)) {
    throw new ExternalToolError(
      `The ${kind} agent CLI "${executable}" was not found on PATH. Install it, or point ringmaster at it (RINGMASTER_${kind.toUpperCase()}=/path/to/${kind}).`,
    );
  }
  await tmux.version();

  if (typeof input.repo !== 'string' || input.repo.trim() === '') throw new UserInputError('repo is empty. Pass the absolute path of a git checkout.');
  if (!isAbsolute(input.repo)) throw new UserInputError(`repo ${JSON.stringify(input.repo)} is relative. Pass an absolute path; ringmaster may run in another folder.`);
  const repo = await git.resolveRepo(input.repo);
  if (!(await git.hasCommits(repo))) {
    throw new UserInputError(`${repo} has no commits yet, so there is nothing to branch from. Make a first commit (git commit --allow-empty -m init) and try again.`);
  }

  const baseRef = input.base ?? (await git.currentBranch(repo)) ?? 'HEAD';
  const baseCommit = await git.resolveCommit(repo, baseRef);
  if (!baseCommit) throw new UserInputError(`base ${JSON.stringify(baseRef)} does not exist in ${repo}. Pass an existing branch, tag or commit (see git branch -a).`);

  const branch = input.branch ?? `agent/${name}`;
  if (!(await git.isValidBranchName(repo, branch))) {
    throw new UserInputError(`branch ${JSON.stringify(branch)} is not a valid git branch name (see git check-ref-format). Use e.g. "agent/${name}".`);
  }
  if (await git.branchExists(repo, branch)) {
    throw new ConflictError(`branch ${branch} already exists in ${repo}. Pass another branch (or name), or delete it with git branch -D ${branch}.`);
  }
  // A child must not start with a gate that cannot read its policy.
  const policy = loadPolicy(context.config.home);
  return { name, repo, branch, baseRef, baseCommit, env, policy };
}

interface AgentFiles {
  settingsPath: string;
  systemPromptPath: string;
  taskPath: string;
  taskArgPath: string;
  emptyPath: string;
  envPath: string;
  launchPath: string;
  taskIsPointer: boolean;
  notes: string[];
}

/** Hook events ringmaster records for every Claude child. */
export const RECORDED_HOOK_EVENTS = [
  'SessionStart',
  'UserPromptSubmit',
  'PreToolUse',
  'PostToolUse',
  'PermissionRequest',
  'Notification',
  'Stop',
  'SubagentStop',
  'SessionEnd',
] as const;

/**
 * Child-only Claude settings, passed with --settings: every hook event is
 * spooled for ringmaster's status (src/hooks/record-event.sh), and every tool
 * call passes the permission gate first (src/hooks/gate.sh), whose hook
 * timeout outlasts the gate's own wait so that Claude never times it out
 * (a timed-out hook lets the call through).
 */
export function childSettings(spool: string, worktreeRoot: string, waitSeconds = defaultPolicy().waitSeconds): { hooks: Record<string, unknown> } {
  const root = packageRoot();
  const record = `/bin/bash ${shellQuote(join(root, 'src', 'hooks', 'record-event.sh'))} ${shellQuote(spool)}`;
  const gate = `/bin/bash ${shellQuote(join(root, 'src', 'hooks', 'gate.sh'))} ${shellQuote(process.execPath)} ${shellQuote(join(root, 'dist', 'src', 'hooks', 'gate.js'))} ${shellQuote(worktreeRoot)}`;
  const hooks: Record<string, unknown> = {};
  for (const event of RECORDED_HOOK_EVENTS) hooks[event] = [{ hooks: [{ type: 'command', command: record, timeout: 10 }] }];
  hooks.PreToolUse = [{ hooks: [{ type: 'command', command: record, timeout: 10 }, { type: 'command', command: gate, timeout: waitSeconds + 60 }] }];
  return { hooks };
}

/** The per-agent folder under $RINGMASTER_HOME/agents/<id>: nothing is ever written into the repo. */
function writeAgentFiles(
  dir: string,
  agent: { id: string; name: string; branch: string; baseRef: string; worktreePath: string; task: string; childEnv: Record<string, string>; waitSeconds: number; worktreeRoot: string },
): AgentFiles {
  const files: AgentFiles = {
    settingsPath: join(dir, 'settings.json'),
    systemPromptPath: join(dir, 'system-prompt.md'),
    taskPath: join(inboxDir(dir), 'task.md'),
    taskArgPath: join(dir, 'task-arg.txt'),
    emptyPath: join(dir, 'empty.txt'),
    envPath: join(dir, 'env.sh'),
    launchPath: join(dir, 'launch.sh'),
    taskIsPointer: Buffer.byteLength(agent.task) > MAX_TASK_ARG_BYTES,
    notes: [],
  };
  mkdirSync(inboxDir(dir), { recursive: true, mode: 0o700 });
  writeFileSync(files.taskPath, agent.task, { mode: 0o600 });
  const taskArg = files.taskIsPointer
    ? `Your task is too long to type, so it is in the file ${files.taskPath} (${Buffer.byteLength(agent.task)} bytes). Read the whole file first, then carry out the task it describes.`
    : agent.task;
  if (files.taskIsPointer) files.notes.push(`The task is ${Buffer.byteLength(agent.task)} bytes, over the ${MAX_TASK_ARG_BYTES}-byte argument limit, so the agent was told to read ${files.taskPath}.`);
  writeFileSync(files.taskArgPath, taskArg, { mode: 0o600 });
  writeFileSync(files.emptyPath, '', { mode: 0o600 });
  writeFileSync(
    files.systemPromptPath,
    renderPrompt('child-system.md', { name: agent.name, branch: agent.branch, base: agent.baseRef, worktree: agent.worktreePath }),
    { mode: 0o600 },
  );
  // Child-only Claude settings, passed with --settings: every hook event is
  // spooled for ringmaster's status (see src/hooks/record-event.sh).
  mkdirSync(spoolDir(dir), { recursive: true, mode: 0o700 });
  writeFileSync(files.settingsPath, `${JSON.stringify(childSettings(spoolDir(dir), agent.worktreeRoot, agent.waitSeconds), null, 2)}\n`, { mode: 0o600 });
  writeFileSync(files.envPath, envFileText(agent.childEnv), { mode: 0o600 });
  return files;
}

/** Server names in the worktree's .mcp.json, which Claude would ask about on start. */
function projectMcpServers(worktreePath: string): string[] {
  try {
    const json = JSON.parse(readFileSync(join(worktreePath, '.mcp.json'), 'utf8')) as { mcpServers?: Record<string, unknown> };
    return Object.keys(json.mcpServers ?? {});
  } catch {
    return [];
  }
}

async function copyBootstrapFiles(repo: string, worktree: string, patterns: string[], progress: ProgressReporter): Promise<string[]> {
  if (patterns.length === 0) return [];
  for (const pattern of patterns) {
    if (isAbsolute(pattern) || normalize(pattern).split('/').includes('..')) {
      throw new UserInputError(`bootstrap.copy pattern ${JSON.stringify(pattern)} must be relative to the repo and must not contain "..".`);
    }
  }
  const matches = await glob(patterns, { cwd: repo, dot: true, onlyFiles: true, ignore: ['.git/**', '**/node_modules/**'], expandDirectories: false });
  const copied: string[] = [];
  for (const relative of matches.sort()) {
    const target = join(worktree, relative);
    // Tracked files are already in the worktree at the base commit; don't overwrite them.
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(repo, relative), target);
    chmodSync(target, statSync(join(repo, relative)).mode & 0o777);
    copied.push(relative);
  }
  progress(`Copied ${copied.length} file(s) from the main checkout${copied.length ? `: ${copied.slice(0, 10).join(', ')}` : ''}`);
  return copied;
}

async function runSetup(
  command: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
  progress: ProgressReporter,
): Promise<{ command: string; exitCode: number; durationMs: number }> {
  progress(`Running setup: ${command}`);
  const started = Date.now();
  const child = execa('sh', ['-c', command], { cwd, env, reject: false, all: true, timeout: timeoutMs, stdin: 'ignore', forceKillAfterDelay: 2000 });
  const tail: string[] = [];
  child.all?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      progress(`setup: ${line.slice(0, 300)}`);
    }
  });
  const result = await child;
  const durationMs = Date.now() - started;
  const output = tail.join('\n');
  if (result.timedOut) {
    throw new UserInputError(`bootstrap setup ${JSON.stringify(command)} did not finish within ${timeoutMs / 1000} s and was stopped. Raise bootstrap.setup_timeout_sec or make it faster. Last output:\n${output}`);
  }
  if (result.exitCode !== 0) {
    throw new UserInputError(`bootstrap setup ${JSON.stringify(command)} failed with exit code ${result.exitCode ?? 'unknown'}. Nothing was kept. Last output:\n${output}`);
  }
  return { command, exitCode: 0, durationMs };
}
