import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Claude Code's live session file, `~/.claude/sessions/<pid>.json`. It is
 * undocumented, so every field is optional and the pid inside must match.
 * Its `status` (busy / idle) is the one signal that notices an Esc interrupt,
 * which fires no hook.
 */
export interface ClaudeSessionFile {
  pid: number;
  sessionId?: string;
  status?: string;
  statusUpdatedAt?: number;
}

export function claudeConfigDir(env: Record<string, string | undefined>): string {
  return env.CLAUDE_CONFIG_DIR || join(env.HOME || homedir(), '.claude');
}

export function readClaudeSessionFile(configDir: string, pid: number): ClaudeSessionFile | undefined {
  try {
    const json = JSON.parse(readFileSync(join(configDir, 'sessions', `${pid}.json`), 'utf8')) as Record<string, unknown>;
    if (json.pid !== pid) return undefined;
    return {
      pid,
      sessionId: typeof json.sessionId === 'string' ? json.sessionId : undefined,
      status: typeof json.status === 'string' ? json.status : undefined,
      statusUpdatedAt: typeof json.statusUpdatedAt === 'number' ? json.statusUpdatedAt : undefined,
    };
  } catch {
    return undefined;
  }
}
