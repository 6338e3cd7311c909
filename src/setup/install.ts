import { join } from 'node:path';
import { ExternalToolError, UserInputError } from '../errors.js';
import { agentCommandHint, type Context, findAgentCommand, packageRoot } from '../core/index.js';
import { findExecutable } from '../adapters/process.js';

/** Where Claude Code keeps the registration, as `claude mcp add --scope` names them. */
export const INSTALL_SCOPES = ['user', 'project', 'local'] as const;
export type InstallScope = (typeof INSTALL_SCOPES)[number];

/**
 * Node flags of the registered server, which lives as long as the Claude
 * session. V8 lets the young generation grow to 16 MB per semi-space, and the
 * old one to up to 4× what survived its last full collection, and keeps what
 * it grew to. With a 1 MB semi-space and a 1.5× growth the server sat at
 * 69–71 MB idle instead of 80–83, and 90–99 MB instead of 120–128 MB after a
 * 100-agent fleet's reads, with reads no slower (`node bench/run.mjs scale`;
 * `--optimize-for-size` saved as much but slowed list_agents 2×). V8 takes
 * them only from node's command line: `v8.setFlagsFromString` at run time
 * changes nothing.
 */
export const SERVE_NODE_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=50'];

export interface InstallResult {
  claude: string;
  /** True when `claude` on PATH is the one used, so hints may say plain `claude`. */
  claudeOnPath: boolean;
  scope: InstallScope;
  command: string[];
  replacedExisting: boolean;
  output: string;
}

/**
 * Registers this ringmaster with Claude Code through Claude's own
 * `claude mcp add`, with absolute paths so it works from any folder. Project
 * and local scope belong to the folder `cwd` (Claude writes `.mcp.json` there,
 * or the project's entry in ~/.claude.json).
 */
export async function installIntoClaude(context: Context, options: { scope?: InstallScope; cwd?: string } = {}): Promise<InstallResult> {
  const scope = options.scope ?? 'user';
  if (!(INSTALL_SCOPES as readonly string[]).includes(scope)) throw new UserInputError(`--scope must be one of ${INSTALL_SCOPES.join(', ')}.`);
  const found = findAgentCommand(context.config, context.env, 'claude');
  if (!found.path) throw new ExternalToolError(`${agentCommandHint('claude', found)} Then run \`ringmaster install\` again.`);
  const claude = found.path;
  const env = { CLAUDECODE: undefined, ...pickDefined(context.env, ['HOME', 'CLAUDE_CONFIG_DIR', 'PATH']) };
  const { execa } = await import('execa');
  const run = (args: string[]) => execa(claude, args, { env, extendEnv: false, reject: false, timeout: 60_000, all: true, cwd: options.cwd });

  const serveCommand = [process.execPath, ...SERVE_NODE_FLAGS, join(packageRoot(), 'dist', 'src', 'cli.js'), 'serve'];
  // Only settings that differ from the defaults travel with the registration.
  const envArgs = ['RINGMASTER_HOME', 'RINGMASTER_TMUX_SOCKET', 'RINGMASTER_CLAUDE', 'RINGMASTER_CHILD_PERMISSION_MODE']
    .filter((key) => context.env[key])
    .flatMap((key) => ['-e', `${key}=${context.env[key]}`]);

  const existing = await run(['mcp', 'get', 'ringmaster']);
  const replacedExisting = existing.exitCode === 0 && new RegExp(`Scope: ${scope}`, 'i').test(existing.all ?? '');
  if (replacedExisting) await run(['mcp', 'remove', '--scope', scope, 'ringmaster']);
  // The name goes before -e: -e takes any number of values and would swallow it.
  const args = ['mcp', 'add', '--scope', scope, 'ringmaster', ...envArgs, '--', ...serveCommand];
  const added = await run(args);
  if (added.exitCode !== 0) {
    throw new ExternalToolError(`\`claude ${args.join(' ')}\` failed (exit ${added.exitCode}): ${added.all?.trim()}`);
  }
  const claudeOnPath = findExecutable('claude', context.env.PATH) === claude;
  return { claude, claudeOnPath, scope, command: [claude, ...args], replacedExisting, output: added.all?.trim() ?? '' };
}

function pickDefined(env: Record<string, string | undefined>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((key) => env[key] !== undefined).map((key) => [key, env[key]!]));
}
