import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExternalToolError } from '../errors.js';

type Env = Record<string, string | undefined>;
type ClaudeJson = Record<string, unknown> & { projects?: Record<string, Record<string, unknown>> };

/** Claude Code's global state file for a child running with this environment. */
export function claudeJsonFor(env: Env): string {
  if (env.CLAUDE_CONFIG_DIR) return join(env.CLAUDE_CONFIG_DIR, '.claude.json');
  return join(env.HOME || homedir(), '.claude.json');
}

export function readClaudeJson(path: string): ClaudeJson | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ClaudeJson;
  } catch {
    return undefined;
  }
}

/**
 * Read-modify-write of `~/.claude.json` that never loses Claude's own writes:
 * Claude rewrites the file often, so we write a temp file, check that nobody
 * changed the original meanwhile, and rename over it; on a race we start again.
 * `mutate` returns false when no change is needed.
 */
export function updateClaudeJson(path: string, mutate: (json: ClaudeJson) => boolean): void {
  const target = existsSync(path) ? realpathSync(path) : path;
  for (let attempt = 1; attempt <= 20; attempt++) {
    let original = '';
    let mode = 0o600;
    if (existsSync(target)) {
      original = readFileSync(target, 'utf8');
      mode = statSync(target).mode & 0o777;
    }
    let json: ClaudeJson;
    try {
      json = original.trim() ? (JSON.parse(original) as ClaudeJson) : {};
    } catch {
      // Most likely caught mid-write by another process; look again shortly.
      sleepSync(20 * attempt);
      continue;
    }
    if (!mutate(json)) return;
    const temp = `${target}.ringmaster-${process.pid}-${randomBytes(4).toString('hex')}`;
    writeFileSync(temp, `${JSON.stringify(json, null, 2)}\n`, { mode });
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (current !== original) {
      unlinkSync(temp);
      continue;
    }
    renameSync(temp, target);
    return;
  }
  throw new ExternalToolError(`Could not update ${path}: it kept changing or is not valid JSON. Check the file, then try again.`);
}

/** Marks a folder trusted so Claude's "Quick safety check" never blocks a child. */
export function trustFolder(claudeJsonPath: string, folder: string): void {
  updateClaudeJson(claudeJsonPath, (json) => {
    const projects = (json.projects ??= {});
    const entry = (projects[folder] ??= {});
    if (entry.hasTrustDialogAccepted === true) return false;
    entry.hasTrustDialogAccepted = true;
    return true;
  });
}

/** Drops the per-folder entry ringmaster's trust created, once the worktree is gone. */
export function forgetFolder(claudeJsonPath: string, folder: string): void {
  if (!existsSync(claudeJsonPath)) return;
  updateClaudeJson(claudeJsonPath, (json) => {
    if (!json.projects || !(folder in json.projects)) return false;
    delete json.projects[folder];
    return true;
  });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
