import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findExecutable } from '../adapters/process.js';
import type { Config } from '../config.js';
import type { AgentKind } from '../store/store.js';
import { packageRoot } from './paths.js';

export interface FoundAgentCommand {
  /** The executable to run, absolute; undefined when none was found. */
  path: string | undefined;
  /** Where it came from, for doctor and error messages. */
  source: 'configured' | 'bundled' | 'none';
  /** The configured command (a name looked up on PATH, or a path). */
  command: string;
  /** Every place looked, in order, for a helpful "not found". */
  looked: string[];
}

/**
 * The one way every part of ringmaster (install, spawn, doctor) finds an agent
 * CLI: the configured command (`RINGMASTER_CLAUDE`, config.json `agents.claude`,
 * else plain `claude` looked up on PATH), then, for Claude Code, the copy
 * bundled with this package (`@anthropic-ai/claude-code` installed next to it,
 * as `npm ci` does in a checkout).
 */
export function findAgentCommand(config: Config, env: Record<string, string | undefined>, kind: Exclude<AgentKind, 'custom'>): FoundAgentCommand {
  const configured = config.agents[kind];
  const looked = [configured.includes('/') ? configured : `${configured} on PATH`];
  const onPath = findExecutable(configured, env.PATH);
  if (onPath) return { path: onPath, source: 'configured', command: configured, looked };
  if (kind === 'claude') {
    const bundled = bundledClaude();
    looked.push(bundled ?? 'the bundled @anthropic-ai/claude-code (not installed)');
    if (bundled && findExecutable(bundled, undefined)) return { path: bundled, source: 'bundled', command: configured, looked };
  }
  return { path: undefined, source: 'none', command: configured, looked };
}

/** The claude binary of an @anthropic-ai/claude-code package resolvable from this package, wherever npm put it. */
function bundledClaude(): string | undefined {
  try {
    const require = createRequire(join(packageRoot(), 'package.json'));
    const manifestPath = require.resolve('@anthropic-ai/claude-code/package.json');
    const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
    const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.claude;
    return bin ? join(dirname(manifestPath), bin) : undefined;
  } catch {
    return undefined;
  }
}

/** The install hint for a missing agent CLI. */
export function agentCommandHint(kind: Exclude<AgentKind, 'custom'>, found: FoundAgentCommand): string {
  const install: Record<typeof kind, string> = {
    claude: 'npm install -g @anthropic-ai/claude-code',
    codex: 'npm install -g @openai/codex',
    aider: 'pipx install aider-chat',
    opencode: 'npm install -g opencode-ai',
  };
  const where = found.command.includes('/') ? 'does not exist or is not executable' : 'was not found on PATH';
  const bundled = found.looked.length > 1 ? ` (nor ${found.looked.slice(1).join(', ')})` : '';
  return `The ${kind} agent CLI "${found.command}" ${where}${bundled}. Install it (${install[kind]}), or point ringmaster at it (RINGMASTER_${kind.toUpperCase()}=/path/to/${kind}).`;
}
