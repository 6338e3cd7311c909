import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { previewMerge, realChanges } from '../adapters/git.js';
import type { AgentRecord } from '../store/store.js';
import type { Context } from '../core/index.js';

/**
 * Overlap warnings: which live agents change the same files, and whose
 * branches would conflict with each other's or with their base's tip, before
 * anyone merges. Cheap and incremental:
 * - an agent's committed files are cached by (HEAD, base commit) and only
 *   recomputed when its HEAD moves;
 * - its uncommitted files come from one `git status`, redone only when its
 *   index changed or the last look is older than UNCOMMITTED_TTL_MS (editors
 *   change files without touching the index);
 * - `git merge-tree --write-tree` runs only for a pair of HEADs (or a HEAD and
 *   a base tip) it has not seen, and only when their commits share a file:
 *   commits are immutable, so a result never goes stale.
 * Attempts of one group (best-of-N) are meant to overlap and are not paired.
 */

export interface OverlapWith {
  agent: string;
  /** Files both agents change (committed or not). */
  sameFiles: string[];
  /** Files `git merge-tree` says would conflict between the two branches' commits; empty when they merge cleanly. */
  conflictFiles: string[];
}

export interface AgentOverlap {
  agent: string;
  overlaps: OverlapWith[];
  /** Files that conflict with the current tip of the agent's base branch (it moved since the agent started). */
  baseConflictFiles: string[];
}

const UNCOMMITTED_TTL_MS = 2_000;

interface AgentFiles {
  head: string;
  committed: { key: string; files: string[] };
  uncommitted: { indexStamp: string; at: number; files: string[] };
}

const fileCache = new WeakMap<object, Map<string, AgentFiles>>();
const mergeCache = new Map<string, string[]>();
const MAX_MERGE_CACHE = 5_000;

/**
 * Overlaps of every live agent in `records` (default: all live agents) with
 * every other live agent of the same repository. Agents without any overlap
 * are left out of the map.
 */
export async function fleetOverlaps(context: Context, records: AgentRecord[] = context.store.listAgents(), options: { fresh?: boolean } = {}): Promise<Map<string, AgentOverlap>> {
  // async: a store that cannot be read (the default records) rejects the promise, never throws beside it.
  // Views called together (list_agents, read_agent_state, a wait, the notifier) share one computation per second.
  const key = records.map((record) => `${record.id}:${record.state}`).join(',');
  const memo = memos.get(context.store);
  if (!options.fresh && memo && memo.key === key && Date.now() - memo.at < SHARE_MS) return memo.result;
  const result = computeOverlaps(context, records);
  memos.set(context.store, { key, at: Date.now(), result });
  result.catch(() => memos.delete(context.store));
  return result;
}

const SHARE_MS = 1_000;
const memos = new WeakMap<object, { key: string; at: number; result: Promise<Map<string, AgentOverlap>> }>();

async function computeOverlaps(context: Context, records: AgentRecord[]): Promise<Map<string, AgentOverlap>> {
  const live = records.filter((record) => record.state !== 'removed' && existsSync(record.worktreePath));
  const groups = attemptGroups(context);
  const byRepo = new Map<string, Array<{ record: AgentRecord; files: AgentFiles }>>();
  for (const record of live) {
    const files = await agentFiles(context, record).catch(() => undefined);
    if (!files) continue;
    byRepo.set(record.repo, [...(byRepo.get(record.repo) ?? []), { record, files }]);
  }
  const result = new Map<string, AgentOverlap>();
  const entry = (record: AgentRecord) => {
    let value = result.get(record.id);
    if (!value) result.set(record.id, (value = { agent: record.name, overlaps: [], baseConflictFiles: [] }));
    return value;
  };
  for (const [repo, agents] of byRepo) {
    for (const { record, files } of agents) {
      const baseTip = await context.git.resolveCommit(repo, record.baseRef).catch(() => undefined);
      if (baseTip && baseTip !== record.baseCommit && files.head !== baseTip) {
        const conflicts = await mergeConflicts(repo, baseTip, files.head);
        if (conflicts.length > 0) entry(record).baseConflictFiles = conflicts;
      }
    }
    for (let i = 0; i < agents.length; i++) {
      for (let j = i + 1; j < agents.length; j++) {
        const a = agents[i]!;
        const b = agents[j]!;
        if (groups.get(a.record.id) !== undefined && groups.get(a.record.id) === groups.get(b.record.id)) continue;
        const setB = new Set(allFiles(b.files));
        const sameFiles = allFiles(a.files).filter((file) => setB.has(file)).sort();
        // A conflict needs both branches to change one path, so merge-tree runs only when their commits share a file.
        const committedB = new Set(b.files.committed.files);
        const mayConflict = a.files.head !== b.files.head && a.files.committed.files.some((file) => committedB.has(file));
        const conflictFiles = mayConflict ? await mergeConflicts(repo, a.files.head, b.files.head) : [];
        if (sameFiles.length === 0 && conflictFiles.length === 0) continue;
        entry(a.record).overlaps.push({ agent: b.record.name, sameFiles, conflictFiles });
        entry(b.record).overlaps.push({ agent: a.record.name, sameFiles, conflictFiles });
      }
    }
  }
  return result;
}

/** One line per agent with an overlap, for summaries, events and notices. */
export function describeOverlap(overlap: AgentOverlap): string {
  const parts = overlap.overlaps.map((other) =>
    other.conflictFiles.length > 0
      ? `its branch conflicts with ${other.agent}'s in ${preview(other.conflictFiles)}`
      : `${other.agent} also changes ${preview(other.sameFiles)}`,
  );
  if (overlap.baseConflictFiles.length > 0) parts.push(`its branch conflicts with its base's new commits in ${preview(overlap.baseConflictFiles)}`);
  return `${overlap.agent}: ${parts.join('; ')}`;
}

/** A stable key of what an overlap says, so a watcher tells the parent only when it changes. */
export function overlapKey(overlap: AgentOverlap | undefined): string {
  if (!overlap) return '';
  return JSON.stringify([overlap.overlaps.map((other) => [other.agent, other.sameFiles, other.conflictFiles]).sort(), overlap.baseConflictFiles]);
}

function allFiles(files: AgentFiles): string[] {
  return [...new Set([...files.committed.files, ...files.uncommitted.files])];
}

async function agentFiles(context: Context, record: AgentRecord): Promise<AgentFiles | undefined> {
  let cache = fileCache.get(context.store);
  if (!cache) fileCache.set(context.store, (cache = new Map()));
  const head = await context.git.headCommit(record.worktreePath);
  if (!head) return undefined;
  const previous = cache.get(record.id);
  const committedKey = `${head}:${record.baseCommit}`;
  const committed =
    previous?.committed.key === committedKey
      ? previous.committed
      : {
          key: committedKey,
          files: (await context.git.run(record.worktreePath, ['diff', '--name-only', '-z', '--no-renames', `${record.baseCommit}...${head}`])).split('\0').filter(Boolean),
        };
  const indexStamp = `${head}:${indexStat(record)}`;
  const fresh = previous && previous.uncommitted.indexStamp === indexStamp && Date.now() - previous.uncommitted.at < UNCOMMITTED_TTL_MS;
  const uncommitted = fresh ? previous.uncommitted : { indexStamp, at: Date.now(), files: realChanges(record.worktreePath, await context.git.dirtyFiles(record.worktreePath)) };
  const files = { head, committed, uncommitted };
  cache.set(record.id, files);
  return files;
}

/** The worktree's index file (its `.git` file names the folder that holds it): its change time and size. */
function indexStat(record: AgentRecord): string {
  try {
    const pointer = /^gitdir: (.+)$/m.exec(readFileSync(join(record.worktreePath, '.git'), 'utf8'))?.[1]?.trim();
    if (!pointer) return 'no-index';
    const stat = statSync(join(resolve(record.worktreePath, pointer), 'index'));
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return 'no-index';
  }
}

async function mergeConflicts(repo: string, ours: string, theirs: string): Promise<string[]> {
  const key = [ours, theirs].sort().join(':');
  const cached = mergeCache.get(key);
  if (cached) return cached;
  const preview = await previewMerge(repo, ours, theirs).catch(() => ({ clean: true, conflictedFiles: [] }));
  if (mergeCache.size >= MAX_MERGE_CACHE) mergeCache.delete(mergeCache.keys().next().value!);
  mergeCache.set(key, preview.conflictedFiles);
  return preview.conflictedFiles;
}

function attemptGroups(context: Context): Map<string, string> {
  try {
    const rows = context.store.db.prepare(`SELECT agent_id, group_id FROM attempts`).all() as Array<{ agent_id: string; group_id: string }>;
    return new Map(rows.map((row) => [row.agent_id, row.group_id]));
  } catch {
    return new Map();
  }
}

function preview(files: string[], count = 5): string {
  return files.slice(0, count).join(', ') + (files.length > count ? ` and ${files.length - count} more` : '');
}

/** How many merge previews are cached: tests use it to see that unchanged HEADs cost no new merge-tree. */
export function mergePreviewsCached(): number {
  return mergeCache.size;
}
