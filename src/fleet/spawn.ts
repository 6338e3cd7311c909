import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { buildLaunchPlan, MAX_TASK_ARG_BYTES } from '../adapters/agent-cli.js';
import { claudeJsonFor, forgetFolder, prepareClaudeProject, readClaudeJson } from '../adapters/claude-config.js';
import { findExecutable } from '../adapters/process.js';
import { ConflictError, ExternalToolError, UserInputError } from '../errors.js';
import type { AgentKind } from '../store/store.js';
import { agentCommandHint, agentDir, findAgentCommand, type Context, packageRoot, renderPrompt, exitStatusFile, inboxDir, readExitStatus, type ProgressReporter } from '../core/index.js';
import { childEnvironment, envFileText, launchScript } from './launch-script.js';
import { nameFromTask, repoSlug, sessionName, validateName } from './names.js';
import {
  checkExtraArgs,
  claudeSandboxSettings,
  closeEgress,
  type EgressPorts,
  pinnedGateHelper,
  loadPolicy,
  MAX_WAIT_SECONDS,
  openEgress,
  recordUnenforced,
  requireSandbox,
  srtCommand,
  isCredentialVariable,
  srtSettings,
  type Policy,
} from '../gate/index.js';
import { ingestEvents, spoolDir } from '../state/index.js';
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
  /** The agent id, when the queue reserved one before the spawn (src/fleet/queue.ts). */
  id?: string;
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
  /** "sandboxed": OS sandbox plus egress gate; "unenforced": the policy switched the sandbox off, only the hook gate guards. */
  enforcement: 'sandboxed' | 'unenforced';
  notes: string[];
}

const UNENFORCED_NOTE =
  'UNENFORCED: the sandbox is switched off in policy.json, so only the hook gate (a classifier, which can be bypassed) stands between this agent and gated actions.';

/**
 * Creates a branch, a worktree and a tmux session, and starts an agent there
 * with its task. The steps read as the spawn story in CLAUDE.md: validate
 * everything, reserve the name, create the worktree, bootstrap it, write the
 * agent's files, launch it, confirm it took its task. Every step that makes
 * something registers its undo first; if a later step fails, the rollback
 * undoes them in reverse, so a failed spawn leaves nothing behind.
 */
export async function spawnAgent(context: Context, input: SpawnInput, progress: ProgressReporter = () => {}): Promise<SpawnResult> {
  const kind: AgentKind = input.agent ?? 'claude';
  const plan = await validateSpawn(context, input, kind);
  const rollback = new Rollback();
  const agent = reserveAgent(context, input, plan, kind, rollback, progress);
  try {
    await createWorktree(context, agent, rollback, progress);
    const egress = await openAgentEgress(context, agent, plan, rollback, progress);
    const copiedFiles = await copyBootstrapFiles(agent.repo, agent.worktreePath, input.bootstrap?.copy ?? [], progress);
    const setup = input.bootstrap?.setup
      ? await runSetup(
          input.bootstrap.setup,
          agent.worktreePath,
          { ...Object.fromEntries(Object.entries(context.env).filter(([key, value]) => value !== undefined && !isCredentialVariable(key))), ...plan.env } as Record<string, string>,
          (input.bootstrap.setupTimeoutSec ?? context.config.spawn.setupTimeoutSec) * 1000,
          egress && sandboxWrapper(context, agent, egress, plan.policy.sandbox.allowWrite),
          progress,
        )
      : null;
    const prepared = prepareLaunch(context, input, plan, agent, egress, rollback);
    await launchAgent(context, agent, prepared, rollback, progress);
    const startup = await confirmStarted(context, agent, prepared, input.task, progress);

    // The last write, in one transaction: a store failure here rolls back everything above.
    context.store.markRunning(agent.id, prepared.argv, { branch: agent.branch, worktreePath: agent.worktreePath, session: agent.session, kind });
    progress(startup.taskSubmitted ? `Agent "${agent.name}" is working` : `Agent "${agent.name}" started`);
    return {
      id: agent.id,
      name: agent.name,
      agent: kind,
      repo: agent.repo,
      branch: agent.branch,
      base: plan.baseRef,
      baseCommit: plan.baseCommit,
      worktreePath: agent.worktreePath,
      tmuxSession: agent.session,
      tmuxSocket: context.tmux.socket,
      attachCommand: context.tmux.attachCommand(agent.session),
      taskSubmitted: startup.taskSubmitted,
      copiedFiles,
      setup,
      linear: null,
      enforcement: egress ? 'sandboxed' : 'unenforced',
      notes: [...(egress ? [] : [UNENFORCED_NOTE]), ...prepared.notes, ...startup.notes],
    };
  } catch (error) {
    await rollback.run(error, agent.name);
    throw error;
  }
}

/** Undo steps, registered before each thing is made and run in reverse when a later step fails. */
class Rollback {
  private readonly steps: Array<{ what: string; run: () => Promise<unknown> | unknown }> = [];

  add(what: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, run });
  }

  async run(error: unknown, name: string): Promise<void> {
    const leftovers: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.run();
      } catch (undoError) {
        leftovers.push(`${step.what} (${(undoError as Error).message})`);
      }
    }
    if (leftovers.length > 0 && error instanceof Error) {
      error.message += ` Rolling back also failed for: ${leftovers.join('; ')}; run cleanup_worktree on "${name}" with force: true.`;
    }
  }
}

/** The agent as reserved in the store: its identity and where its pieces go. */
interface ReservedAgent {
  id: string;
  name: string;
  kind: AgentKind;
  repo: string;
  branch: string;
  baseCommit: string;
  session: string;
  worktreePath: string;
  /** $RINGMASTER_HOME/agents/<id>: everything ringmaster keeps for the agent, never in the repo. */
  dir: string;
}

export function newAgentId(): string {
  return `ag_${randomBytes(6).toString('hex')}`;
}

/** Step 2: the store's unique index on live names makes the name ours, before anything is made on disk. */
function reserveAgent(context: Context, input: SpawnInput, plan: CheckedSpawn, kind: AgentKind, rollback: Rollback, progress: ProgressReporter): ReservedAgent {
  const { config, store, tmux } = context;
  const id = input.id ?? newAgentId();
  // The real path, so that it matches what git and Claude Code record for the folder.
  const worktreeParent = join(config.worktreeRoot, repoSlug(plan.repo));
  mkdirSync(worktreeParent, { recursive: true });
  const agent: ReservedAgent = {
    id,
    name: plan.name,
    kind,
    repo: plan.repo,
    branch: plan.branch,
    baseCommit: plan.baseCommit,
    session: sessionName(plan.name),
    worktreePath: join(realpathSync(worktreeParent), plan.name),
    dir: agentDir(context, id),
  };
  progress(`Reserving agent "${agent.name}"`);
  store.insertAgent({
    id,
    name: agent.name,
    repo: agent.repo,
    baseRef: plan.baseRef,
    baseCommit: plan.baseCommit,
    branch: agent.branch,
    worktreePath: agent.worktreePath,
    tmuxSocket: tmux.socket,
    tmuxSession: agent.session,
    agentKind: kind,
    model: input.model ?? null,
    task: input.task,
    taskPreview: input.task.slice(0, 200),
  });
  rollback.add('database row', () => store.deleteAgent(id));
  return agent;
}

/** Step 3: the branch and its worktree, after making sure neither the session nor the folder is taken. */
async function createWorktree(context: Context, agent: ReservedAgent, rollback: Rollback, progress: ProgressReporter): Promise<void> {
  const { git, tmux } = context;
  if (await tmux.hasSession(agent.session)) {
    throw new ConflictError(`A tmux session named ${agent.session} already exists on this server. Pick another name, or end that session (tmux kill-session -t ${agent.session}).`);
  }
  if (existsSync(agent.worktreePath)) {
    throw new ConflictError(`${agent.worktreePath} already exists. Pick another name, or move that folder away.`);
  }
  mkdirSync(agent.dir, { recursive: true, mode: 0o700 });
  rollback.add('agent folder', () => rmSync(agent.dir, { recursive: true, force: true }));

  progress(`Creating branch ${agent.branch} and worktree at ${agent.worktreePath}`);
  // Registered before the attempt: a worktree add that fails half-way can leave either piece.
  rollback.add('branch', async () => (await git.branchExists(agent.repo, agent.branch)) && git.deleteBranch(agent.repo, agent.branch));
  rollback.add('worktree', async () => {
    if (existsSync(agent.worktreePath)) await git.removeWorktree(agent.repo, agent.worktreePath);
    await git.pruneWorktrees(agent.repo);
  });
  await git.addWorktree(agent.repo, agent.worktreePath, agent.branch, agent.baseCommit);
}

/**
 * Step 4: the agent's own egress port pair in the gate process, and the
 * sandbox that confines it; or, with the sandbox switched off in the policy,
 * a record that the agent is unenforced.
 */
async function openAgentEgress(context: Context, agent: ReservedAgent, plan: CheckedSpawn, rollback: Rollback, progress: ProgressReporter): Promise<EgressPorts | undefined> {
  const { store, config } = context;
  if (!plan.policy.sandbox.enabled) {
    recordUnenforced(store, agent.id);
    return undefined;
  }
  progress('Opening the agent\'s egress gate');
  rollback.add('egress ports', () => closeEgress(store, config.home, agent.id));
  rollback.add('sandbox temp folder', () => rmSync(srtTempDir(agent.id), { recursive: true, force: true }));
  const gitHosts = await context.git.remoteHosts(agent.repo);
  return openEgress(store, config.home, context.env, { id: agent.id, gitHosts });
}

/**
 * The argv prefix that runs a command inside the agent's sandbox (srt with the
 * agent's own proxies) in its worktree. srt itself starts in the agent's
 * private temp folder: it masks files such as .bashrc and .gitconfig in its
 * working folder with placeholders for as long as it runs, and those must not
 * show up as uncommitted changes in the worktree.
 */
function sandboxWrapper(context: Context, agent: ReservedAgent, egress: EgressPorts, allowWrite: string[]): string[] {
  const settingsPath = join(agent.dir, 'srt-settings.json');
  const options = srtOptions(context, agent, egress, allowWrite);
  writeFileSync(settingsPath, `${JSON.stringify(srtSettings(options), null, 2)}\n`, { mode: 0o600 });
  // srt re-quotes its arguments for `bash -c`, so the change of folder inside is a script file, not an inline string.
  const inWorktree = join(agent.dir, 'in-worktree.sh');
  // The marker tells start-up when the agent itself began (srt's own set-up takes a second or more).
  writeFileSync(inWorktree, `: > ${shellQuote(join(options.tmp, STARTED_MARKER))}\ncd -- ${shellQuote(agent.worktreePath)} || exit 98\nexec "$@"\n`, { mode: 0o700 });
  // `--` ends srt's own options: an agent's `-c` must not be taken as srt's.
  return ['/bin/sh', '-c', 'cd -- "$0" && exec "$@"', options.tmp, ...srtCommand(), '--settings', settingsPath, '--', '/bin/bash', inWorktree];
}

/**
 * What a process in srt may write: its worktree, what git writes when it
 * commits from a worktree (the main repository's .git, less its hooks and
 * config), and a private temp folder.
 */
function srtOptions(context: Context, agent: ReservedAgent, egress: EgressPorts, allowWrite: string[]) {
  const gitDir = join(agent.repo, '.git');
  const tmp = srtTempDir(agent.id);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  return {
    tmp,
    ports: egress,
    ringmasterHome: context.config.home,
    home: context.env.HOME,
    writable: [agent.worktreePath, gitDir, tmp, ...allowWrite],
    readOnly: [join(gitDir, 'hooks'), join(gitDir, 'config')],
  };
}

/** Written inside the sandbox by in-worktree.sh just before the agent starts. */
const STARTED_MARKER = '.agent-started';

/** When the agent in srt started (the marker's time), or null while it has not. */
function srtAgentStartedAt(agentId: string): number | null {
  try {
    return statSync(join(srtTempDir(agentId), STARTED_MARKER)).mtimeMs;
  } catch {
    return null;
  }
}

/** The private temp folder of a process in srt: the one place outside its worktree it may write. */
export function srtTempDir(agentId: string): string {
  return join(tmpdir(), `ringmaster-${agentId}`);
}

interface PreparedLaunch {
  /** The agent runs inside srt (non-Claude agents with the sandbox on). */
  sandboxed: boolean;
  files: AgentFiles;
  argv: string[];
  delivery: 'argv' | 'paste';
  notes: string[];
}

/** Step 5: the agent's files (settings, prompts, env, launch script) and Claude's start-up answers. */
function prepareLaunch(context: Context, input: SpawnInput, plan: CheckedSpawn, agent: ReservedAgent, egress: EgressPorts | undefined, rollback: Rollback): PreparedLaunch {
  const { config } = context;
  const kind = agent.kind;
  const worktreeRoot = realpathSync(config.worktreeRoot);
  const childEnv = childEnvironment(context.env, {
    ...plan.env,
    RINGMASTER_AGENT_ID: agent.id,
    RINGMASTER_AGENT_NAME: agent.name,
    RINGMASTER_HOME: config.home,
    RINGMASTER_WORKTREE_ROOT: worktreeRoot,
    // Inside srt only the agent's private temp folder is writable outside its worktree.
    ...(egress && kind !== 'claude' ? { TMPDIR: srtTempDir(agent.id) } : {}),
  });
  const files = writeAgentFiles(agent.dir, {
    id: agent.id,
    name: agent.name,
    branch: agent.branch,
    baseRef: plan.baseRef,
    worktreePath: agent.worktreePath,
    task: input.task,
    childEnv,
    sandbox: kind === 'claude' && egress ? claudeSandboxSettings({ ports: egress, ringmasterHome: config.home, home: childEnv.HOME, allowWrite: plan.policy.sandbox.allowWrite }) : {},
    worktreeRoot,
    gateHelper: kind === 'claude' ? pinnedGateHelper(config.home, context.env) : undefined,
  });
  const plain = buildLaunchPlan({
    kind,
    config: plan.agentCommand && kind !== 'custom' ? { ...config, agents: { ...config.agents, [kind]: plan.agentCommand } } : config,
    model: input.model,
    // The inbox holds texts too long to type (a long task, a long prompt); Claude may read it without asking.
    extraArgs: [...(input.extraArgs ?? []), ...(kind === 'claude' ? ['--add-dir', inboxDir(agent.dir)] : [])],
    customCommand: input.command,
    settingsPath: files.settingsPath,
    systemPromptPlaceholder: '{system_prompt}',
    taskPlaceholder: '{task}',
  });
  // Claude sandboxes its own Bash; any other agent CLI runs whole inside srt, its model traffic included.
  // (A bootstrap setup in srt left the start marker too: start-up must see the agent's own.)
  rmSync(join(srtTempDir(agent.id), STARTED_MARKER), { force: true });
  const launch = egress && kind !== 'claude' ? { ...plain, argv: [...sandboxWrapper(context, agent, egress, plan.policy.sandbox.allowWrite), ...plain.argv] } : plain;
  writeFileSync(
    files.launchPath,
    launchScript({
      agentId: agent.id,
      agentName: agent.name,
      envFile: files.envPath,
      worktreePath: agent.worktreePath,
      taskArgFile: launch.delivery === 'argv' ? files.taskArgPath : files.emptyPath,
      taskFile: files.taskPath,
      systemPromptFile: files.systemPromptPath,
      exitStatusFile: exitStatusFile(agent.dir),
      argv: launch.argv,
    }),
    { mode: 0o700 },
  );
  const notes = [...files.notes];
  if (kind === 'claude') {
    const claudeJson = claudeJsonFor(childEnv);
    if (readClaudeJson(claudeJson)?.hasCompletedOnboarding !== true) {
      notes.push(`Claude Code's first-run setup is not marked complete in ${claudeJson}; if the child shows the welcome screens, run \`claude\` once in a terminal and finish them.`);
    }
    rollback.add('folder trust', () => forgetFolder(claudeJson, [agent.worktreePath, inboxDir(agent.dir)]));
    notes.push(
      ...prepareClaudeProject({
        claudeJsonPath: claudeJson,
        folder: agent.worktreePath,
        extraFolders: [inboxDir(agent.dir)],
        mainCheckout: agent.repo,
        projectMcpServers: projectMcpServers(agent.worktreePath),
        apiKey: childEnv.ANTHROPIC_API_KEY,
        stale: {
          ownedRoots: [worktreeRoot, dirname(agent.dir)],
          keep: context.store.listAgents().flatMap((other) => [other.worktreePath, inboxDir(agentDir(context, other.id))]),
        },
      }),
    );
  }
  return { sandboxed: Boolean(egress && kind !== 'claude'), files, argv: launch.argv, delivery: launch.delivery, notes };
}

/** Step 6: the tmux session running launch.sh. */
async function launchAgent(context: Context, agent: ReservedAgent, prepared: PreparedLaunch, rollback: Rollback, progress: ProgressReporter): Promise<void> {
  progress(`Starting ${agent.kind} in tmux session ${agent.session}`);
  rollback.add('tmux session', () => context.tmux.killSession(agent.session));
  await context.tmux.newSession({ session: agent.session, cwd: agent.worktreePath, command: ['bash', prepared.files.launchPath], env: { RINGMASTER_AGENT_ID: agent.id } });
}

/** Step 7: watch until the agent demonstrably has its task (or died, which throws and rolls back). */
function confirmStarted(context: Context, agent: ReservedAgent, prepared: PreparedLaunch, task: string, progress: ProgressReporter) {
  const { store, tmux, config } = context;
  return watchStartup({
    tmux,
    session: agent.session,
    kind: agent.kind,
    delivery: prepared.delivery,
    task,
    exitStatus: () => readExitStatus(agent.dir),
    taskSubmitted: () => {
      ingestEvents(store, agent.id, agent.dir);
      return store.recentEvents(agent.id, 20).some((event) => event.kind === 'UserPromptSubmit');
    },
    timeoutMs: config.spawn.startupTimeoutMs,
    progress,
    agentStartedAt: agent.kind !== 'claude' && prepared.sandboxed ? () => srtAgentStartedAt(agent.id) : undefined,
  });
}

export interface CheckedSpawn {
  name: string;
  repo: string;
  branch: string;
  baseRef: string;
  baseCommit: string;
  env: Record<string, string>;
  policy: Policy;
  /** The agent CLI found by findAgentCommand; undefined for custom agents, which bring their own argv. */
  agentCommand: string | undefined;
}

/** Step 1: every check that can fail, before anything is created. */
export async function validateSpawn(context: Context, input: SpawnInput, kind: AgentKind): Promise<CheckedSpawn> {
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
  const childPath = env.PATH ?? context.env.PATH;
  let agentCommand: string | undefined;
  if (kind === 'custom') {
    if (!findExecutable(input.command![0]!, childPath)) {
      throw new ExternalToolError(`The custom agent command "${input.command![0]}" was not found on PATH. Pass an absolute path or install it.`);
    }
  } else {
    // The same lookup as install and doctor: configured command on PATH, then the bundled Claude Code.
    const found = findAgentCommand(context.config, { ...context.env, PATH: childPath }, kind);
    if (!found.path) throw new ExternalToolError(agentCommandHint(kind, found));
    agentCommand = found.path;
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
  checkExtraArgs(kind, input.extraArgs ?? []);
  // A child must not start with a gate that cannot read its policy, nor unsandboxed unless the policy says so.
  const loaded = loadPolicy(context.config.home);
  if (loaded.sandbox.enabled) requireSandbox(context.env);
  // Extra writable folders must exist: the sandbox cannot open a path that is not there.
  const allowWrite = loaded.sandbox.allowWrite.map((path) => (path.startsWith('~/') ? join(context.env.HOME ?? homedir(), path.slice(2)) : path));
  for (const path of allowWrite) mkdirSync(path, { recursive: true });
  const policy = { ...loaded, sandbox: { ...loaded.sandbox, allowWrite } };
  return { name, repo, branch, baseRef, baseCommit, env, policy, agentCommand };
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
  'SubagentStart',
  'SubagentStop',
  'SessionEnd',
] as const;

/**
 * Child-only Claude settings, passed with --settings: the hook events of
 * RECORDED_HOOK_EVENTS are spooled for ringmaster's status (PostToolUse only
 * for POST_TOOL_USE_MATCHER), every tool call passes the permission gate
 * first (which records its PreToolUse itself), and `extra` adds the sandbox
 * (see gate/sandbox.ts). The gate's hook timeout outlasts the longest wait
 * any policy may set, and its onFailure is "block", so a gate hook that
 * times out, cannot start, is killed or fails blocks the call (by default
 * Claude lets it through); "disableAllHooks": false keeps a repository's own
 * settings from switching these hooks off (FACTS.md).
 *
 * With `gateHelper` (the compiled hooks, pinned under RINGMASTER_HOME by
 * gate/gate-helper.ts `pinnedGateHelper`) every hook is that program in
 * exec form (`command` + `args`): Claude starts it with no shell in front,
 * one process per hook instead of two (bench/hooks.mjs). Without one, the
 * hooks are the bash scripts, and the gate's shell prints a deny itself when
 * gate.sh cannot run at all.
 */
/** What the gate's hook command prints when gate.sh could not decide. */
const GATE_FAILED_DENY = JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: 'ringmaster gate could not run; the call is denied (fail-closed).' } });

export function childSettings(spool: string, worktreeRoot: string, extra: Record<string, unknown> = {}, gateHelper?: string): Record<string, unknown> & { hooks: Record<string, unknown> } {
  const root = packageRoot();
  const gateJs = join(root, 'dist', 'src', 'hooks', 'gate.js');
  const gateTimeout = { timeout: GATE_HOOK_TIMEOUT_SECONDS, onFailure: 'block' };
  let record: Record<string, unknown>;
  let gate: Record<string, unknown>;
  if (gateHelper) {
    record = { type: 'command', command: gateHelper, args: ['--record', spool], timeout: 10 };
    // The helper exits 0 whatever it decides; a helper that cannot start, dies or exits otherwise blocks the call.
    gate = { type: 'command', command: gateHelper, args: [process.execPath, gateJs, worktreeRoot, spool], ...gateTimeout };
  } else {
    record = { type: 'command', command: `/bin/bash ${shellQuote(join(root, 'src', 'hooks', 'record-event.sh'))} ${shellQuote(spool)}`, timeout: 10 };
    // Not exec'd: when gate.sh cannot run at all (no bash) the shell prints the deny itself. gate.sh exits 0 whatever it decides.
    const gateArgs = [process.execPath, gateJs, worktreeRoot, spool].map(shellQuote).join(' ');
    gate = { type: 'command', command: `/bin/bash ${shellQuote(join(root, 'src', 'hooks', 'gate.sh'))} ${gateArgs} || printf '%s\\n' ${shellQuote(GATE_FAILED_DENY)}`, ...gateTimeout };
  }
  const hooks: Record<string, unknown> = {};
  for (const event of RECORDED_HOOK_EVENTS) hooks[event] = [{ hooks: [record] }];
  // PostToolUse only where it says something no other signal does: that an Agent call went to the background
  // (tool_response.isAsync). Claude spends about as much on a hook as a tool call's own overhead, so a hook after
  // every call was a sixth of a busy child's turn (bench/hooks.mjs). A call's end is read from its tool result in
  // the transcript (toolFinished), a backgrounded command from its PreToolUse and the Stop's task list, an egress
  // refusal is told at the next PreToolUse or at the Stop (the gate and the recorder).
  hooks.PostToolUse = [{ matcher: POST_TOOL_USE_MATCHER, hooks: [record] }];
  // The gate records the PreToolUse payload itself: one hook process per call before the tool runs.
  // onFailure "block": checked on 2.1.329, see CLAUDE.md and e2e/claude-gate.test.ts.
  hooks.PreToolUse = [{ hooks: [gate] }];
  return { ...extra, disableAllHooks: false, hooks };
}

/** The tools whose PostToolUse a child records (see childSettings). */
export const POST_TOOL_USE_MATCHER = 'Agent|Task';

/** The gate denies by itself when its wait runs out, always before Claude would time the hook out. */
export const GATE_HOOK_TIMEOUT_SECONDS = MAX_WAIT_SECONDS + 60;

/** The per-agent folder under $RINGMASTER_HOME/agents/<id>: nothing is ever written into the repo. */
function writeAgentFiles(
  dir: string,
  agent: { id: string; name: string; branch: string; baseRef: string; worktreePath: string; task: string; childEnv: Record<string, string>; sandbox: Record<string, unknown>; worktreeRoot: string; gateHelper?: string },
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
  // Child-only Claude settings, passed with --settings: hook events are
  // spooled for ringmaster's status (see childSettings).
  mkdirSync(spoolDir(dir), { recursive: true, mode: 0o700 });
  writeFileSync(files.settingsPath, `${JSON.stringify(childSettings(spoolDir(dir), agent.worktreeRoot, agent.sandbox, agent.gateHelper), null, 2)}\n`, { mode: 0o600 });
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
  const { glob } = await import('tinyglobby');
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
  /** The sandbox the command runs in (the agent's own), or undefined when the policy switched it off. */
  sandbox: string[] | undefined,
  progress: ProgressReporter,
): Promise<{ command: string; exitCode: number; durationMs: number }> {
  progress(`Running setup${sandbox ? ' in the sandbox' : ''}: ${command}`);
  const started = Date.now();
  const argv = [...(sandbox ?? []), 'sh', '-c', command];
  // execa loads only when a spawn runs a setup command: the server starts without it.
  const { execa } = await import('execa');
  const child = execa(argv[0]!, argv.slice(1), { cwd, env, extendEnv: false, reject: false, all: true, timeout: timeoutMs, stdin: 'ignore', forceKillAfterDelay: 2000 });
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
