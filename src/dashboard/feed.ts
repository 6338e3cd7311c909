import type { ServerResponse } from 'node:http';
import type { Context } from '../core/index.js';
import type { Monitor } from '../fleet/index.js';
import type { PermissionRequest } from '../gate/index.js';
import type { Session } from './auth.js';
import { loadFleetView, type PullRequestCache } from './fleet.js';
import { approvalsSection, fleetRow, fleetSummary } from './views.js';

interface Client {
  response: ServerResponse;
  session: Session;
}

const HEARTBEAT_MS = 25_000;
/** At most this often a fresh look, however many signals arrive. */
const MIN_GAP_MS = 300;

/**
 * Server-sent events for every open page: after each round of the shared
 * status monitor (a hook event, a session file, an exit, or its fallback
 * tick) it reads the fleet once and sends only what changed: a fleet row as
 * rendered HTML, the summary line, the approvals inbox (rendered per session,
 * since its forms carry the session's CSRF token). Pages never poll.
 */
export class LiveFeed {
  private readonly clients = new Set<Client>();
  private rows = new Map<string, string>();
  private summary = '';
  private pending: PermissionRequest[] = [];
  private pendingKey = '';
  /** Whether a look has completed: before it, the feed knows less than the page it would overwrite. */
  private looked = false;
  private running = false;
  private again = false;
  private lastRun = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly onRound = () => void this.refresh();

  constructor(
    private readonly context: Context,
    private readonly monitor: Monitor,
    private readonly prs: PullRequestCache,
  ) {}

  subscribe(response: ServerResponse, session: Session): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    response.write('retry: 2000\n\n');
    const client = { response, session };
    this.clients.add(client);
    response.on('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.idle();
    });
    if (this.clients.size === 1) {
      this.monitor.on('round', this.onRound);
      this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), HEARTBEAT_MS);
      this.heartbeat.unref();
    }
    // What the page was rendered from may already be old: bring this page up to date, then look again.
    for (const [id, rowHtml] of this.rows) send(response, 'row', { id, html: rowHtml });
    if (this.summary) send(response, 'summary', { html: this.summary });
    this.sendApprovals(client);
    void this.refresh();
  }

  close(): void {
    for (const client of this.clients) client.response.end();
    this.clients.clear();
    this.idle();
  }

  private idle(): void {
    this.monitor.off('round', this.onRound);
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** One look at the fleet; calls during a look fold into one more look after it. */
  async refresh(): Promise<void> {
    if (this.clients.size === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.again = false;
    try {
      const wait = this.lastRun + MIN_GAP_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastRun = Date.now();
      this.prs.refresh();
      const view = await loadFleetView(this.context);
      const seen = new Set<string>();
      for (const agent of view.agents) {
        seen.add(agent.id);
        const rowHtml = fleetRow(agent, this.prs.get(agent.name)).text;
        if (this.rows.get(agent.id) !== rowHtml) {
          this.rows.set(agent.id, rowHtml);
          this.broadcastEvent('row', { id: agent.id, html: rowHtml });
        }
      }
      for (const id of [...this.rows.keys()]) {
        if (!seen.has(id)) {
          this.rows.delete(id);
          this.broadcastEvent('remove', { id });
        }
      }
      const summary = fleetSummary(view.agents).text;
      if (summary !== this.summary) {
        this.summary = summary;
        this.broadcastEvent('summary', { html: summary });
      }
      const pendingKey = view.pending.map((request) => request.id).join(' ');
      if (pendingKey !== this.pendingKey || !this.looked) {
        this.looked = true;
        this.pendingKey = pendingKey;
        this.pending = view.pending;
        for (const client of this.clients) this.sendApprovals(client);
      }
    } catch {
      // A failed look (a busy store, tmux restarting) is retried on the next round.
    } finally {
      this.running = false;
    }
    if (this.again) await this.refresh();
  }

  private sendApprovals(client: Client): void {
    if (!this.looked) return;
    send(client.response, 'approvals', { count: this.pending.length, html: approvalsSection(this.pending, client.session.csrf).text });
  }

  private broadcastEvent(event: string, data: unknown): void {
    for (const client of this.clients) send(client.response, event, data);
  }

  private broadcast(text: string): void {
    for (const client of this.clients) client.response.write(text);
  }
}

function send(response: ServerResponse, event: string, data: unknown): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
