import type { Context } from '../core/index.js';
import { listRequests, type PermissionRequest } from '../gate/index.js';
import { agentStatuses, livePanes, transcriptDigest, type StatusReport } from '../state/index.js';
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
    const digest = options.transcripts === false ? undefined : transcriptDigest(context.store, context.config, record.id);
    return {
      id: record.id,
      name: record.name,
      agent: record.agentKind,
      status: statuses.get(record.id)!,
      costUsd: digest?.costUsd ?? null,
      lastMessage: digest?.lastMessage ?? record.taskPreview,
      pending: pending.find((request) => request.agentId === record.id),
      heldAtBudget: heldReason(context, record.id),
    };
  });
  return { rows, pending, queued: listQueue(context), at: Date.now() };
}
