import type { Context } from '../core/index.js';
import { listRequests, type PermissionRequest } from '../gate/index.js';
import { agentStatuses, livePanes, transcriptDigest, type StatusReport } from '../state/index.js';
import type { AgentRecord } from '../store/store.js';

/** One agent as the fleet view shows it. */
export interface FleetAgent {
  id: string;
  name: string;
  agent: string;
  branch: string;
  status: StatusReport;
  costUsd: number | null;
  tokens: { input: number; output: number; cache: number };
  lastMessage: string;
  pending: PermissionRequest[];
}

export interface PullRequestBadge {
  number: number;
  url: string;
  state: string;
  checks: string | null;
  failing: string[];
}

export interface FleetView {
  agents: FleetAgent[];
  pending: PermissionRequest[];
}

/**
 * Every live agent's status (one tmux call per server), cost and tokens
 * (incremental transcript reads), last message and pending requests: what
 * the fleet page and its live feed show.
 */
export async function loadFleetView(context: Context): Promise<FleetView> {
  const records = context.store.listAgents();
  const statuses = await agentStatuses(context, records, await livePanes(context, records));
  const pending = listRequests(context.store, { pendingOnly: true });
  const agents = records.map((record) => fleetAgent(context, record, statuses.get(record.id)!, pending));
  return { agents, pending };
}

function fleetAgent(context: Context, record: AgentRecord, status: StatusReport, pending: PermissionRequest[]): FleetAgent {
  const digest = transcriptDigest(context.store, context.config, record.id);
  return {
    id: record.id,
    name: record.name,
    agent: record.agentKind,
    branch: record.branch,
    status,
    costUsd: digest ? digest.costUsd : 0,
    tokens: digest?.tokens ?? { input: 0, output: 0, cache: 0 },
    lastMessage: digest?.lastMessage ?? record.taskPreview,
    pending: pending.filter((request) => request.agentId === record.id),
  };
}

/**
 * Pull requests and CI per agent, from GitHub through the same listPrs as
 * list_prs, looked up at most every two minutes and never in a page's way:
 * a fleet without GitHub shows no PR column values.
 */
export class PullRequestCache {
  private byAgent = new Map<string, PullRequestBadge>();
  private fetchedAt = 0;
  private running = false;

  constructor(private readonly context: Context) {}

  get(name: string): PullRequestBadge | undefined {
    return this.byAgent.get(name);
  }

  refresh(): void {
    if (this.running || Date.now() - this.fetchedAt < 120_000) return;
    this.running = true;
    this.fetchedAt = Date.now();
    void import('../forge/index.js')
      .then(({ listPrs }) => listPrs(this.context))
      .then((listing) => {
        const next = new Map<string, PullRequestBadge>();
        for (const entry of listing.agents) {
          if (entry.pr) next.set(entry.agent, { number: entry.pr.number, url: entry.pr.url, state: entry.pr.state, checks: entry.pr.checks.state, failing: entry.pr.checks.failing });
        }
        this.byAgent = next;
      })
      .catch(() => undefined)
      .finally(() => {
        this.running = false;
      });
  }
}
