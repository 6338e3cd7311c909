import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { execa } from 'execa';
import { claudeJsonFor, readClaudeJson } from '../adapters/claude-config.js';
import { findExecutable } from '../adapters/process.js';
import { describeError } from '../errors.js';
import type { Context } from '../core/index.js';
import { checkStore, type StoreCheckOptions } from './store-check.js';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about it, when not ok. */
  fix?: string;
}

/** Checks everything ringmaster depends on, each with a concrete fix; `fix` and `backup` act on the store (see checkStore). */
export async function runDoctor(context: Context, options: StoreCheckOptions = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const attempt = async (name: string, check: () => Promise<Omit<DoctorCheck, 'name'>>, fix: string) => {
    try {
      checks.push({ name, ...(await check()) });
    } catch (error) {
      checks.push({ name, ok: false, detail: describeError(error), fix });
    }
  };

  await attempt(
    'git',
    async () => {
      const version = await context.git.version();
      const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
      const ok = major > 2 || (major === 2 && minor >= 25);
      return { ok, detail: version, ...(ok ? {} : { fix: 'Upgrade git to 2.25 or newer.' }) };
    },
    'Install git 2.25 or newer (apt-get install git, brew install git).',
  );
  await attempt(
    'tmux',
    async () => ({ ok: true, detail: `${await context.tmux.version()}${context.tmux.socket ? ` (server: ${context.tmux.socket})` : ' (default server)'}` }),
    'Install tmux 3.0 or newer (apt-get install tmux, brew install tmux), or set RINGMASTER_TMUX to its path.',
  );
  await attempt(
    'claude',
    async () => {
      const binary = findExecutable(context.config.agents.claude, context.env.PATH);
      if (!binary) {
        return {
          ok: false,
          detail: `"${context.config.agents.claude}" is not on PATH`,
          fix: 'Install Claude Code (npm install -g @anthropic-ai/claude-code), or set RINGMASTER_CLAUDE to the claude binary.',
        };
      }
      const { stdout } = await execa(binary, ['--version'], { timeout: 20_000, env: { CLAUDECODE: undefined }, extendEnv: true });
      return { ok: true, detail: `${stdout.trim()} at ${binary}` };
    },
    'Check that `claude --version` runs in a terminal.',
  );
  await attempt('store', () => checkStore(context, options), `Make ${context.config.home} writable, or set RINGMASTER_HOME to a writable folder.`);
  await attempt(
    'registration',
    async () => {
      const path = claudeJsonFor(context.env);
      const json = readClaudeJson(path);
      const servers = (json?.mcpServers ?? {}) as Record<string, { command?: string; args?: string[] }>;
      const entry = servers.ringmaster;
      if (!entry) {
        return { ok: false, detail: `ringmaster is not registered at user scope in ${path}`, fix: 'Run `ringmaster install`.' };
      }
      const script = entry.args?.find((arg) => arg.endsWith('.js'));
      if (script && !existsSync(script)) {
        return { ok: false, detail: `registered, but ${script} no longer exists`, fix: 'Run `npm run build`, then `ringmaster install` again.' };
      }
      return { ok: true, detail: `user scope: ${[entry.command, ...(entry.args ?? [])].join(' ')}` };
    },
    'Run `ringmaster install`.',
  );
  await attempt(
    'onboarding',
    async () => {
      const path = claudeJsonFor(context.env);
      const done = readClaudeJson(path)?.hasCompletedOnboarding === true;
      return done
        ? { ok: true, detail: `Claude Code onboarding is complete (${path})` }
        : { ok: false, detail: `Claude Code onboarding is not complete in ${path}; children would stop at the first-run screens`, fix: 'Run `claude` once in a terminal and finish the setup.' };
    },
    'Run `claude` once in a terminal and finish the setup.',
  );
  await attempt(
    'worktrees',
    async () => {
      const root = context.config.worktreeRoot;
      mkdirSync(root, { recursive: true });
      accessSync(root, constants.W_OK);
      return { ok: true, detail: `${root} (writable)` };
    },
    'Set RINGMASTER_WORKTREE_ROOT to a writable folder.',
  );
  return checks;
}
