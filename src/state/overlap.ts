import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { previewMerge, realChanges } from '../adapters/git.js';
import { stamp, type GitSummary } from './git-summary.js';
import { cachedGitSummaries } from './state.js';
import type { AgentRecord } from '../store/store.js';
import type { Context } from '../core/index.js';

/**
 * Overlap warnings: which live agents change the same files, and whose
 * branches would conflict with each other's or with their base's tip, before
 * anyone merges. Cheap and incremental:
 * - an agent's committed files are cached by (HEAD, base commit) and only
 *   recomputed when its HEAD moves;
 * - its HEAD and uncommitted files come from the fleet's cached git summaries
 *   (the same cache and signals as read_agent_state: stat fingerprints of the
 *   worktree and its refs, and the agent's newest hook event), so a look at
 *   the whole fleet starts no git process for an agent that did not change;
 *   an edit in place that no signal shows (a human's editor, not the agent's
 *   tools) is seen by the cache's two-minute refresh, or at once with `fresh`;
 * - the base branch's tip is asked of git only when a file that can hold the
 *   ref changed (baseTip), and then once per repository and base per look;
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

interface AgentFiles {
  head: string;
  committed: { key: string; files: string[] };
  uncommitted: string[];
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
  const result = computeOverlaps(context, records, Boolean(options.fresh));
  memos.set(context.store, { key, at: Date.now(), result });
  result.catch(() => memos.delete(context.store));
  return result;
}

const SHARE_MS = 1_000;
const memos = new WeakMap<object, { key: string; at: number; result: Promise<Map<string, AgentOverlap>> }>();

async function computeOverlaps(context: Context, records: AgentRecord[], fresh: boolean): Promise<Map<string, AgentOverlap>> {
  const live = records.filter((record) => record.state !== 'removed' && existsSync(record.worktreePath));
  const groups = attemptGroups(context);
  const byRepo = new Map<string, Array<{ record: AgentRecord; files: AgentFiles }>>();
  // fresh: every worktree asked of git now; otherwise the cache, which hook events, the index and the refs keep current.
  const summaries = await cachedGitSummaries(context, live, fresh ? { waitMs: 60_000, force: true } : {});
  for (const record of live) {
    const files = await agentFiles(context, record, summaries.get(record.id)).catch(() => undefined);
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
    const tips = new Map<string, Promise<string | undefined>>();
    const tipOf = (ref: string) => {
      let tip = tips.get(ref);
      if (!tip) tips.set(ref, (tip = baseTip(context, repo, ref)));
      return tip;
    };
    for (const { record, files } of agents) {
      const baseTip = await tipOf(record.baseRef);
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
  return [...new Set([...files.committed.files, ...files.uncommitted])];
}

async function agentFiles(context: Context, record: AgentRecord, summary: GitSummary | undefined): Promise<AgentFiles | undefined> {
  let cache = fileCache.get(context.store);
  if (!cache) fileCache.set(context.store, (cache = new Map()));
  const head = summary?.head;
  if (!head) return undefined;
  const previous = cache.get(record.id);
  const committedKey = `${head}:${record.baseCommit}`;
  const committed =
    previous?.committed.key === committedKey
      ? previous.committed
      : head === record.baseCommit
        ? // No commits of its own yet (every fresh agent): nothing to ask git.
          { key: committedKey, files: [] }
        : {
            key: committedKey,
            files: (await context.git.run(record.worktreePath, ['diff', '--name-only', '-z', '--no-renames', `${record.baseCommit}...${head}`])).split('\0').filter(Boolean),
          };
  const files = { head, committed, uncommitted: realChanges(record.worktreePath, summary.dirtyFiles) };
  cache.set(record.id, files);
  return files;
}

const tipCache = new Map<string, { stamp: string; tip: string | undefined }>();
const MAX_TIP_CACHE = 1_000;

/**
 * The commit a base branch points at. Asked of git only when one of the files
 * that can hold the ref changed (git renames a ref into place, so a moved
 * branch always shows as a new stamp); a look at a fleet of one repository
 * then starts no git process for its base.
 */
async function baseTip(context: Context, repo: string, ref: string): Promise<string | undefined> {
  const gitDir = join(repo, '.git');
  const plainName = /^[\w./-]+$/.test(ref) && !ref.includes('..');
  const cacheable = plainName && (statSync(gitDir, { throwIfNoEntry: false })?.isDirectory() ?? false);
  const key = `${repo}\0${ref}`;
  const now = cacheable ? ['HEAD', 'packed-refs', join('refs', 'heads', ref), join('refs', 'remotes', ref), join('refs', 'tags', ref), join('refs', ref)].map((file) => stamp(join(gitDir, file))).join('|') : '';
  const known = tipCache.get(key);
  if (cacheable && known?.stamp === now) return known.tip;
  const tip = await context.git.resolveCommit(repo, ref).catch(() => undefined);
  if (cacheable) {
    if (tipCache.size >= MAX_TIP_CACHE) tipCache.delete(tipCache.keys().next().value!);
    tipCache.set(key, { stamp: now, tip });
  }
  return tip;
}

async function mergeConflicts(repo: string, ours: string, theirs: string): Promise<string[]> {
  const key = [ours, theirs].sort().join(':');
  const cached = mergeCache.get(key);
  if (cached) return cached;
  // A merge-tree that failed (a timeout on a loaded machine, a repository being repacked) says nothing: not cached, asked again next look.
  const preview = await previewMerge(repo, ours, theirs).catch(() => undefined);
  if (!preview) return [];
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
