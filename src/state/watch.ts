import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { claudeConfigDir } from '../adapters/claude-session.js';
import type { AgentRecord } from '../store/store.js';
import { agentDir, type Context } from '../core/index.js';
import { spoolDir } from './events.js';

/**
 * Wakes a waiter the moment a signal arrives, instead of on the next poll:
 * a hook's spool file (events/), the launch script's exit-status file (the
 * agent folder), and Claude's live session files (the only trace of an Esc).
 * Watchers are cheap inotify handles; signals without a file (a tmux session
 * killed from outside, a gate decision in the store) still need the caller's
 * slower poll.
 */
export class SignalWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private waiters: Array<() => void> = [];
  private pending = false;

  constructor(private readonly context: Context) {
    this.add(join(claudeConfigDir(context.env), 'sessions'));
  }

  /** Watches these agents' folders (and stops watching agents no longer listed). */
  track(records: AgentRecord[]): void {
    const wanted = new Set<string>([join(claudeConfigDir(this.context.env), 'sessions')]);
    for (const record of records) {
      const dir = agentDir(this.context, record.id);
      wanted.add(dir);
      wanted.add(spoolDir(dir));
    }
    for (const [path, watcher] of this.watchers) {
      if (wanted.has(path)) continue;
      watcher.close();
      this.watchers.delete(path);
    }
    for (const path of wanted) this.add(path);
  }

  /** Resolves at the next signal (or one that came since the last call), or after `timeoutMs`. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<'signal' | 'timeout'> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve('signal');
    }
    return new Promise((resolve) => {
      const done = (why: 'signal' | 'timeout') => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((waiter) => waiter !== onSignal);
        this.pending = false;
        resolve(why);
      };
      const onSignal = () => done('signal');
      const onAbort = () => done('timeout');
      const timer = setTimeout(() => done('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(onSignal);
    });
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    for (const waiter of this.waiters) waiter();
  }

  private add(path: string): void {
    if (this.watchers.has(path)) return;
    try {
      const watcher = watch(path, { persistent: false }, () => this.fire());
      watcher.on('error', () => {
        watcher.close();
        this.watchers.delete(path);
      });
      this.watchers.set(path, watcher);
    } catch {
      // Not there yet (no Claude has started, the folder was removed): the next track() tries again.
    }
  }

  private fire(): void {
    if (this.waiters.length === 0) {
      this.pending = true;
      return;
    }
    for (const waiter of [...this.waiters]) waiter();
  }
}
