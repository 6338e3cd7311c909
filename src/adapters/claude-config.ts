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

/** Per-project decisions a worktree should inherit from its main checkout. */
const INHERITED_PROJECT_KEYS = [
  'enabledMcpjsonServers',
  'disabledMcpjsonServers',
  'enableAllProjectMcpServers',
  'hasClaudeMdExternalIncludesApproved',
  'hasClaudeMdExternalIncludesWarningShown',
];

export interface PrepareProjectInput {
  claudeJsonPath: string;
  /** The worktree, as a real path: Claude keys projects by realpath. */
  folder: string;
  /** Extra folders the child is started with (--add-dir); they get a trust answer too. */
  extraFolders?: string[];
  /** The main checkout, whose answers the worktree inherits. */
  mainCheckout: string;
  /** Server names in the worktree's .mcp.json. */
  projectMcpServers: string[];
  /** ANTHROPIC_API_KEY as the child will see it. */
  apiKey?: string;
  /**
   * Entries ringmaster made for agents that are gone: every project under one
   * of these roots that is not in `keep` is dropped in the same write. A
   * running Claude rewrites the file from its own copy and can bring back an
   * entry that cleanup removed; each spawn sweeps them again.
   */
  stale?: { ownedRoots: string[]; keep: string[] };
}

/**
 * Answers, ahead of time, every start-up question Claude Code would otherwise
 * block on in a new folder, the way the user already answered them:
 * - folder trust: yes, for the worktree ringmaster itself created;
 * - project MCP servers and CLAUDE.md imports: as in the main checkout, and
 *   servers never approved there stay off (the safe answer);
 * - the custom API key from the environment: approved unless the user rejected it.
 * Returns notes for anything decided on the user's behalf.
 */
export function prepareClaudeProject(input: PrepareProjectInput): string[] {
  const notes: string[] = [];
  updateClaudeJson(input.claudeJsonPath, (json) => {
    notes.length = 0;
    const projects = (json.projects ??= {});
    const main = projects[input.mainCheckout] ?? {};
    const entry = (projects[input.folder] ??= {});
    let changed = false;
    const set = (key: string, value: unknown) => {
      if (JSON.stringify(entry[key]) === JSON.stringify(value)) return;
      entry[key] = value;
      changed = true;
    };
    set('hasTrustDialogAccepted', true);
    if (input.stale && dropStaleProjects(json, input.stale.ownedRoots, [input.folder, ...(input.extraFolders ?? []), ...input.stale.keep])) changed = true;
    for (const extra of input.extraFolders ?? []) {
      const extraEntry = (projects[extra] ??= {});
      if (extraEntry.hasTrustDialogAccepted !== true) {
        extraEntry.hasTrustDialogAccepted = true;
        changed = true;
      }
    }
    for (const key of INHERITED_PROJECT_KEYS) if (main[key] !== undefined && entry[key] === undefined) set(key, main[key]);
    if (entry.hasClaudeMdExternalIncludesWarningShown === undefined) set('hasClaudeMdExternalIncludesWarningShown', true);
    if (input.projectMcpServers.length > 0 && entry.enableAllProjectMcpServers !== true) {
      const enabled = (entry.enabledMcpjsonServers as string[] | undefined) ?? [];
      const disabled = (entry.disabledMcpjsonServers as string[] | undefined) ?? [];
      const undecided = input.projectMcpServers.filter((server) => !enabled.includes(server) && !disabled.includes(server));
      if (undecided.length > 0) {
        set('disabledMcpjsonServers', [...disabled, ...undecided]);
        notes.push(`.mcp.json servers never approved in the main checkout were left off for this agent: ${undecided.join(', ')}. Approve them in the main checkout to pass them on.`);
      }
    }
    if (input.apiKey) {
      const responses = ((json.customApiKeyResponses as { approved?: string[]; rejected?: string[] } | undefined) ??= {});
      json.customApiKeyResponses = responses;
      const suffix = input.apiKey.slice(-20);
      if (!(responses.rejected ?? []).includes(suffix) && !(responses.approved ?? []).includes(suffix)) {
        responses.approved = [...(responses.approved ?? []), suffix];
        responses.rejected ??= [];
        changed = true;
        notes.push('Approved the ANTHROPIC_API_KEY from the environment for Claude Code, so the child does not stop at "Do you want to use this API key?".');
      }
    }
    return changed;
  });
  return notes;
}

/** Removes project entries under ringmaster's own roots that belong to no live agent; true when any went. */
function dropStaleProjects(json: ClaudeJson, ownedRoots: string[], keep: string[]): boolean {
  const kept = new Set(keep);
  let dropped = false;
  for (const path of Object.keys(json.projects ?? {})) {
    if (kept.has(path) || !ownedRoots.some((root) => path.startsWith(`${root}/`))) continue;
    delete json.projects![path];
    dropped = true;
  }
  return dropped;
}

/**
 * Drops every entry ringmaster made for agents that are gone (folders under
 * `ownedRoots` not in `keep`). Run again and again by the long-lived server:
 * a Claude process that was running when cleanup removed an entry rewrites
 * the file from its own copy and brings the entry back. Returns the count.
 */
export function forgetStaleProjects(claudeJsonPath: string, ownedRoots: string[], keep: string[]): number {
  if (!existsSync(claudeJsonPath)) return 0;
  let count = 0;
  updateClaudeJson(claudeJsonPath, (json) => {
    const before = Object.keys(json.projects ?? {}).length;
    const changed = dropStaleProjects(json, ownedRoots, keep);
    count = before - Object.keys(json.projects ?? {}).length;
    return changed;
  });
  return count;
}

/** Drops the per-folder entries ringmaster created, once the folders are gone. */
export function forgetFolder(claudeJsonPath: string, folders: string[]): void {
  if (!existsSync(claudeJsonPath)) return;
  updateClaudeJson(claudeJsonPath, (json) => {
    const present = folders.filter((folder) => json.projects && folder in json.projects);
    for (const folder of present) delete json.projects![folder];
    return present.length > 0;
  });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
