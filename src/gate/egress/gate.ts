import { appendFileSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import type { Store } from '../../store/store.js';
import { decideConnection } from '../network.js';
import { audit, createRequest, getRequest, hasGrant, hasHostRule, hostGrantKey, pendingNetworkRequests, recentCommandApproval, UNKNOWN_HOST_CATEGORY, withdrawRequest, type PermissionRequest } from '../permissions.js';
import { loadPolicy, type Policy } from '../policy.js';
import { createHttpProxy, createSocksProxy, type ConnectionFilter, type Verdict } from './proxy.js';

/**
 * The egress gate: one HTTP and one SOCKS5 proxy per agent, on a port pair
 * that is the agent's identity (a sandbox can reach only its own ports; a
 * header could be forged, a port cannot). Every connection is decided by the
 * policy; a gated or unknown one becomes a pending permission request in the
 * same store the hook gate and `ringmaster approve` use, and is held until a
 * human decides or the wait runs out. Whatever cannot be decided is refused.
 */

export interface EgressPorts {
  httpPort: number;
  socksPort: number;
}

interface EgressRow {
  agent_id: string;
  http_port: number | null;
  socks_port: number | null;
  sandboxed: number;
  git_hosts_json: string;
}

interface Bound {
  ports: EgressPorts;
  servers: Server[];
}

/** After an "approve once", more connections to the same host:port pass for this long (a command often opens several). */
const ONCE_WINDOW_MS = 60_000;
const POLL_MS = 200;

export interface EgressGateOptions {
  home: string;
  store: Store;
  /** An /etc/hosts-format file consulted before DNS: how tests point real host names at their own servers. */
  hostsFile?: string;
  log?: (line: string) => void;
}

export class EgressGate {
  private readonly bound = new Map<string, Bound>();
  private readonly approvedUntil = new Map<string, number>();
  private readonly holding = new Map<string, { verdict: Promise<Verdict>; waiting: number; abort: AbortController }>();
  private policyCache: { mtimeMs: number; policy: Policy } | undefined;
  private hostsCache: { mtimeMs: number; map: Map<string, string> } | undefined;

  constructor(private readonly options: EgressGateOptions) {}

  get agents(): string[] {
    return [...this.bound.keys()];
  }

  /** Opens the agent's port pair: the recorded ports when it has them (after a restart), fresh ones otherwise. */
  async bind(agentId: string): Promise<EgressPorts> {
    const existing = this.bound.get(agentId);
    if (existing) return existing.ports;
    const row = this.row(agentId);
    if (!row) throw new Error(`agent ${agentId} has no egress record`);
    const filter: ConnectionFilter = (host, port, gone) => this.decide(agentId, host, port, gone);
    const http = createHttpProxy(filter);
    const socks = createSocksProxy(filter);
    try {
      const httpPort = await listen(http, row.http_port ?? 0);
      const socksPort = await listen(socks, row.socks_port ?? 0);
      this.options.store.db.prepare(`UPDATE agent_egress SET http_port = ?, socks_port = ? WHERE agent_id = ?`).run(httpPort, socksPort, agentId);
      const ports = { httpPort, socksPort };
      this.bound.set(agentId, { ports, servers: [http, socks] });
      this.log(`bound ${agentId} http=${httpPort} socks=${socksPort}`);
      return ports;
    } catch (error) {
      http.close();
      socks.close();
      throw error;
    }
  }

  unbind(agentId: string): void {
    const entry = this.bound.get(agentId);
    if (!entry) return;
    for (const server of entry.servers) {
      server.close();
      // Held and open connections end with the agent.
      (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    }
    this.bound.delete(agentId);
    this.log(`unbound ${agentId}`);
  }

  /** Binds every live sandboxed agent and lets go of removed ones; run at start and periodically. */
  async sync(): Promise<void> {
    const rows = this.options.store.db
      .prepare(
        `SELECT e.agent_id FROM agent_egress e JOIN agents a ON a.id = e.agent_id
         WHERE a.state != 'removed' AND e.sandboxed = 1`,
      )
      .all() as Array<{ agent_id: string }>;
    const live = new Set(rows.map((row) => row.agent_id));
    for (const agentId of this.bound.keys()) if (!live.has(agentId)) this.unbind(agentId);
    for (const agentId of live) {
      if (this.bound.has(agentId)) continue;
      try {
        await this.bind(agentId);
      } catch (error) {
        // The agent's network stays closed (nothing listens on its ports): fail closed, and say so.
        this.log(`cannot bind ${agentId}: ${(error as Error).message}`);
      }
    }
  }

  close(): void {
    for (const agentId of [...this.bound.keys()]) this.unbind(agentId);
    this.withdrawHeld('the egress gate stopped; its held connections were refused');
  }

  /** Requests of connections this gate no longer holds (it stopped, or a gate before it died) are withdrawn. */
  withdrawHeld(why: string): void {
    try {
      for (const request of pendingNetworkRequests(this.options.store)) withdrawRequest(this.options.store, request.id, why);
    } catch (error) {
      this.log(`could not withdraw held requests: ${(error as Error).message}`);
    }
  }

  /** The decision for one connection; a refusal is also told to the agent in words (see notify). */
  async decide(agentId: string, host: string, port: number, gone?: AbortSignal): Promise<Verdict> {
    const verdict = await this.decideOnly(agentId, host, port, gone);
    if (!verdict.allow && !gone?.aborted) this.notify(agentId, `ringmaster's egress gate refused ${host}:${port}: ${verdict.reason}.`);
    return verdict;
  }

  /**
   * Appends to the agent's notices, which its PostToolUse hook hands to the
   * model as context after the tool call: an HTTPS client shows only "403".
   */
  private notify(agentId: string, line: string): void {
    try {
      appendFileSync(join(this.options.home, 'agents', agentId, 'egress-notices'), `${line}\n`, { mode: 0o600 });
    } catch {
      // An agent whose folder is gone has nobody to tell.
    }
  }

  private async decideOnly(agentId: string, host: string, port: number, gone?: AbortSignal): Promise<Verdict> {
    const resource = `${host}:${port}`;
    const address = this.resolve(host);
    const allow = (): Verdict => (address ? { allow: true, address } : { allow: true });
    let policy: Policy;
    try {
      policy = this.policy();
    } catch (error) {
      return { allow: false, reason: (error as Error).message };
    }
    const row = this.row(agentId);
    if (!row) return { allow: false, reason: 'this agent is not registered with ringmaster any more' };
    const name = this.agentName(agentId);
    const { store } = this.options;
    const key = `${agentId}|${resource}`;
    if ((this.approvedUntil.get(key) ?? 0) > Date.now()) return allow();
    if (hasHostRule(store, agentId, resource) || hasGrant(store, agentId, hostGrantKey(resource))) return allow();

    const verdict = decideConnection(host, port, { policy, gitHosts: JSON.parse(row.git_hosts_json) as string[] });
    if (verdict.kind === 'allow') return allow();
    if (verdict.kind === 'gated' && hasGrant(store, agentId, verdict.category)) {
      audit(store, { agentId, agentName: name, requestId: null, category: verdict.category, tool: 'network', summary: `connect ${resource}`, outcome: 'allowed by grant', actor: 'egress', note: null });
      return allow();
    }
    // The human just approved this agent's command in this category (`aws s3 ls`): its connections are part of it.
    const approvedCommand = verdict.kind === 'gated' ? recentCommandApproval(store, agentId, verdict.category, ONCE_WINDOW_MS) : undefined;
    if (approvedCommand && verdict.kind === 'gated') {
      audit(store, { agentId, agentName: name, requestId: approvedCommand, category: verdict.category, tool: 'network', summary: `connect ${resource}`, outcome: 'allowed by the command\'s approval', actor: 'egress', note: null });
      return allow();
    }
    if (verdict.kind === 'unknown' && verdict.action === 'deny') {
      const reason = `${resource} is not in the policy's network.allow, and unknown hosts are refused (network.unknown is "deny")`;
      audit(store, { agentId, agentName: name, requestId: null, category: UNKNOWN_HOST_CATEGORY, tool: 'network', summary: `connect ${resource}`, outcome: 'denied', actor: 'egress', note: reason });
      return { allow: false, reason };
    }
    // One held request per agent and host: a client's retries and parallel connections wait on the same decision;
    // when every one of them has gone, the request is withdrawn (nobody waits for it any more).
    const existing = this.holding.get(key);
    if (existing) return this.wait(existing, gone);
    const category = verdict.kind === 'gated' ? verdict.category : UNKNOWN_HOST_CATEGORY;
    const reason =
      verdict.kind === 'gated'
        ? `a connection to ${resource}, which the ${verdict.rule} rule gates`
        : `a connection to ${resource}, a host no policy entry covers (allow it once, for this agent, or always)`;
    const abort = new AbortController();
    const entry = {
      waiting: 0,
      abort,
      verdict: this.hold(agentId, name, category, resource, reason, policy.waitSeconds, abort.signal).then((outcome) => {
        this.holding.delete(key);
        if (outcome.allow) this.approvedUntil.set(key, Date.now() + ONCE_WINDOW_MS);
        return outcome.allow ? allow() : outcome;
      }),
    };
    this.holding.set(key, entry);
    return this.wait(entry, gone);
  }

  private wait(entry: { verdict: Promise<Verdict>; waiting: number; abort: AbortController }, gone: AbortSignal | undefined): Promise<Verdict> {
    entry.waiting += 1;
    gone?.addEventListener('abort', () => {
      entry.waiting -= 1;
      if (entry.waiting === 0) entry.abort.abort();
    });
    return entry.verdict;
  }

  private async hold(agentId: string, name: string | null, category: string, resource: string, reason: string, waitSeconds: number, gone: AbortSignal): Promise<Verdict> {
    const { store } = this.options;
    let request: PermissionRequest;
    try {
      request = createRequest(store, { agentId, agentName: name, tool: 'network', summary: `connect ${resource}`, category, reason, waitSeconds, resource });
    } catch (error) {
      return { allow: false, reason: `ringmaster could not record the request (${(error as Error).message})` };
    }
    this.log(`holding ${agentId} ${resource} as ${request.id} (${category})`);
    for (;;) {
      let current: PermissionRequest;
      try {
        current = getRequest(store, request.id);
      } catch (error) {
        return { allow: false, reason: `ringmaster could not read the decision (${(error as Error).message})` };
      }
      if (current.state === 'approved') return { allow: true };
      if (current.state === 'denied') return { allow: false, reason: `request ${request.id} was denied by ${current.decidedBy}${current.note ? `: ${current.note}` : ''}` };
      if (current.state === 'expired' || Date.now() >= current.expiresAt) {
        return { allow: false, reason: `request ${request.id} got no decision within ${waitSeconds} s` };
      }
      if (gone.aborted) {
        withdrawRequest(store, request.id, 'the agent closed the connection before anyone decided');
        this.log(`withdrew ${request.id}: the connection closed`);
        return { allow: false, reason: 'the connection closed' };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private row(agentId: string): EgressRow | undefined {
    return this.options.store.db.prepare(`SELECT * FROM agent_egress WHERE agent_id = ?`).get(agentId) as EgressRow | undefined;
  }

  private agentName(agentId: string): string | null {
    const row = this.options.store.db.prepare(`SELECT name FROM agents WHERE id = ?`).get(agentId) as { name: string } | undefined;
    return row?.name ?? null;
  }

  /** The policy as of now: re-read when policy.json changes; a broken one refuses every decision it would make. */
  private policy(): Policy {
    const file = join(this.options.home, 'policy.json');
    let mtimeMs = -1;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      // No file: the defaults.
    }
    if (this.policyCache?.mtimeMs !== mtimeMs) this.policyCache = { mtimeMs, policy: loadPolicy(this.options.home) };
    return this.policyCache.policy;
  }

  private resolve(host: string): string | undefined {
    const file = this.options.hostsFile;
    if (!file) return undefined;
    try {
      const mtimeMs = statSync(file).mtimeMs;
      if (this.hostsCache?.mtimeMs !== mtimeMs) this.hostsCache = { mtimeMs, map: parseHosts(readFileSync(file, 'utf8')) };
      return this.hostsCache.map.get(host);
    } catch {
      return undefined;
    }
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

export function parseHosts(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || names.length === 0) continue;
    for (const name of names) if (!map.has(name.toLowerCase())) map.set(name.toLowerCase(), address);
  }
  return map;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
