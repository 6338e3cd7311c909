import { existsSync, statSync } from 'node:fs';
import type { AgentRecord } from '../store/store.js';
import { type Context, type ProgressReporter } from '../core/index.js';
import { audit } from '../gate/index.js';
import { agentStatuses } from '../state/index.js';
import { cleanupAgent } from './cleanup.js';

/**
 * `ringmaster gc`: tidies agents nobody is using. A candidate is an agent
 * inactive for longer than `gc.inactiveHours`, or one past the per-repository
 * worktree cap (the least recently active go first). A candidate is removed
 * only when its work is safe: a clean worktree whose commits are merged into
 * its base, or pushed to its upstream and unchanged since, or that has no
 * commits of its own. Everything else is kept and listed with why. Removal is
 * cleanup_worktree without force (which checks again), keeping the branch.
 */

export interface GcOptions {
  /** Override gc.inactiveHours. */
  inactiveHours?: number;
  /** Override gc.maxWorktreesPerRepo. */
  maxPerRepo?: number;
  /** List what would go, remove nothing. */
  dryRun?: boolean;
}

export interface GcEntry {
  name: string;
  repo: string;
  branch: string;
  /** Why it was looked at: inactive for how long, or past the cap. */
  candidate: string;
  /** Why its work is safe (removed) or why it was kept. */
  why: string;
}

export interface GcResult {
  removed: GcEntry[];
  kept: GcEntry[];
  /** Agents not looked at: active, and within the cap. */
  untouched: number;
  dryRun: boolean;
}

const BUSY = new Set(['spawning', 'starting', 'working', 'waiting_permission', 'waiting_input', 'stalled']);

export async function runGc(context: Context, options: GcOptions = {}, progress: ProgressReporter = () => {}): Promise<GcResult> {
  const { config, store } = context;
  const inactiveMs = (options.inactiveHours ?? config.gc.inactiveHours) * 3_600_000;
  const cap = options.maxPerRepo ?? config.gc.maxWorktreesPerRepo;
  const records = store.listAgents().filter((record) => record.state === 'running');
  const now = Date.now();
  const activity = new Map(records.map((record) => [record.id, lastActivity(context, record)]));

  const candidates = new Map<string, string>();
  for (const record of records) {
    const idle = now - activity.get(record.id)!;
    if (idle > inactiveMs) candidates.set(record.id, `inactive for ${formatHours(idle)} (limit ${formatHours(inactiveMs)})`);
  }
  if (cap > 0) {
    const byRepo = new Map<string, AgentRecord[]>();
    for (const record of records) byRepo.set(record.repo, [...(byRepo.get(record.repo) ?? []), record]);
    for (const [repo, inRepo] of byRepo) {
      if (inRepo.length <= cap) continue;
      const oldestFirst = [...inRepo].sort((a, b) => activity.get(a.id)! - activity.get(b.id)!);
      for (const record of oldestFirst.slice(0, inRepo.length - cap)) {
        if (!candidates.has(record.id)) candidates.set(record.id, `${inRepo.length} worktrees in ${repo}, past the cap of ${cap}`);
      }
    }
  }

  const looked = records.filter((record) => candidates.has(record.id));
  const statuses = await agentStatuses(context, looked);
  const result: GcResult = { removed: [], kept: [], untouched: records.length - looked.length, dryRun: Boolean(options.dryRun) };
  for (const record of looked) {
    const entry = { name: record.name, repo: record.repo, branch: record.branch, candidate: candidates.get(record.id)! };
    const status = statuses.get(record.id)!;
    if (BUSY.has(status.state)) {
      result.kept.push({ ...entry, why: `it is ${status.state} right now` });
      continue;
    }
    const safety = await workSafety(context, record);
    if (!safety.safe) {
      result.kept.push({ ...entry, why: safety.why });
      continue;
    }
    if (options.dryRun) {
      result.removed.push({ ...entry, why: `would be removed: ${safety.why}` });
      continue;
    }
    progress(`Removing ${record.name}: ${entry.candidate}; ${safety.why}`);
    try {
      await cleanupAgent(context, { name: record.name });
      result.removed.push({ ...entry, why: safety.why });
      audit(store, { agentId: record.id, agentName: record.name, requestId: null, category: 'gc', tool: null, summary: entry.candidate, outcome: 'removed', actor: 'ringmaster', note: safety.why });
    } catch (error) {
      result.kept.push({ ...entry, why: `cleanup refused: ${(error as Error).message}` });
    }
  }
  return result;
}

/** The newest sign of life: a hook or ringmaster event, the transcript, or the spawn itself. */
function lastActivity(context: Context, record: AgentRecord): number {
  const row = context.store.db.prepare(`SELECT max(at) AS at FROM events WHERE agent_id = ?`).get(record.id) as { at: number | null };
  let latest = Math.max(record.createdAt, row.at ?? 0);
  const { transcriptPath } = context.store.claudeSession(record.id);
  if (transcriptPath) {
    try {
      latest = Math.max(latest, statSync(transcriptPath).mtimeMs);
    } catch {
      // not written yet
    }
  }
  return latest;
}

/** Merged, or pushed and unchanged since, or no work of its own: safe. Anything else is kept, with why. */
async function workSafety(context: Context, record: AgentRecord): Promise<{ safe: boolean; why: string }> {
  const { git } = context;
  if (!existsSync(record.repo)) return { safe: false, why: `its repository ${record.repo} is gone, so its work cannot be checked` };
  if (!existsSync(record.worktreePath)) return { safe: true, why: 'its worktree is already gone' };
  const dirty = await git.dirtyFiles(record.worktreePath);
  if (dirty.length > 0) return { safe: false, why: `${dirty.length} uncommitted change(s) in its worktree (${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ', …' : ''})` };
  const head = await git.headCommit(record.worktreePath);
  if (!head) return { safe: false, why: 'its worktree has no HEAD commit that git can read' };
  if (head === record.baseCommit) return { safe: true, why: 'no commits of its own and no uncommitted changes' };
  const base = await git.resolveCommit(record.repo, record.baseRef);
  if (base && (await git.tryRun(record.repo, ['merge-base', '--is-ancestor', head, base])) !== undefined) return { safe: true, why: `merged into ${record.baseRef}` };
  const push = await git.pushState(record.worktreePath);
  if (push.upstream && push.unpushed === 0) return { safe: true, why: `pushed to ${push.upstream} and unchanged since` };
  if (push.upstream) return { safe: false, why: `${push.unpushed} commit(s) not pushed to ${push.upstream} and not merged into ${record.baseRef}` };
  return { safe: false, why: `commits neither merged into ${record.baseRef} nor pushed (no upstream)` };
}

function formatHours(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours >= 1) return `${hours.toFixed(1)} h`;
  const minutes = ms / 60_000;
  if (minutes >= 1) return `${Math.round(minutes)} min`;
  return `${Math.round(ms / 1000)} s`;
}
