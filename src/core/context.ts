import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Git } from '../adapters/git.js';
import { Tmux } from '../adapters/tmux.js';
import { loadConfig, type Config } from '../config.js';
import { Store } from '../store/store.js';
import { describeError, storeFault } from '../errors.js';

/**
 * Everything the core needs from the outside world, handed in as one object so
 * that tests can give it a temp repo, a private tmux socket and a temp database.
 */
export interface Context {
  config: Config;
  store: Store;
  git: Git;
  /** The tmux server new agents go to; existing agents use the socket recorded with them. */
  tmux: Tmux;
  /** The environment children inherit (before per-agent additions). */
  env: Record<string, string | undefined>;
}

/**
 * The store opens on first use, not here: a server must start and answer
 * `initialize` and `tools/list` even when the store is locked, damaged or
 * unwritable, and each call that needs it gets the clear StoreUnavailableError.
 * A failed open is tried again on the next use, so fixing the fault is enough.
 */
export function createContext(env: Record<string, string | undefined> = process.env, config: Config = loadConfig(env)): Context {
  const opener = new StoreOpener(storePath(config), config.store.busyTimeoutMs);
  const context = {
    config,
    git: new Git(),
    tmux: new Tmux(config.tmux.command, config.tmux.socket ?? null),
    env,
  } as Context;
  Object.defineProperty(context, 'store', { enumerable: true, get: () => opener.get() });
  lazyStores.set(context, opener);
  return context;
}

/** A context's store: opened on first use, and again once the file behind it changed. */
class StoreOpener {
  private store: Store | undefined;
  private inode = -1;
  private writable = true;

  constructor(
    readonly path: string,
    private readonly busyTimeoutMs: number,
  ) {}

  /** When the file behind the open store was last compared with it (see STALE_CHECK_MS). */
  private checkedAt = 0;

  get(): Store {
    if (this.store && performance.now() - this.checkedAt >= STALE_CHECK_MS) {
      this.checkedAt = performance.now();
      if (this.stale()) this.close();
    }
    if (!this.store) {
      this.store = new Store(this.path, { busyTimeoutMs: this.busyTimeoutMs });
      this.inode = inodeOf(this.path);
      this.writable = canWrite(this.path);
    }
    return this.store;
  }

  recheck(): void {
    this.checkedAt = 0;
  }

  close(): void {
    this.store?.close();
    this.store = undefined;
  }

  /**
   * SQLite keeps a connection on the file it opened: a replaced file (a
   * restored copy, doctor --fix) or one opened read-only that can now be
   * written needs a fresh connection, or the fix would not show until restart.
   */
  private stale(): boolean {
    return inodeOf(this.path) !== this.inode || (!this.writable && canWrite(this.path));
  }
}

function inodeOf(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.ino ?? -1;
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const lazyStores = new WeakMap<Context, StoreOpener>();

/**
 * A read of the fleet touches the store thousands of times; comparing the file
 * each time (two syscalls) was a tenth of its cost. Between checks a replaced
 * file can go unseen this long; every tool call checks afresh (recheckStore).
 */
const STALE_CHECK_MS = 250;

/** The next use of this context's store compares it with the file first (at the start of every tool call). */
export function recheckStore(context: Context): void {
  lazyStores.get(context)?.recheck();
}

export function storePath(config: Config): string {
  return join(config.home, 'state.db');
}

/** Where this context's store lives, without opening it. */
export function contextStorePath(context: Context): string {
  return lazyStores.get(context)?.path ?? context.store.path;
}

/**
 * Closes the store if it was opened; a context from createContext opens it
 * again on next use (after a damaged file was replaced, say).
 */
export function closeStore(context: Context): void {
  const lazy = lazyStores.get(context);
  if (lazy) lazy.close();
  else context.store.close();
}

/**
 * The one line a user sees for a failed call. A store fault is named with the
 * file and its fix; a damaged store is closed so the next call opens whatever
 * file is there by then.
 */
export function explainError(context: Context, error: unknown): string {
  const fault = storeFault(error, contextStorePath(context), context.config.store.busyTimeoutMs);
  // A connection that met a damaged or unwritable file keeps seeing it; the next call opens afresh.
  if (fault && ['corrupt', 'readonly', 'io'].includes(fault.fault) && lazyStores.has(context)) closeStore(context);
  return describeError(fault ?? error);
}

export function tmuxFor(context: Context, socket: string | null): Tmux {
  return new Tmux(context.config.tmux.command, socket);
}

export function agentDir(context: Context, agentId: string): string {
  return join(context.config.home, 'agents', agentId);
}
