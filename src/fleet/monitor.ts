import { EventEmitter } from 'node:events';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { claudeJsonFor, forgetStaleProjects } from '../adapters/claude-config.js';
import { agentDir, inboxDir, type Context } from '../core/index.js';
import { deliver } from './prompt.js';
import { startQueued } from './queue.js';
import { enforceBudgets, isHeld, type BudgetEvent } from './budget.js';
import { runGc } from './gc.js';
import { agentStatuses, SignalWatcher, type StatusReport } from '../state/index.js';

/** How often the server drops ~/.claude.json entries of agents that are gone. */
const SWEEP_INTERVAL_MS = 60_000;

/** Entries ringmaster wrote into ~/.claude.json for agents that are gone, removed again (see forgetStaleProjects). */
export function sweepClaudeProjects(context: Context): number {
  const { config, store } = context;
  const agentsRoot = join(config.home, 'agents');
  // Both spellings: worktrees are keyed by their real path, the inbox by the path it was given as.
  const roots = [...new Set([config.worktreeRoot, agentsRoot].filter((root) => existsSync(root)).flatMap((root) => [root, realpathSync(root)]))];
  if (roots.length === 0) return 0;
  const keep = store.listAgents().flatMap((record) => [record.worktreePath, inboxDir(agentDir(context, record.id))]);
  try {
    return forgetStaleProjects(claudeJsonFor(context.env), roots, keep);
  } catch {
    return 0; // the file kept changing; the next sweep tries again
  }
}

export interface StatusChange {
  name: string;
  id: string;
  from: string | null;
  to: StatusReport;
}

/**
 * Follows every live agent's status in the background of a server process:
 * it looks again the moment a signal file changes (a hook's spool file, a
 * session file, an exit status), folding the events into the store as they
 * arrive, and polls as a fallback for signals with no file. It announces
 * changes (for resource subscriptions and log messages) and delivers queued
 * prompts when their agent turns idle.
 */
export class Monitor extends EventEmitter<{ change: [StatusChange]; delivered: [{ name: string; queueId: number; delivered: boolean | null }]; budget: [BudgetEvent]; round: [] }> {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** A signal came during a round: run another one right after it. */
  private again = false;
  private watcher: SignalWatcher | undefined;
  private last = new Map<string, string>();
  private lastSweep = 0;
  private enforcing = false;
  private lastGc = Date.now();
  /** The fallback poll waits until then: nine times the last round's duration after it ended. */
  private nextFallback = 0;
  /** A signal's round waits until then: twice the last round's duration after it ended. */
  private nextSignalRound = 0;

  constructor(
    private readonly context: Context,
    private readonly intervalMs = 1_000,
  ) {
    super();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // The fallback poll keeps to a tenth of the process's time: a big fleet on a busy machine is polled less often.
      if (Date.now() >= this.nextFallback) void this.poll();
    }, this.intervalMs);
    this.timer.unref();
    this.watcher = new SignalWatcher(this.context);
    try {
      this.watcher.track(this.context.store.listAgents());
    } catch {
      // A store that cannot be read yet (damaged, locked, not writable): the first good round tracks the agents.
    }
    void this.listen(this.watcher);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private async listen(watcher: SignalWatcher): Promise<void> {
    while (this.watcher === watcher) {
      if ((await watcher.next(60_000)) !== 'signal' || this.watcher !== watcher) continue;
      // Signals come with every hook event of every agent: rounds they start keep to a third of the process's time.
      const wait = this.nextSignalRound - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (this.watcher === watcher) await this.poll();
    }
  }

  /** One round; a round asked for while one runs is folded into a single round right after it. */
  async poll(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.again = false;
    const started = Date.now();
    try {
      const records = this.context.store.listAgents();
      this.watcher?.track(records);
      const statuses = await agentStatuses(this.context, records);
      for (const record of records) {
        const status = statuses.get(record.id)!;
        const previous = this.last.get(record.id) ?? null;
        if (previous !== status.state) {
          this.last.set(record.id, status.state);
          this.emit('change', { name: record.name, id: record.id, from: previous, to: status });
        }
        if (status.state === 'idle' || status.state === 'unknown') await this.deliverQueued(record.id, record.name);
      }
      for (const id of this.last.keys()) if (!records.some((record) => record.id === id)) this.last.delete(id);
      // Queued spawns start as slots free; not awaited, since a spawn takes seconds and status rounds go on.
      void startQueued(this.context).catch(() => undefined);
      if (!this.enforcing) {
        this.enforcing = true;
        void enforceBudgets(this.context, (event) => this.emit('budget', event))
          .catch(() => undefined)
          .finally(() => (this.enforcing = false));
      }
      const gcEveryMs = this.context.config.gc.everyMinutes * 60_000;
      if (gcEveryMs > 0 && Date.now() - this.lastGc >= gcEveryMs) {
        this.lastGc = Date.now();
        void runGc(this.context).catch(() => undefined);
      }
      if (Date.now() - this.lastSweep >= SWEEP_INTERVAL_MS) {
        this.lastSweep = Date.now();
        sweepClaudeProjects(this.context);
      }
      // After every look (a signal or the fallback tick): the dashboard's live feed refreshes what it shows.
      this.emit('round');
    } catch {
      // A failed round (a store busy past its timeout, tmux restarting) is retried next tick.
    } finally {
      this.running = false;
      const took = Date.now() - started;
      this.nextFallback = Date.now() + 9 * took;
      this.nextSignalRound = Date.now() + 2 * took;
    }
    if (this.again) await this.poll();
  }

  private async deliverQueued(agentId: string, name: string): Promise<void> {
    const { store } = this.context;
    // An agent held at its budget takes no prompts, queued ones included, until a human lets it go.
    if (isHeld(this.context, agentId)) return;
    const next = store.db.prepare(`SELECT id, text FROM prompt_queue WHERE agent_id = ? AND state = 'queued' ORDER BY id LIMIT 1`).get(agentId) as
      | { id: number; text: string }
      | undefined;
    if (!next) return;
    // Claim it: several ringmaster processes may watch the same agent.
    const claimed = store.db.prepare(`UPDATE prompt_queue SET state = 'delivering', updated_at = ? WHERE id = ? AND state = 'queued'`).run(Date.now(), next.id);
    if (claimed.changes === 0) return;
    const record = store.getAgent(agentId)!;
    const result = await deliver(this.context, record, next.text, 20_000).catch((error: unknown) => ({ delivered: false, notes: [(error as Error).message] }));
    store.db
      .prepare(`UPDATE prompt_queue SET state = ?, updated_at = ?, result_json = ? WHERE id = ?`)
      .run(result.delivered === false ? 'failed' : 'delivered', Date.now(), JSON.stringify(result), next.id);
    this.emit('delivered', { name, queueId: next.id, delivered: result.delivered });
  }
}
