import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, UserInputError } from '../errors.js';
import type { Policy } from './policy.js';
import type { Store } from '../store/store.js';

export type RequestState = 'pending' | 'approved' | 'denied' | 'expired';

export interface PermissionRequest {
  id: string;
  agentId: string | null;
  agentName: string | null;
  tool: string;
  summary: string;
  category: string;
  reason: string;
  state: RequestState;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  note: string | null;
  /** For a network request: the host (and port) the connection is for. */
  resource: string | null;
}

/** Category of a connection to a host no policy entry covers. */
export const UNKNOWN_HOST_CATEGORY = 'network';

/** How far an approval reaches: the one call, this agent for good, or every agent for good (unknown hosts only). */
export type ApprovalScope = 'once' | 'agent' | 'always';

export interface AuditEntry {
  at: number;
  agentId: string | null;
  agentName: string | null;
  requestId: string | null;
  category: string;
  tool: string | null;
  summary: string | null;
  outcome: string;
  actor: string;
  note: string | null;
}

interface RequestRow {
  id: string;
  agent_id: string | null;
  agent_name: string | null;
  tool: string;
  summary: string;
  category: string;
  reason: string;
  state: RequestState;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  note: string | null;
  resource: string | null;
}

const toRequest = (row: RequestRow): PermissionRequest => ({
  id: row.id,
  agentId: row.agent_id,
  agentName: row.agent_name,
  tool: row.tool,
  summary: row.summary,
  category: row.category,
  reason: row.reason,
  state: row.state,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  decidedAt: row.decided_at,
  decidedBy: row.decided_by,
  note: row.note,
  resource: row.resource ?? null,
});

export function audit(store: Store, entry: Omit<AuditEntry, 'at'> & { at?: number }): void {
  store.db
    .prepare(
      `INSERT INTO audit_log (at, agent_id, agent_name, request_id, category, tool, summary, outcome, actor, note)
       VALUES (@at, @agentId, @agentName, @requestId, @category, @tool, @summary, @outcome, @actor, @note)`,
    )
    .run({ ...entry, at: entry.at ?? Date.now() });
}

export function createRequest(
  store: Store,
  input: { agentId: string | null; agentName: string | null; tool: string; summary: string; category: string; reason: string; waitSeconds: number; resource?: string },
): PermissionRequest {
  const id = `pr_${randomBytes(5).toString('hex')}`;
  const now = Date.now();
  store.db.transaction(() => {
    store.db
      .prepare(
        `INSERT INTO permission_requests (id, agent_id, agent_name, tool, summary, category, reason, state, created_at, expires_at, resource)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
      )
      .run(id, input.agentId, input.agentName, input.tool, input.summary.slice(0, 2000), input.category, input.reason, now, now + input.waitSeconds * 1000, input.resource ?? null);
    audit(store, { agentId: input.agentId, agentName: input.agentName, requestId: id, category: input.category, tool: input.tool, summary: input.summary.slice(0, 2000), outcome: 'requested', actor: 'gate', note: input.reason });
  })();
  return getRequest(store, id);
}

export function getRequest(store: Store, id: string): PermissionRequest {
  const row = store.db.prepare(`SELECT * FROM permission_requests WHERE id = ?`).get(id) as RequestRow | undefined;
  if (!row) throw new NotFoundError(`No permission request ${JSON.stringify(id)}. List them with ringmaster permissions (or list_permission_requests).`);
  return toRequest(row);
}

export function listRequests(store: Store, options: { pendingOnly?: boolean; limit?: number } = {}): PermissionRequest[] {
  // A read: expiring overdue requests waits for a store that can take the write now.
  store.whenWritable(() => expireOverdue(store));
  const where = options.pendingOnly ? `WHERE state = 'pending'` : '';
  const rows = store.db.prepare(`SELECT * FROM permission_requests ${where} ORDER BY created_at DESC LIMIT ?`).all(options.limit ?? 50) as RequestRow[];
  return rows.map(toRequest);
}

/** The oldest pending request of every agent that has one: one query for a fleet's status read. */
export function pendingByAgent(store: Store): Map<string, PermissionRequest> {
  const rows = store.db.prepare(`SELECT * FROM permission_requests WHERE state = 'pending' AND expires_at > ? ORDER BY created_at`).all(Date.now()) as RequestRow[];
  const byAgent = new Map<string, PermissionRequest>();
  for (const row of rows) if (row.agent_id !== null && !byAgent.has(row.agent_id)) byAgent.set(row.agent_id, toRequest(row));
  return byAgent;
}

/** The pending request holding one of this agent's calls, if any: the agent is then waiting_permission. */
export function pendingForAgent(store: Store, agentId: string): PermissionRequest | undefined {
  const row = store.db
    .prepare(`SELECT * FROM permission_requests WHERE agent_id = ? AND state = 'pending' AND expires_at > ? ORDER BY created_at LIMIT 1`)
    .get(agentId, Date.now()) as RequestRow | undefined;
  return row && toRequest(row);
}

/**
 * Records a decision. `minutes` turns an approval into a grant for that agent
 * and category for that long; without it the approval covers the one call.
 */
export function decide(
  store: Store,
  id: string,
  decision: { approve: boolean; actor: string; note?: string; minutes?: number; scope?: ApprovalScope },
): PermissionRequest {
  if (decision.minutes !== undefined && (!Number.isFinite(decision.minutes) || decision.minutes <= 0 || decision.minutes > 24 * 60)) {
    throw new UserInputError('A grant lasts 1 to 1440 minutes.');
  }
  const scope = decision.scope ?? 'once';
  if (scope !== 'once') {
    if (!decision.approve) throw new UserInputError(`scope "${scope}" only goes with an approval.`);
    if (decision.minutes !== undefined) throw new UserInputError(`Give either minutes or scope "${scope}", not both.`);
    const request = getRequest(store, id);
    if (request.category !== UNKNOWN_HOST_CATEGORY || !request.resource) {
      throw new UserInputError(
        `scope "${scope}" is for connections to hosts no policy covers; ${id} is a ${request.category} request. Approve it once or for some minutes, or change the policy (policy.json).`,
      );
    }
  }
  expireOverdue(store);
  const now = Date.now();
  store.db.transaction(() => {
    const request = getRequest(store, id);
    if (request.state !== 'pending') throw new ConflictError(`Request ${id} is already ${request.state}${request.decidedBy ? ` (by ${request.decidedBy})` : ''}. Ask the agent to try again to raise a new one.`);
    store.db
      .prepare(`UPDATE permission_requests SET state = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ? AND state = 'pending'`)
      .run(decision.approve ? 'approved' : 'denied', now, decision.actor, decision.note ?? null, id);
    // A grant on an unknown host covers that host, not every unknown host.
    const grantKey = request.category === UNKNOWN_HOST_CATEGORY && request.resource ? hostGrantKey(request.resource) : request.category;
    if (decision.approve && decision.minutes) {
      store.db.prepare(`INSERT INTO grants (agent_id, category, expires_at, request_id, created_at) VALUES (?, ?, ?, ?, ?)`).run(request.agentId, grantKey, now + decision.minutes * 60_000, id, now);
    }
    if (decision.approve && scope !== 'once') {
      store.db
        .prepare(`INSERT INTO network_rules (host, agent_id, created_at, created_by, request_id) VALUES (?, ?, ?, ?, ?)`)
        .run(request.resource, scope === 'agent' ? request.agentId : null, now, decision.actor, id);
    }
    audit(store, {
      agentId: request.agentId,
      agentName: request.agentName,
      requestId: id,
      category: request.category,
      tool: request.tool,
      summary: request.summary,
      outcome: decision.approve
        ? decision.minutes
          ? `approved for ${decision.minutes} min`
          : scope === 'agent'
            ? 'allowed for this agent'
            : scope === 'always'
              ? 'always allowed'
              : 'approved once'
        : 'denied',
      actor: decision.actor,
      note: decision.note ?? null,
    });
  })();
  return getRequest(store, id);
}

/** An unexpired grant for this agent and category, made by an earlier approval "for N minutes". */
export function hasGrant(store: Store, agentId: string | null, category: string): boolean {
  return store.db.prepare(`SELECT 1 FROM grants WHERE agent_id IS ? AND category = ? AND expires_at > ?`).get(agentId, category, Date.now()) !== undefined;
}

/**
 * Ends a pending request that nobody can act on any more: the held connection
 * closed, or the egress gate that held it stopped. It counts as expired, so
 * the agent is no longer shown as waiting for it.
 */
export function withdrawRequest(store: Store, id: string, why: string): void {
  const row = store.db.prepare(`SELECT * FROM permission_requests WHERE id = ? AND state = 'pending'`).get(id) as RequestRow | undefined;
  if (!row) return;
  store.db.transaction(() => {
    const changed = store.db.prepare(`UPDATE permission_requests SET state = 'expired', decided_at = ?, decided_by = 'egress', note = ? WHERE id = ? AND state = 'pending'`).run(Date.now(), why, id);
    if (changed.changes) audit(store, { agentId: row.agent_id, agentName: row.agent_name, requestId: id, category: row.category, tool: row.tool, summary: row.summary, outcome: 'withdrawn', actor: 'egress', note: why });
  })();
}

/**
 * A human's recent "approve once" of a command in this category for this agent
 * (the hook layer): the connections that very command opens are part of what
 * was approved, so the egress gate does not ask again within `windowMs`.
 */
export function recentCommandApproval(store: Store, agentId: string, category: string, windowMs: number): string | undefined {
  const row = store.db
    .prepare(`SELECT id FROM permission_requests WHERE agent_id = ? AND category = ? AND state = 'approved' AND tool != 'network' AND decided_at > ? ORDER BY decided_at DESC LIMIT 1`)
    .get(agentId, category, Date.now() - windowMs) as { id: string } | undefined;
  return row?.id;
}

/** Pending requests held by the egress gate (a connection waits on each). */
export function pendingNetworkRequests(store: Store): PermissionRequest[] {
  return (store.db.prepare(`SELECT * FROM permission_requests WHERE state = 'pending' AND tool = 'network'`).all() as RequestRow[]).map(toRequest);
}

export function hostGrantKey(resource: string): string {
  return `host:${resource}`;
}

/** A standing "allow for this agent" or "always allow" answer for this host:port. */
export function hasHostRule(store: Store, agentId: string | null, resource: string): boolean {
  return store.db.prepare(`SELECT 1 FROM network_rules WHERE host = ? AND (agent_id IS NULL OR agent_id IS ?)`).get(resource, agentId) !== undefined;
}

export function expireOverdue(store: Store): void {
  const now = Date.now();
  const overdue = store.db.prepare(`SELECT * FROM permission_requests WHERE state = 'pending' AND expires_at <= ?`).all(now) as RequestRow[];
  if (overdue.length === 0) return;
  // One write: each expiry lands with its audit entry, or none do.
  store.db.transaction(() => {
    for (const row of overdue) {
      const changed = store.db.prepare(`UPDATE permission_requests SET state = 'expired', decided_at = ?, decided_by = 'timeout' WHERE id = ? AND state = 'pending'`).run(now, row.id);
      if (changed.changes) audit(store, { agentId: row.agent_id, agentName: row.agent_name, requestId: row.id, category: row.category, tool: row.tool, summary: row.summary, outcome: 'timed out', actor: 'gate', note: null });
    }
  })();
}

export function listAudit(store: Store, options: { agentName?: string; limit?: number } = {}): AuditEntry[] {
  const rows = store.db
    .prepare(`SELECT * FROM audit_log ${options.agentName ? 'WHERE agent_name = @agentName' : ''} ORDER BY at DESC, id DESC LIMIT @limit`)
    .all({ agentName: options.agentName ?? null, limit: options.limit ?? 100 }) as Array<Record<string, unknown>>;
  return rows.map((row) => ({
    at: row.at as number,
    agentId: row.agent_id as string | null,
    agentName: row.agent_name as string | null,
    requestId: row.request_id as string | null,
    category: row.category as string,
    tool: row.tool as string | null,
    summary: row.summary as string | null,
    outcome: row.outcome as string,
    actor: row.actor as string,
    note: row.note as string | null,
  }));
}

/** Whether the parent model may approve this category on its own (the user's choice in policy.json). */
export function parentMayApprove(policy: Policy, category: string): boolean {
  return category in policy.categories && policy.categories[category as keyof Policy['categories']].approver === 'parent';
}
