import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, type Context } from '../../src/core/context.js';
import { srtTempDir } from '../../src/fleet/spawn.js';
import { isProcessAlive } from '../../src/adapters/process.js';
import { loadConfig } from '../../src/config.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FAKE_AGENT = join(ROOT, 'test/fixtures/fake-agent.sh');
export const CLAUDE_BIN = join(ROOT, 'node_modules/.bin/claude');
export const CLI = join(ROOT, 'dist/src/cli.js');

/** A fresh folder under this test file's root (see isolate.ts), removed with it. */
export function tempDir(prefix = 'dir-'): string {
  return mkdtempSync(join(process.env.RINGMASTER_TEST_ROOT ?? tmpdir(), prefix));
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A real repository with one commit on main, at a path that may hold spaces and unicode. */
export function makeRepo(parent: string, name = 'repo'): string {
  const repo = join(parent, name);
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# test repo\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

export interface TestWorld {
  dir: string;
  home: string;
  socket: string;
  env: Record<string, string | undefined>;
  context: Context;
  fakeLog: string;
  tmux: (...args: string[]) => string;
  close: () => Promise<void>;
}

/**
 * A private world per test file: its own RINGMASTER_HOME, HOME and tmux
 * server, so tests can run side by side and never touch the user's.
 */
export function makeWorld(extraEnv: Record<string, string> = {}): TestWorld {
  const dir = tempDir();
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true }));
  const socket = `rm-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fakeLog = join(dir, 'fake-agent-log');
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOME: home,
    RINGMASTER_HOME: join(dir, 'ringmaster'),
    RINGMASTER_TMUX_SOCKET: socket,
    RINGMASTER_CODEX: FAKE_AGENT,
    RINGMASTER_CLAUDE: CLAUDE_BIN,
    FAKE_AGENT_LOG: fakeLog,
    ...extraEnv,
  };
  // The fake agent runs sandboxed like any child; its log folder is the one place outside its worktree it may write.
  mkdirSync(env.RINGMASTER_HOME!, { recursive: true });
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(env.RINGMASTER_HOME!, 'policy.json'), JSON.stringify({ sandbox: { allowWrite: [fakeLog, join(dir, 'logs')] } }));
  const context = createContext(env, loadConfig(env));
  const tmux = (...args: string[]) => {
    try {
      return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      return '';
    }
  };
  return {
    dir,
    home,
    socket,
    env,
    context,
    fakeLog,
    tmux,
    close: async () => {
      // Non-Claude agents' sandbox temp folders live in the system temp folder; cleanup removes them, and so does this.
      let agentIds: string[] = [];
      try {
        agentIds = context.store.listAgents({ includeRemoved: true }).map((record) => record.id);
      } catch {
        // A test that broke the store on purpose.
      }
      context.store.close();
      stopEgress(env.RINGMASTER_HOME!);
      for (const id of agentIds) rmSync(srtTempDir(id), { recursive: true, force: true });
      // Let the agents die before removing their HOME: Claude writes its logs on the way out.
      const pids = tmux('list-panes', '-a', '-F', '#{pane_pid}').split('\n').filter(Boolean).map(Number);
      tmux('kill-server');
      // tmux 3.3a leaves the socket file behind.
      rmSync(join(tmpdir(), `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
      await waitUntil(() => pids.every((pid) => !isProcessAlive(pid)), 10_000, 'agents to exit').catch(() => undefined);
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch {
        // A Claude child may still be flushing logs into HOME as it dies; isolate.ts removes the rest.
      }
    },
  };
}

/** Stops the world's egress gate process, if spawn started one. */
export function stopEgress(ringmasterHome: string): void {
  try {
    const pid = Number(readFileSync(join(ringmasterHome, 'egress', 'egress.pid'), 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    // No gate was started.
  }
}

/** The argv the fake agent was started with. */
export function fakeAgentArgs(log: string): string[] {
  const count = Number(readFileSync(join(log, 'argc'), 'utf8'));
  return Array.from({ length: count }, (_, index) => readFileSync(join(log, `arg.${index}`), 'utf8'));
}

export async function waitUntil<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** How Claude Code starts a hook: the exec form (`command` + `args`) directly, a command string with `sh -c`. */
export function hookArgv(hook: { command: string; args?: string[] }): [string, string[]] {
  return hook.args ? [hook.command, hook.args] : ['sh', ['-c', hook.command]];
}
