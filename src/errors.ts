/**
 * The small set of errors ringmaster raises on purpose. Each message says what
 * went wrong *and* what to do next; MCP tools turn them into `isError` results
 * and the CLI into one line on stderr.
 */
export class RingmasterError extends Error {
  readonly code: string = 'RINGMASTER_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller asked for something malformed or impossible. */
export class UserInputError extends RingmasterError {
  override readonly code = 'INVALID_INPUT';
}

/** The named agent, repo or ref does not exist. */
export class NotFoundError extends RingmasterError {
  override readonly code = 'NOT_FOUND';
}

/** The request collides with existing state (name taken, branch exists, unsaved work). */
export class ConflictError extends RingmasterError {
  override readonly code = 'CONFLICT';
}

/** git, tmux or an agent CLI is missing or failed. */
export class ExternalToolError extends RingmasterError {
  override readonly code = 'EXTERNAL_TOOL';
}

/** Why the state store cannot be used; each has its own fix. */
export type StoreFault = 'busy' | 'corrupt' | 'full' | 'readonly' | 'newer' | 'io';

/**
 * The SQLite state store cannot serve this call: locked past the busy timeout,
 * damaged, on a full disk, not writable, or from a newer ringmaster. The
 * message names the file and the fix; nothing was changed by the failed call.
 */
export class StoreUnavailableError extends RingmasterError {
  override readonly code = 'STORE_UNAVAILABLE';
  constructor(
    message: string,
    readonly fault: StoreFault,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Maps a SQLite failure (better-sqlite3's `SqliteError.code`) that a user can
 * fix to a StoreUnavailableError naming `path`; anything else gives undefined.
 */
export function storeFault(error: unknown, path: string, busyTimeoutMs?: number): StoreUnavailableError | undefined {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const sqlite = `SQLite: ${(error as Error).message}`;
  const folder = path.replace(/\/[^/]*$/, '') || '/';
  const make = (fault: StoreFault, message: string) => new StoreUnavailableError(message, fault, path, { cause: error });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return make(
      'busy',
      `The state store ${path} is locked by another process${busyTimeoutMs ? ` (waited ${busyTimeoutMs} ms)` : ''}; nothing was changed. ` +
        `Try again in a moment. If it stays locked, find the process holding it (fuser -v ${path}) and let it finish or stop it.`,
    );
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return make(
      'corrupt',
      `The state store ${path} is damaged (${sqlite}). Run \`ringmaster doctor --fix\` to move it aside with a backup and start a fresh store ` +
        `(agents already running keep their worktrees and tmux sessions), or restore a copy of the file.`,
    );
  }
  if (code === 'SQLITE_FULL') {
    return make('full', `The disk holding the state store ${path} is full (${sqlite}); nothing was saved. Free some space there, then try again.`);
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) {
    return make(
      'readonly',
      `Cannot write the state store ${path} (${sqlite}). Make ${folder} and the state.db files in it writable by this user (ls -la ${folder}), ` +
        `or set RINGMASTER_HOME to a folder you can write.`,
    );
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_NOMEM' || code === 'SQLITE_PROTOCOL') {
    return make('io', `Reading or writing the state store ${path} failed (${sqlite}). Check the disk, then run \`ringmaster doctor\`; try again after.`);
  }
  return undefined;
}

/**
 * One line for humans, without a stack trace. Unknown errors keep their
 * message; a store fault a user can fix gets its clear message even when it
 * arrives as a raw SQLite error.
 */
export function describeError(error: unknown, storePath = 'the ringmaster state store (state.db)'): string {
  if (error instanceof RingmasterError) return error.message;
  const fault = storeFault(error, storePath);
  if (fault) return fault.message;
  if (error instanceof Error) return `Internal error: ${error.message}`;
  return `Internal error: ${String(error)}`;
}
