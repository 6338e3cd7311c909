import { UserInputError } from '../errors.js';
import type { Context } from '../core/index.js';
import type { AgentRecord } from '../store/store.js';
import { agentStatuses, findLiveAgent, type StatusReport } from './state.js';
import { livePanes } from './liveness.js';
import { SignalWatcher } from './watch.js';
import { fleetOverlaps, overlapKey, type AgentOverlap } from './overlap.js';

/** Overlaps cost git calls: a wait looks for new ones at most this often. */
const OVERLAP_CHECK_MS = 5_000;

/** How long a pane lookup stands in for a new one when a signal file wakes the wait. */
const PANE_REUSE_MS = 2_000;

/** States that need the parent's attention. */
export const ATTENTION_STATES = ['idle', 'waiting_input', 'waiting_permission', 'exited', 'stalled'] as const;

export interface WaitInput {
  names?: string[];
  timeoutSec: number;
  /** Ignore agents already in an attention state when the wait starts; wait for new arrivals. */
  onlyChanges?: boolean;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** The fallback poll, for signals that leave no file to watch (a tmux session killed from outside). */
  pollMs?: number;
}

export interface WaitResult {
  timedOut: boolean;
  waitedSeconds: number;
  /** The agents that reached (or were in) an attention state. */
  ready: Array<{ name: string; status: StatusReport }>;
  /** Every watched agent's status at the end. */
  agents: Array<{ name: string; status: StatusReport }>;
  /** Watched agents that overlap other live agents (same files, predicted conflicts) at the end. */
  overlaps: AgentOverlap[];
  /** Agents whose overlap appeared or changed during this wait: a new overlap ends the wait too. */
  newOverlaps: string[];
}

/**
 * Blocks until one of the agents needs attention (idle, waiting, exited) or
 * the timeout passes. It wakes on the signal itself (a hook's spool file, the
 * session file, the exit-status file), within milliseconds, and polls only as
 * a fallback.
 */
export async function waitForAgents(context: Context, input: WaitInput): Promise<WaitResult> {
  const records = input.names?.length ? input.names.map((name) => findLiveAgent(context, name)) : context.store.listAgents();
  if (records.length === 0) throw new UserInputError('There are no agents to wait for. Spawn one with spawn_agent first.');
  const watcher = new SignalWatcher(context);
  watcher.track(records);
  try {
    return await waitLoop(context, input, records, watcher);
  } finally {
    watcher.close();
  }
}

async function waitLoop(context: Context, input: WaitInput, records: AgentRecord[], watcher: SignalWatcher): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + input.timeoutSec * 1000;
  const attention = (state: string) => (ATTENTION_STATES as readonly string[]).includes(state);
  let baseline: Map<string, StatusReport> | undefined;
  let lastProgress = 0;
  let panes: { of: Awaited<ReturnType<typeof livePanes>>; at: number } | undefined;
  let woke: 'signal' | 'timeout' = 'timeout';
  const overlapsNow = async () => {
    const all = await fleetOverlaps(context).catch(() => new Map<string, AgentOverlap>());
    return new Map(records.flatMap((record) => (all.has(record.id) ? [[record.id, all.get(record.id)!] as const] : [])));
  };
  let overlaps = await overlapsNow();
  const overlapBaseline = new Map([...overlaps].map(([id, overlap]) => [id, overlapKey(overlap)]));
  let overlapCheckedAt = Date.now();
  const overlapResult = () => {
    const changed = [...overlaps].filter(([id, overlap]) => overlapKey(overlap) !== (overlapBaseline.get(id) ?? '')).map(([, overlap]) => overlap.agent);
    return { overlaps: [...overlaps.values()], newOverlaps: changed };
  };
  for (;;) {
    // A signal file is proof of life that needs no tmux call: panes are looked up again on the
    // fallback poll, or when the last look is over two seconds old.
    if (!panes || woke === 'timeout' || Date.now() - panes.at > PANE_REUSE_MS) panes = { of: await livePanes(context, records), at: Date.now() };
    const statuses = await agentStatuses(context, records, panes.of);
    const snapshot = records.map((record) => ({ name: record.name, status: statuses.get(record.id)! }));
    baseline ??= statuses;
    const ready = snapshot.filter(({ status }, index) => {
      if (!attention(status.state)) return false;
      if (!input.onlyChanges) return true;
      // New since the wait began: a different state, or the same state begun again later.
      const before = baseline!.get(records[index]!.id)!;
      return before.state !== status.state || before.since !== status.since;
    });
    const waitedSeconds = Math.round((Date.now() - started) / 1000);
    if (Date.now() - overlapCheckedAt >= OVERLAP_CHECK_MS) {
      overlaps = await overlapsNow();
      overlapCheckedAt = Date.now();
    }
    const overlapNews = overlapResult();
    if (ready.length > 0 || overlapNews.newOverlaps.length > 0) return { timedOut: false, waitedSeconds, ready, agents: snapshot, ...overlapNews };
    if (Date.now() >= deadline || input.signal?.aborted) return { timedOut: true, waitedSeconds, ready: [], agents: snapshot, ...overlapNews };
    if (input.onProgress && Date.now() - lastProgress >= 5_000) {
      lastProgress = Date.now();
      const counts = new Map<string, number>();
      for (const { status } of snapshot) counts.set(status.state, (counts.get(status.state) ?? 0) + 1);
      input.onProgress(`waited ${waitedSeconds} s: ${[...counts].map(([state, count]) => `${count} ${state}`).join(', ')}`);
    }
    woke = await watcher.next(Math.min(input.pollMs ?? 500, Math.max(1, deadline - Date.now())), input.signal);
  }
}
