import { existsSync, renameSync } from 'node:fs';
import { closeStore, contextStorePath, type Context } from '../core/index.js';
import { storeFault, StoreUnavailableError } from '../errors.js';
import { SCHEMA_VERSION } from '../store/migrations.js';

export interface StoreCheckOptions {
  /** Move a damaged store aside (kept beside it) so that a fresh one is started. */
  fix?: boolean;
  /** Write a consistent copy of a healthy store next to it. */
  backup?: boolean;
}

export interface StoreCheck {
  ok: boolean;
  detail: string;
  fix?: string;
}

const FIXES: Record<StoreUnavailableError['fault'], (path: string) => string> = {
  busy: (path) => `Another process holds the write lock; see it with fuser -v ${path}, let it finish or stop it, then run ringmaster doctor again.`,
  corrupt: () => 'Run `ringmaster doctor --fix`: the damaged file is moved aside (kept as state.db.damaged-<time>) and a fresh store is started.',
  full: () => 'Free disk space on that file system, then run ringmaster doctor again.',
  readonly: (path) => `Make ${path.replace(/\/[^/]*$/, '')} and its state.db files writable by this user, or set RINGMASTER_HOME to a writable folder.`,
  newer: () => 'Upgrade ringmaster (git pull && npm run build), or set RINGMASTER_HOME to another folder.',
  io: () => 'Check the disk (dmesg, df), then run ringmaster doctor again.',
};

/**
 * The doctor's store check: it opens, passes `PRAGMA integrity_check`, has the
 * schema this ringmaster knows, and takes a write. With `fix`, a damaged store
 * is moved aside and a fresh one started; with `backup`, a healthy store is
 * copied next to itself. Every failure is the store's one clear error.
 */
export async function checkStore(context: Context, options: StoreCheckOptions = {}): Promise<StoreCheck> {
  const path = contextStorePath(context);
  const first = await inspectStore(context, path);
  if (first.ok || !options.fix || first.fault !== 'corrupt') {
    if (first.ok && options.backup) {
      const copy = `${path}.backup-${stamp()}`;
      await context.store.db.backup(copy);
      return { ...first, detail: `${first.detail}; backed up to ${copy}` };
    }
    return strip(first);
  }
  const aside = moveAside(context, path);
  const again = await inspectStore(context, path);
  const moved = `the damaged store was moved to ${aside}; agents it listed are no longer tracked (their worktrees under ${context.config.worktreeRoot} and tmux sessions stay until you remove them)`;
  return again.ok ? { ok: true, detail: `${again.detail}; ${moved}` } : { ...strip(again), detail: `${again.detail} (${moved})` };
}

async function inspectStore(context: Context, path: string): Promise<StoreCheck & { fault?: StoreUnavailableError['fault'] }> {
  try {
    const { db } = context.store;
    const problems = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check).filter((line) => line !== 'ok');
    if (problems.length > 0) {
      return {
        ok: false,
        fault: 'corrupt',
        detail: `${path} fails PRAGMA integrity_check: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
        fix: FIXES.corrupt(path),
      };
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    const mode = db.pragma('journal_mode', { simple: true }) as string;
    db.exec('BEGIN IMMEDIATE; ROLLBACK;');
    const ok = version === SCHEMA_VERSION;
    return {
      ok,
      detail: `${path} (schema ${version}, ${mode}, integrity ok, writable)`,
      ...(ok ? {} : { fix: 'The store schema does not match this ringmaster; upgrade ringmaster.' }),
    };
  } catch (error) {
    const fault = storeFault(error, path, context.config.store.busyTimeoutMs);
    if (!fault) throw error;
    // A damaged or unwritable file stays open read-only or broken; look again with a fresh connection next time.
    closeStore(context);
    return { ok: false, fault: fault.fault, detail: fault.message, fix: FIXES[fault.fault](path) };
  }
}

function moveAside(context: Context, path: string): string {
  closeStore(context);
  const aside = `${path}.damaged-${stamp()}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  }
  return aside;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

function strip(check: StoreCheck): StoreCheck {
  return { ok: check.ok, detail: check.detail, ...(check.fix ? { fix: check.fix } : {}) };
}
