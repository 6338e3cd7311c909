import type { Context } from '../core/index.js';
import { listRequests, type PermissionRequest } from '../gate/index.js';
import { agentStatuses, livePanes, refreshTranscripts, type StatusReport } from '../state/index.js';
import { heldReason, listQueue, type QueuedSpawn } from '../fleet/index.js';

/** One agent's row in the watch view. */
export interface FleetRow {
  id: string;
  name: string;
  agent: string;
  status: StatusReport;
  costUsd: number | null;
  lastMessage: string | null;
  pending: PermissionRequest | undefined;
  /** Why the agent is held at its budget (src/fleet/budget.ts), when it is. */
  heldAtBudget?: string | null;
}

export interface FleetSnapshot {
  rows: FleetRow[];
  pending: PermissionRequest[];
  /** Spawns waiting for a slot or for other agents (src/fleet/queue.ts). */
  queued?: QueuedSpawn[];
  at: number;
}

/**
 * Everything the watch view shows, read with one tmux call per server and
 * incremental transcript reads (only bytes appended since the last look), so
 * a 30-agent fleet refreshes in well under a second.
 */
export async function loadFleet(context: Context, options: { transcripts?: boolean } = {}): Promise<FleetSnapshot> {
  const records = context.store.listAgents();
  const statuses = await agentStatuses(context, records, await livePanes(context, records));
  const pending = listRequests(context.store, { pendingOnly: true });
  const rows = records.map((record): FleetRow => {
    let costUsd: number | null = null;
    let lastMessage: string | null = null;
    const session = context.store.claudeSession(record.id);
    if (options.transcripts !== false && session.transcriptPath) {
      try {
        const state = refreshTranscripts(context.store, context.config, record.id, session.transcriptPath);
        const totals = Object.values(state.usage);
        costUsd = totals.some((bucket) => bucket.costUsd === null) ? null : totals.reduce((sum, bucket) => sum + (bucket.costUsd ?? 0), 0);
        lastMessage = state.summary.lastAssistantText;
      } catch {
        // A transcript being rewritten is read again next tick.
      }
    }
    return {
      id: record.id,
      name: record.name,
      agent: record.agentKind,
      status: statuses.get(record.id)!,
      costUsd,
      lastMessage: lastMessage ?? record.taskPreview,
      pending: pending.find((request) => request.agentId === record.id),
      heldAtBudget: heldReason(context, record.id),
    };
  });
  return { rows, pending, queued: listQueue(context), at: Date.now() };
}
