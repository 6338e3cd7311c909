import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { GitCommandError, type Git } from '../adapters/git.js';
import type { AgentRecord } from '../store/store.js';
import { limiter } from './limiter.js';

export interface GitSummary {
  branch: string | null;
  /** The commit HEAD points at (null before the first commit). */
  head: string | null;
  base: string;
  ahead: number;
  behind: number;
  dirtyFiles: string[];
  diffStat: { files: number; insertions: number; deletions: number };
  upstream: string | null;
  /** True when HEAD is on the upstream, or on some remote branch when there is no upstream. */
  pushed: boolean;
  unpushedCommits: number | null;
  /** When git was asked (ms since the epoch); a cached summary is as old as this. */
  computedAt: number;
  /** Something in the worktree or its refs changed since: a fresh summary is being computed. */
  stale: boolean;
}

/** What the agent's worktree holds compared with its base, asked of git now. Undefined when the worktree is gone. */
export async function gitSummary(git: Git, agent: AgentRecord): Promise<GitSummary | undefined> {
  if (!existsSync(agent.worktreePath)) return undefined;
  const computedAt = Date.now();
  // The base may be a moving branch; if it has vanished, compare with the commit the agent started from.
  const againstBase = async (base: string) => Promise.all([git.aheadBehind(agent.worktreePath, base), git.diffStatFromForkPoint(agent.worktreePath, base)]);
  const [status, [counts, diffStat]] = await Promise.all([
    git.worktreeStatus(agent.worktreePath),
    againstBase(agent.baseRef).catch((error: unknown) => {
      if (error instanceof GitCommandError) return againstBase(agent.baseCommit);
      throw error;
    }),
  ]);
  const pushed = status.upstream !== null ? status.aheadOfUpstream === 0 : await git.headOnSomeRemote(agent.worktreePath);
  return {
    branch: status.branch ?? null,
    head: status.head,
    base: agent.baseRef,
    ahead: counts.ahead,
    behind: counts.behind,
    dirtyFiles: status.dirtyFiles,
    diffStat,
    upstream: status.upstream,
    pushed,
    unpushedCommits: status.upstream !== null ? status.aheadOfUpstream : null,
    computedAt,
    stale: false,
  };
}

/**
 * Git summaries for a fleet, cached per worktree and asked of git again only
 * when something that feeds them changed, which a few `stat` calls tell:
 * the worktree's HEAD, index and HEAD reflog, the agent's and the base's
 * branch refs, packed-refs, the repository's config (upstreams), the
 * remote-tracking refs, the worktree's top
 * folder, and the agent's newest hook event (a tool call may have edited a
 * file). A summary older than MAX_AGE_MS is refreshed anyway, a few per read
 * when nothing else is being refreshed, for edits no signal shows (a human
 * editing a file in a subfolder in place). Refreshes run in the background, at most
 * CONCURRENCY worktrees at once (each three or four git processes), and one
 * at a time per worktree; a read returns the cached summary with its age.
 */
export class GitSummaryCache {
  static readonly MAX_AGE_MS = 120_000;
  static readonly CONCURRENCY = Math.max(2, Math.min(4, availableParallelism()));
  private readonly entries = new Map<string, { summary: GitSummary | undefined; fingerprint: string; refreshing?: Promise<void> }>();
  private readonly slots = limiter(GitSummaryCache.CONCURRENCY);
  /** Refreshes started and not finished. */
  private pending = 0;
  private readonly locations = new Map<string, { gitDir: string; commonDir: string } | null>();

  constructor(private readonly git: Git) {}

  /**
   * Each agent's summary. One with none cached yet is computed before this
   * returns; a changed one is waited for up to `waitMs` (all of it for one
   * agent), then served from the cache marked stale. `force` refreshes
   * every one of them, changed or not.
   */
  async summaries(records: AgentRecord[], marks: (record: AgentRecord) => number, waitMs: number, options: { force?: boolean } = {}): Promise<Map<string, GitSummary | undefined>> {
    const remotes = new Map<string, string>();
    const mustWait: Promise<void>[] = [];
    const mayWait: Promise<void>[] = [];
    const fingerprints = new Map<string, string>();
    const aged: { record: AgentRecord; fingerprint: string; at: number }[] = [];
    for (const record of records) {
      const key = record.id;
      const fingerprint = this.fingerprint(record, marks(record), remotes);
      fingerprints.set(record.id, fingerprint);
      const entry = this.entries.get(key);
      if (!entry || (!entry.summary && entry.refreshing)) mustWait.push(this.refresh(record, fingerprint));
      // force: ask git again even when no signal says anything changed (an edit in place that touches no index or folder).
      else if (entry.fingerprint !== fingerprint || options.force) mayWait.push(this.refresh(record, fingerprint));
      else if (entry.summary && !entry.refreshing && Date.now() - entry.summary.computedAt > GitSummaryCache.MAX_AGE_MS) aged.push({ record, fingerprint, at: entry.summary.computedAt });
    }
    // The safety net for changes no signal shows trickles: the oldest few per read, and only when no refresh is waiting.
    if (this.pending === 0) {
      for (const { record, fingerprint } of aged.sort((a, b) => a.at - b.at).slice(0, GitSummaryCache.CONCURRENCY)) void this.refresh(record, fingerprint);
    }
    const waited = mustWait.length + mayWait.length > 0;
    await Promise.all(mustWait);
    if (mayWait.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(mayWait), new Promise((done) => (timer = setTimeout(done, waitMs)))]);
      clearTimeout(timer);
    }
    const result = new Map<string, GitSummary | undefined>();
    for (const record of records) {
      const entry = this.entries.get(record.id);
      // After a wait, anything may have changed again meanwhile: look again.
      const current = waited ? this.fingerprint(record, marks(record), new Map()) : fingerprints.get(record.id);
      result.set(record.id, entry?.summary && (entry.fingerprint === current ? entry.summary : { ...entry.summary, stale: true }));
    }
    return result;
  }

  /** Forgets an agent (its worktree was removed). */
  forget(agentId: string): void {
    this.entries.delete(agentId);
  }

  private refresh(record: AgentRecord, fingerprint: string): Promise<void> {
    const entry = this.entries.get(record.id);
    if (entry?.refreshing) return entry.refreshing;
    this.pending++;
    const refreshing = this.slots(async () => {
      // Taken before git is asked: a change while it runs shows as a new fingerprint on the next read.
      const before = fingerprint;
      const summary = await gitSummary(this.git, record).catch(() => undefined);
      this.entries.set(record.id, { summary, fingerprint: before });
    }).finally(() => {
      this.pending--;
      const current = this.entries.get(record.id);
      if (current) delete current.refreshing;
    });
    if (entry) entry.refreshing = refreshing;
    else this.entries.set(record.id, { summary: undefined, fingerprint: '', refreshing });
    return refreshing;
  }

  /** A string that changes whenever anything feeding the agent's summary changes (a few stat calls). */
  private fingerprint(record: AgentRecord, mark: number, remotes: Map<string, string>): string {
    const where = this.locate(record.worktreePath);
    if (!where) return `gone:${stamp(record.worktreePath)}`;
    const { gitDir, commonDir } = where;
    // What the repository's agents share is looked at once per read.
    const sharedKey = `${commonDir}\0${record.baseRef}`;
    let shared = remotes.get(sharedKey);
    if (shared === undefined) {
      shared = [stamp(join(commonDir, 'packed-refs')), stamp(join(commonDir, 'config')), stamp(join(commonDir, 'refs', 'heads', record.baseRef)), treeStamp(join(commonDir, 'refs', 'remotes'))].join('|');
      remotes.set(sharedKey, shared);
    }
    return [mark, stamp(record.worktreePath), stamp(join(gitDir, 'HEAD')), stamp(join(gitDir, 'index')), stamp(join(gitDir, 'logs', 'HEAD')), stamp(join(commonDir, 'refs', 'heads', record.branch)), shared].join('|');
  }

  /** The worktree's own git folder and the repository's common one, read from its `.git` file once. */
  private locate(worktreePath: string): { gitDir: string; commonDir: string } | null {
    const known = this.locations.get(worktreePath);
    if (known && existsSync(known.gitDir)) return known;
    let where: { gitDir: string; commonDir: string } | null = null;
    try {
      const dotGit = join(worktreePath, '.git');
      if (statSync(dotGit).isDirectory()) where = { gitDir: dotGit, commonDir: dotGit };
      else {
        const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'))?.[1];
        if (pointer) {
          const gitDir = isAbsolute(pointer) ? pointer : resolve(worktreePath, pointer);
          let commonDir = gitDir;
          try {
            commonDir = resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim());
          } catch {
            // no commondir file: the git folder is its own common folder
          }
          where = { gitDir, commonDir };
        }
      }
    } catch {
      where = null;
    }
    this.locations.set(worktreePath, where);
    return where;
  }
}

/** A file's identity and change times, or '-' when it is missing: a few bytes that change whenever git rewrites it. */
export function stamp(path: string): string {
  try {
    const stats = statSync(path, { bigint: false });
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  } catch {
    return '-';
  }
}

/** The modification times of a folder and every folder below it: git renames a ref into place, which touches its folder. */
function treeStamp(path: string): string {
  const parts: string[] = [];
  const walk = (folder: string, depth: number) => {
    parts.push(stamp(folder));
    if (depth > 8) return;
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) walk(join(folder, entry.name), depth + 1);
  };
  walk(path, 0);
  return parts.join(',');
}

const caches = new WeakMap<Git, GitSummaryCache>();

/** The cache that belongs to this git adapter (one per server process). */
export function gitSummaryCache(git: Git): GitSummaryCache {
  let cache = caches.get(git);
  if (!cache) caches.set(git, (cache = new GitSummaryCache(git)));
  return cache;
}
