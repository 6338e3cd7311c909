import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from '../adapters/process.js';
import { ExternalToolError, UserInputError } from '../errors.js';
import type { EgressPorts } from './egress/gate.js';

/**
 * The OS sandbox every child runs in: Claude Code's own sandbox (bubblewrap)
 * for Claude children, `srt` (@anthropic-ai/sandbox-runtime) around the whole
 * process for other agent CLIs. Either way the child's network leaves only
 * through its own egress port pair, and its writes stay in its worktree.
 */

/** Credential stores no child may read: the sandbox hides them from every command it runs. */
export const CREDENTIAL_PATHS = [
  '~/.ssh',
  '~/.git-credentials',
  '~/.config/git/credentials',
  '~/.aws',
  '~/.config/gh',
  '~/.config/hub',
  '~/.config/gcloud',
  '~/.azure',
  '~/.kube',
  '~/.docker/config.json',
  '~/.netrc',
  '~/.npmrc',
  '~/.pypirc',
  '~/.pgpass',
  '~/.my.cnf',
  '~/.terraform.d',
  '~/.claude/.credentials.json',
];

/** Inherited variables that carry credentials or a way around the gate; a child never gets them unless the caller passes them in `env` itself. */
const CREDENTIAL_ENV =
  /^(AWS_.*|AZURE_.*|ARM_.*|GOOGLE_APPLICATION_CREDENTIALS|CLOUDSDK_.*|GITHUB_TOKEN|GH_TOKEN|GH_ENTERPRISE_TOKEN|GITLAB_TOKEN|SLACK_.*|LINEAR_API_KEY|RINGMASTER_TOKEN|SSH_AUTH_SOCK|GIT_ASKPASS|SSH_ASKPASS|NPM_TOKEN|NODE_AUTH_TOKEN|TF_TOKEN_.*|TF_CLOUD_TOKEN|PGPASSWORD|DATABASE_URL|VAULT_TOKEN|DIGITALOCEAN_TOKEN|HEROKU_API_KEY|KUBECONFIG)$/;

export function isCredentialVariable(name: string): boolean {
  return CREDENTIAL_ENV.test(name);
}

/** The paths under $RINGMASTER_HOME a child must never write, with any tool (its worktree lives there too). */
export function protectedStatePaths(ringmasterHome: string): string[] {
  return ['state.db', 'state.db-wal', 'state.db-shm', 'policy.json', 'config.json', 'agents', 'egress', 'bin'].map((entry) => join(ringmasterHome, entry));
}

/**
 * Only paths that exist: bubblewrap masks a missing path by creating an empty
 * file in its place, which would leave an empty ~/.aws or policy.json behind
 * on the host. A credential store created after the spawn is not hidden; nor
 * is it readable by anything the child did not already have.
 */
function existing(paths: string[], home: string | undefined): string[] {
  return paths.filter((path) => existsSync(path.startsWith('~/') && home ? join(home, path.slice(2)) : path));
}

/**
 * Claude settings that make the sandbox the boundary: Bash sandboxed with no
 * escape hatch, network through the agent's own proxies, credential stores
 * unreadable, ringmaster's state unwritable even by the Write and Edit tools
 * (which run outside the sandbox), and the tools that reach the network from
 * Claude's own process denied.
 */
export function claudeSandboxSettings(options: { ports: EgressPorts; ringmasterHome: string; home: string | undefined; allowWrite: string[] }): Record<string, unknown> {
  const state = protectedStatePaths(options.ringmasterHome);
  // One Edit rule covers every file-writing tool; an absolute path takes a double slash.
  const editRules = state.flatMap((path) => [`Edit(/${path})`, `Edit(/${path}/**)`]);
  return {
    permissions: {
      // Inside the sandbox Bash cannot leave the worktree or reach the network unseen, so it need not stop to ask
      // (Claude otherwise asks about any command with a variable); the gate's hook still sees every call first.
      allow: ['Bash'],
      deny: ['WebFetch', 'WebSearch', ...editRules],
    },
    sandbox: {
      enabled: true,
      failIfUnavailable: true,
      allowUnsandboxedCommands: false,
      autoAllowBashIfSandboxed: true,
      network: { httpProxyPort: options.ports.httpPort, socksProxyPort: options.ports.socksPort },
      // Writes are confined to the worktree (and what git needs to commit from it) already; $RINGMASTER_HOME is read-only inside.
      filesystem: { denyRead: existing(CREDENTIAL_PATHS, options.home), ...(options.allowWrite.length ? { allowWrite: options.allowWrite } : {}) },
    },
  };
}

/** srt's settings for a whole non-Claude agent process: its own proxies, writes only in the worktree and temp. */
export function srtSettings(options: { ports: EgressPorts; ringmasterHome: string; home: string | undefined; writable: string[]; readOnly: string[] }): Record<string, unknown> {
  return {
    network: { allowedDomains: [], deniedDomains: [], httpProxyPort: options.ports.httpPort, socksProxyPort: options.ports.socksPort },
    filesystem: {
      denyRead: existing(CREDENTIAL_PATHS, options.home),
      allowWrite: options.writable,
      denyWrite: existing([...protectedStatePaths(options.ringmasterHome), ...options.readOnly], options.home),
    },
  };
}

/** How to run srt: this Node and the sandbox-runtime package ringmaster ships with. */
export function srtCommand(): string[] {
  const cli = createRequire(import.meta.url).resolve('@anthropic-ai/sandbox-runtime/dist/cli.js');
  return [process.execPath, cli];
}

export const SANDBOX_PACKAGES = 'bubblewrap socat ripgrep';

let namespaceProbe: string | undefined | null = null;

/**
 * What the sandbox needs on this machine, or why it cannot run: a spawn with
 * the sandbox on refuses to start a child that would run unsandboxed.
 */
export function sandboxProblem(env: Record<string, string | undefined>): string | undefined {
  const missing = ['bwrap', 'socat', 'rg'].filter((tool) => !findExecutable(tool, env.PATH));
  if (missing.length > 0) {
    return `the sandbox needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not on PATH. Install them (Debian/Ubuntu: apt-get install -y ${SANDBOX_PACKAGES}; Fedora: dnf install bubblewrap socat ripgrep)`;
  }
  if (namespaceProbe === null) {
    try {
      execFileSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--unshare-net', '--unshare-pid', '--proc', '/proc', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
      namespaceProbe = undefined;
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
      namespaceProbe = `bubblewrap cannot create namespaces here (${stderr || (error as Error).message}). Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0), or run where they are allowed`;
    }
  }
  return namespaceProbe;
}

/** Throws the clear error a spawn ends with when the sandbox cannot start. */
export function requireSandbox(env: Record<string, string | undefined>): void {
  const problem = sandboxProblem(env);
  if (problem) {
    throw new ExternalToolError(`Cannot start a sandboxed agent: ${problem}. Nothing was created. (To run agents unenforced instead, set "sandbox": {"enabled": false} in policy.json.)`);
  }
}

/**
 * Arguments that would switch off the hooks, the settings ringmaster passes,
 * the sandbox or the permission checks. Each one is refused with the reason:
 * Claude Code lets a later --settings override an earlier one (FACTS.md).
 */
const FORBIDDEN_CLAUDE_ARGS: Array<{ flag: string; why: string }> = [
  { flag: '--settings', why: 'ringmaster passes the child settings itself (hooks, sandbox); a second --settings would override them' },
  { flag: '--setting-sources', why: 'it changes which settings load, and with them the hooks and sandbox' },
  { flag: '--dangerously-skip-permissions', why: 'it skips every permission check' },
  { flag: '--allow-dangerously-skip-permissions', why: 'it allows skipping every permission check' },
  { flag: '--mcp-config', why: 'children get no MCP servers: they run in Claude\'s own process, outside the sandbox' },
  { flag: '--strict-mcp-config', why: 'ringmaster sets the child\'s MCP configuration itself' },
  { flag: '--add-dir', why: 'each added folder becomes writable inside the sandbox' },
  { flag: '--plugin-dir', why: 'plugins bring hooks and MCP servers that run outside the sandbox' },
  { flag: '--permission-prompt-tool', why: 'permission prompts must reach a human, not a tool' },
];

export function checkExtraArgs(kind: string, extraArgs: string[]): void {
  if (kind !== 'claude') return;
  for (const [index, arg] of extraArgs.entries()) {
    const flag = arg.split('=')[0]!;
    const forbidden = FORBIDDEN_CLAUDE_ARGS.find((entry) => entry.flag === flag);
    if (forbidden) {
      throw new UserInputError(`extra_args may not contain ${flag}: ${forbidden.why}. Remove it; ringmaster's gate must stay on for every child.`);
    }
    if (flag === '--permission-mode') {
      const mode = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : extraArgs[index + 1];
      if (mode === 'bypassPermissions') throw new UserInputError('extra_args may not set --permission-mode bypassPermissions: it skips every permission check. Use acceptEdits or default.');
    }
  }
}
