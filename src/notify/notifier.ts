import { appendFileSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../core/index.js';
import type { Monitor, StatusChange } from '../fleet/index.js';
import { type Channel, desktopChannel, ntfyChannel, tmuxChannel, webhookChannel } from './channels.js';
import { budgetNotice, noticeFor, overlapNotice, stalledNotice, type Notice } from './notices.js';
import { fleetOverlaps, overlapKey } from '../state/index.js';

/** How often a process looks for new overlaps between agents (cheap: see src/state/overlap.ts). */
const OVERLAP_CHECK_MS = 10_000;

export interface SendReport {
  notice: Notice;
  /** Channels that delivered. */
  sent: string[];
  /** Channels that failed, with why; logged, never thrown. */
  failed: Array<{ channel: string; error: string }>;
  /** Why nothing was sent, when nothing was. */
  skipped?: 'duplicate' | 'rate limited' | 'no channels';
}

/**
 * Tells a human when an agent needs one. Every MCP server process (and
 * `ringmaster watch`) runs a monitor, so several processes see the same
 * change: a marker file per notice, created exclusively, makes exactly one of
 * them send it. Failures go to `$RINGMASTER_HOME/notify.log` and the `log`
 * callback; nothing here ever throws into the monitor.
 */
export class Notifier {
  private readonly channels: Channel[];
  private readonly dir: string;
  private readonly watching = new Map<string, { name: string; state: string; since: string; stalledSent: boolean }>();
  private readonly overlapsSeen = new Map<string, string>();
  private overlapError: string | undefined;

  constructor(
    private readonly context: Context,
    private readonly log: (message: string) => void = () => {},
    channels?: Channel[],
  ) {
    this.dir = join(context.config.home, 'notify');
    this.channels = channels ?? defaultChannels(context);
  }

  get channelNames(): string[] {
    return this.channels.map((channel) => channel.name);
  }

  /** Listens to a monitor's status changes; returns the function that stops listening. */
  attach(monitor: Monitor): () => void {
    const onChange = (change: StatusChange) => void this.onChange(change);
    monitor.on('change', onChange);
    const onBudget = (event: Parameters<typeof budgetNotice>[0]) => void this.send(budgetNotice(event));
    monitor.on('budget', onBudget);
    const stallTimer = setInterval(() => void this.checkStalls(), 30_000);
    stallTimer.unref();
    const overlapTimer = setInterval(() => void this.checkOverlaps(), OVERLAP_CHECK_MS);
    overlapTimer.unref();
    return () => {
      monitor.off('change', onChange);
      monitor.off('budget', onBudget);
      clearInterval(stallTimer);
      clearInterval(overlapTimer);
    };
  }

  async onChange(change: StatusChange): Promise<SendReport | undefined> {
    this.watching.set(change.id, { name: change.name, state: change.to.state, since: change.to.since, stalledSent: false });
    const notice = noticeFor(change);
    return notice ? this.send(notice) : undefined;
  }

  /** A working (or unknown) agent whose status has not changed for stallAfterSec. */
  async checkStalls(now = Date.now()): Promise<SendReport[]> {
    const limit = this.context.config.notifications.stallAfterSec;
    if (limit === 0) return [];
    const reports: SendReport[] = [];
    for (const [id, seen] of this.watching) {
      if (seen.stalledSent || !['working', 'unknown', 'starting'].includes(seen.state)) continue;
      const seconds = (now - Date.parse(seen.since)) / 1000;
      if (seconds < limit) continue;
      seen.stalledSent = true;
      reports.push(await this.send(stalledNotice(seen.name, id, seen.state, seen.since, seconds)));
    }
    return reports;
  }

  /** Agents that newly overlap another live agent (same files, predicted conflicts): one notice per new or changed overlap. */
  async checkOverlaps(): Promise<SendReport[]> {
    const reports: SendReport[] = [];
    try {
      const overlaps = await fleetOverlaps(this.context);
      for (const [id, overlap] of overlaps) {
        const key = overlapKey(overlap);
        if (this.overlapsSeen.get(id) === key) continue;
        this.overlapsSeen.set(id, key);
        reports.push(await this.send(overlapNotice(id, overlap)));
      }
      for (const id of [...this.overlapsSeen.keys()]) if (!overlaps.has(id)) this.overlapsSeen.delete(id);
      this.overlapError = undefined;
    } catch (error) {
      // Once per distinct problem, not every ten seconds.
      const message = `cannot check overlaps: ${(error as Error).message}`;
      if (message !== this.overlapError) this.record(message);
      this.overlapError = message;
    }
    return reports;
  }

  /** Sends on every channel at once; never throws. */
  async send(notice: Notice, options: { force?: boolean } = {}): Promise<SendReport> {
    if (this.channels.length === 0) return { notice, sent: [], failed: [], skipped: 'no channels' };
    try {
      if (!options.force) {
        const skipped = this.claim(notice);
        if (skipped) return { notice, sent: [], failed: [], skipped };
      }
    } catch (error) {
      this.record(`cannot claim notice for ${notice.agent}: ${(error as Error).message}`);
    }
    const results = await Promise.allSettled(this.channels.map((channel) => channel.send(notice)));
    const report: SendReport = { notice, sent: [], failed: [] };
    results.forEach((result, index) => {
      const channel = this.channels[index]!.name;
      if (result.status === 'fulfilled') report.sent.push(channel);
      else {
        const error = result.reason instanceof Error ? result.reason.message : String(result.reason);
        report.failed.push({ channel, error });
        this.record(`${channel} notification about ${notice.agent} (${notice.kind}) failed: ${error}`);
      }
    });
    return report;
  }

  /** Exactly one process sends a given notice, and an agent gets at most one per minIntervalSec (permission requests excepted). */
  private claim(notice: Notice): SendReport['skipped'] {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const marker = join(this.dir, `${notice.agentId}.${notice.kind}.${Date.parse(notice.since) || 0}`);
    try {
      writeFileSync(marker, '', { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'duplicate';
      throw error;
    }
    if (notice.urgent) return undefined;
    const last = join(this.dir, `${notice.agentId}.last`);
    const interval = this.context.config.notifications.minIntervalSec * 1000;
    try {
      if (Date.now() - statSync(last).mtimeMs < interval) return 'rate limited';
      const now = new Date();
      utimesSync(last, now, now);
    } catch {
      writeFileSync(last, '');
    }
    return undefined;
  }

  private record(message: string): void {
    this.log(message);
    try {
      mkdirSync(this.context.config.home, { recursive: true });
      appendFileSync(join(this.context.config.home, 'notify.log'), `${new Date().toISOString()} ${message}\n`);
    } catch {
      // The log is best effort too.
    }
  }
}

export function defaultChannels(context: Context): Channel[] {
  const settings = context.config.notifications;
  const channels: Channel[] = [];
  const desktop = settings.desktop ? desktopChannel(context.env) : undefined;
  if (desktop) channels.push(desktop);
  if (settings.tmux) channels.push(tmuxChannel(context.config.tmux.command, context.config.tmux.socket ?? null));
  if (settings.webhookUrl) channels.push(webhookChannel(settings.webhookUrl));
  if (settings.ntfyUrl) channels.push(ntfyChannel(settings.ntfyUrl));
  return channels;
}
