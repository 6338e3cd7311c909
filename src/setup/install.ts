import { join } from 'node:path';
import { execa } from 'execa';
import { findExecutable } from '../adapters/process.js';
import { ExternalToolError } from '../errors.js';
import { type Context, packageRoot } from '../core/index.js';

export interface InstallResult {
  claude: string;
  command: string[];
  replacedExisting: boolean;
  output: string;
}

/**
 * Registers this ringmaster with Claude Code at user scope through Claude's own
 * `claude mcp add`, with absolute paths so it works from any folder.
 */
export async function installIntoClaude(context: Context): Promise<InstallResult> {
  const claude =
    findExecutable(context.config.agents.claude, context.env.PATH) ?? findExecutable(join(packageRoot(), 'node_modules', '.bin', 'claude'), undefined);
  if (!claude) {
    throw new ExternalToolError('Claude Code was not found. Install it (npm install -g @anthropic-ai/claude-code) or set RINGMASTER_CLAUDE, then run `ringmaster install` again.');
  }
  const env = { CLAUDECODE: undefined, ...pickDefined(context.env, ['HOME', 'CLAUDE_CONFIG_DIR', 'PATH']) };
  const run = (args: string[]) => execa(claude, args, { env, extendEnv: false, reject: false, timeout: 60_000, all: true });

  const serveCommand = [process.execPath, join(packageRoot(), 'dist', 'src', 'cli.js'), 'serve'];
  // Only settings that differ from the defaults travel with the registration.
  const envArgs = ['RINGMASTER_HOME', 'RINGMASTER_TMUX_SOCKET', 'RINGMASTER_CLAUDE', 'RINGMASTER_CHILD_PERMISSION_MODE']
    .filter((key) => context.env[key])
    .flatMap((key) => ['-e', `${key}=${context.env[key]}`]);

  const existing = await run(['mcp', 'get', 'ringmaster']);
  const replacedExisting = existing.exitCode === 0;
  if (replacedExisting) await run(['mcp', 'remove', '--scope', 'user', 'ringmaster']);
  // The name goes before -e: -e takes any number of values and would swallow it.
  const args = ['mcp', 'add', '--scope', 'user', 'ringmaster', ...envArgs, '--', ...serveCommand];
  const added = await run(args);
  if (added.exitCode !== 0) {
    throw new ExternalToolError(`\`claude ${args.join(' ')}\` failed (exit ${added.exitCode}): ${added.all?.trim()}`);
  }
  return { claude, command: [claude, ...args], replacedExisting, output: added.all?.trim() ?? '' };
}

function pickDefined(env: Record<string, string | undefined>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((key) => env[key] !== undefined).map((key) => [key, env[key]!]));
}
