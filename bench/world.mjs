/**
 * A throwaway world for the benchmarks: a temp HOME (with Claude's onboarding
 * marked done), a temp RINGMASTER_HOME, a private tmux socket and temp git
 * repos, all under one temp folder. `cleanup()` kills the private tmux server
 * and every child process the benchmarks started, then removes the folder; it
 * is synchronous so that it can also run from a signal handler.
 *
 * Nothing here touches the real HOME, ~/.claude, ~/.claude.json or the
 * default tmux server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The ringmaster package folder (bench/..), wherever it is checked out. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLAUDE_BIN = join(ROOT, 'node_modules', '.bin', 'claude');

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

export function createWorld() {
  const root = mkdtempSync(join(tmpdir(), 'ringmaster-bench-'));
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true }));
  const ringmasterHome = join(root, 'ringmaster');
  mkdirSync(ringmasterHome, { recursive: true });
  const socket = `bench-${process.pid}`;
  /** Child processes started through run(): killed by pid on cleanup. */
  const children = new Set();
  let cleaned = false;

  const env = {
    ...process.env,
    HOME: home,
    RINGMASTER_HOME: ringmasterHome,
    RINGMASTER_TMUX_SOCKET: socket,
    RINGMASTER_CLAUDE: CLAUDE_BIN,
    GIT_AUTHOR_NAME: 'Ringmaster Bench',
    GIT_COMMITTER_NAME: 'Ringmaster Bench',
    GIT_AUTHOR_EMAIL: 'bench@ringmaster.invalid',
    GIT_COMMITTER_EMAIL: 'bench@ringmaster.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
  };
  for (const key of ['TMUX', 'TMUX_PANE', 'CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT', 'CLAUDE_CODE_SSE_PORT', 'CLAUDE_PROJECT_DIR', 'CLAUDE_ENV_FILE', 'RINGMASTER_CHILD_PERMISSION_MODE', 'CLAUDE_CONFIG_DIR']) {
    delete env[key];
  }

  /** tmux on the private socket only; returns stdout, or '' when tmux fails (e.g. no server yet). */
  function tmuxSync(...args) {
    try {
      return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, TMUX: '' } });
    } catch {
      return '';
    }
  }

  /**
   * Runs a command without blocking the event loop (the scripted model
   * server lives in this process), stdin closed, output collected.
   */
  function run(command, args, options = {}) {
    return new Promise((resolvePromise) => {
      const started = performance.now();
      const child = spawn(command, args, { cwd: options.cwd ?? root, env: options.env ?? env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
      child.on('error', (error) => {
        clearTimeout(timer);
        children.delete(child);
        resolvePromise({ code: null, stdout, stderr: `${stderr}${error.message}`, ms: performance.now() - started });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        resolvePromise({ code, signal, stdout, stderr, ms: performance.now() - started });
      });
      if (options.input !== undefined) child.stdin.end(options.input);
    });
  }

  /** A real git repository with one commit on main. */
  function makeRepo(name) {
    const repo = join(root, 'repos', name);
    mkdirSync(repo, { recursive: true });
    const git = (...args) => execFileSync('git', args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# bench repo\n');
    git('add', '.');
    git('commit', '-q', '-m', 'initial');
    return repo;
  }

  // Where tmux puts a -L socket; tmux 3.3 leaves the file behind after kill-server.
  const socketPath = join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket);

  /** Kills the private tmux server, waits (up to 10 s) for its panes' processes to end, removes the socket file. */
  function killTmux() {
    const panePids = tmuxSync('list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
    tmuxSync('kill-server');
    const deadline = Date.now() + 10_000;
    while (panePids.some(alive) && Date.now() < deadline) sleepSync(100);
    try {
      if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
    } catch {
      // no socket file: the server never started
    }
  }

  function cleanup() {
    if (cleaned) return;
    cleaned = true;
    for (const child of children) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    // Let the agents die before removing their HOME: Claude writes its logs on the way out.
    killTmux();
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    } catch (error) {
      console.error(`bench: could not remove ${root}: ${error.message}`);
    }
  }

  return { root, home, ringmasterHome, socket, env, tmuxSync, run, makeRepo, killTmux, cleanup };
}

/**
 * A synthetic Claude agent of a bench (the state and scale benches): its
 * worktree on branch agent/<name> from `baseCommit`, and its row in the store
 * as spawn would leave it: running, with its Claude session and the path its
 * transcript is to be written to. `kind` names it (`<kind>-<index>`) and keeps
 * the ids and session ids of two benches apart; `tag` is 4 hex digits.
 */
export function addSyntheticAgent(world, store, { kind, tag, index, repo, baseCommit, projectDir }) {
  const id = `ag_${kind}${String(index).padStart(4, '0')}`;
  const name = `${kind}-${index}`;
  const sessionId = `00000000-0000-4000-${tag}-${String(index).padStart(12, '0')}`;
  const worktreePath = join(world.root, 'worktrees', name);
  const transcriptPath = join(projectDir, `${sessionId}.jsonl`);
  execFileSync('git', ['worktree', 'add', '-q', '-b', `agent/${name}`, worktreePath, baseCommit], { cwd: repo, env: world.env, stdio: ['ignore', 'pipe', 'pipe'] });
  registerSyntheticAgent(store, { id, name, index, repo, baseCommit, worktreePath, socket: world.socket, sessionId, transcriptPath });
  return { id, name, sessionId, worktreePath, transcriptPath };
}

function registerSyntheticAgent(store, { id, name, index, repo, baseCommit, worktreePath, socket, sessionId, transcriptPath }) {
  store.insertAgent({
    id,
    name,
    repo,
    baseRef: 'main',
    baseCommit,
    branch: `agent/${name}`,
    worktreePath,
    tmuxSocket: socket,
    tmuxSession: `ringmaster-${name}`,
    agentKind: 'claude',
    model: null,
    task: `synthetic agent ${index}`,
    taskPreview: `synthetic agent ${index}`,
  });
  store.markRunning(id, ['claude']);
  store.setClaudeSession(id, sessionId, transcriptPath);
}
