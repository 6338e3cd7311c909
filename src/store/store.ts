import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConflictError, ExternalToolError, RingmasterError, storeFault } from '../errors.js';
import { migrate } from './migrations.js';

export type AgentKind = 'claude' | 'codex' | 'aider' | 'opencode' | 'custom';
/** Lifecycle of the record itself; liveness of tmux and the process is probed, never stored. */
export type AgentRecordState = 'spawning' | 'running' | 'removed';

export interface AgentRecord {
  id: string;
  name: string;
  repo: string;
  baseRef: string;
  baseCommit: string;
  branch: string;
  worktreePath: string;
  tmuxSocket: string | null;
  tmuxSession: string;
  agentKind: AgentKind;
  command: string[];
  model: string | null;
  taskPreview: string;
  state: AgentRecordState;
  createdAt: number;
  updatedAt: number;
  removedAt: number | null;
}

interface AgentRow {
  id: string;
  name: string;
  repo: string;
  base_ref: string;
  base_commit: string;
  branch: string;
  worktree_path: string;
  tmux_socket: string | null;
  tmux_session: string;
  agent_kind: AgentKind;
  command_json: string;
  model: string | null;
  task_preview: string;
  state: AgentRecordState;
  created_at: number;
  updated_at: number;
  removed_at: number | null;
}

const AGENT_COLUMNS = `id, name, repo, base_ref, base_commit, branch, worktree_path, tmux_socket, tmux_session,
  agent_kind, command_json, model, task_preview, state, created_at, updated_at, removed_at`;

/** The parts of an agent's row that change while it runs (agentSnapshots). */
export interface AgentSnapshot {
  state: AgentRecord['state'];
  status: string | null;
  statusSince: number | null;
  sessionId: string | null;
  transcriptPath: string | null;
}

function toRecord(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    name: row.name,
    repo: row.repo,
    baseRef: row.base_ref,
    baseCommit: row.base_commit,
    branch: row.branch,
    worktreePath: row.worktree_path,
    tmuxSocket: row.tmux_socket,
    tmuxSession: row.tmux_session,
    agentKind: row.agent_kind,
    command: JSON.parse(row.command_json) as string[],
    model: row.model,
    taskPreview: row.task_preview,
    state: row.state,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    removedAt: row.removed_at,
  };
}

export interface StoredEvent {
  id: number;
  at: number;
  kind: string;
  detail: Record<string, unknown> | null;
  /** True for Claude Code hook events, false for ringmaster's own (spawned, cleaned_up, …). */
  fromHook: boolean;
}

export type NewAgent = Omit<AgentRecord, 'state' | 'createdAt' | 'updatedAt' | 'removedAt' | 'command'> & { task: string };

export interface StoreOptions {
  /** How long a write waits for another process's lock before failing with a clear error. */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/**
 * How long a write on a read path (status clock, transcript cache, event
 * ingestion) may wait before it is skipped: not at all, since a status read
 * of many agents would otherwise wait once per agent while a lock is held.
 */
const OPPORTUNISTIC_WAIT_MS = 0;
/** How many busy timeouts a spawn's rollback waits to remove its row: a row left in 'spawning' needs a human. */
const ROLLBACK_PATIENCE = 3;

/** Statement methods that change how it returns rows. */
const STATEMENT_MODES = new Set<string | symbol>(['pluck', 'raw', 'expand', 'safeIntegers']);
/** Distinct SQL texts kept compiled per connection (ringmaster has about 110; a few are built from parts). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The connection as every caller sees it: a SQLite failure a user can fix
 * (locked past the timeout, damaged, full, unwritable) comes out of any
 * statement, pragma or transaction as the store's one clear error, with the
 * SQLite error as its cause. Constraint violations and the like pass through.
 */
function withClearErrors(db: Database.Database, explain: (error: unknown) => unknown): Database.Database {
  // The wrappers stand in for better-sqlite3's own functions of any signature.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type AnyFunction = (...args: any[]) => any;
  const guard = <F extends AnyFunction>(fn: F, self: unknown): F =>
    ((...args: Parameters<F>) => {
      try {
        return fn.apply(self, args) as ReturnType<F>;
      } catch (error) {
        throw explain(error);
      }
    }) as F;
  const statement = (prepared: Database.Statement): Database.Statement =>
    new Proxy(prepared, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        if (STATEMENT_MODES.has(property)) {
          // A mode sticks to the statement: it goes on a statement of the caller's own, never on the shared one.
          return (...args: unknown[]) => {
            const own = guard(db.prepare, db)(target.source);
            (Reflect.get(own, property) as AnyFunction).apply(own, args);
            return statement(own);
          };
        }
        return ['run', 'get', 'all', 'iterate'].includes(property as string) ? guard(value as AnyFunction, target) : (value as AnyFunction).bind(target);
      },
    });
  // One compiled statement per SQL text. better-sqlite3 frees a statement's native memory (about 8 kB, unseen by V8)
  // only when the garbage collector gets to it, so a statement prepared per call piled up thousands of them between
  // collections on a fleet's reads; a reused one also skips compiling the SQL again.
  const prepared = new Map<string, Database.Statement>();
  const prepare = (source: string): Database.Statement => {
    const cached = prepared.get(source);
    // A statement still stepping through an iterate() cannot run again until it is done: that caller gets its own.
    if (cached && !cached.busy) return cached;
    const fresh = statement(guard(db.prepare, db)(source));
    if (cached) return fresh;
    if (prepared.size >= STATEMENT_CACHE_SIZE) prepared.delete(prepared.keys().next().value!);
    prepared.set(source, fresh);
    return fresh;
  };
  return new Proxy(db, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'prepare') return prepare;
      if (property === 'transaction') {
        return (fn: AnyFunction) => {
          const transaction = target.transaction(fn);
          return Object.assign(guard(transaction, undefined), {
            deferred: guard(transaction.deferred, undefined),
            immediate: guard(transaction.immediate, undefined),
            exclusive: guard(transaction.exclusive, undefined),
          });
        };
      }
      return guard(value as AnyFunction, target);
    },
  });
}

/**
 * The state store: one SQLite file shared by every ringmaster process (MCP
 * servers, the CLI, and later the hook processes of every child). WAL lets
 * readers run beside one writer; the busy timeout makes writers queue instead
 * of failing with SQLITE_BUSY. Opening only writes when the schema needs a
 * migration, so a store locked by another writer can still be read.
 */
export class Store {
  readonly db: Database.Database;
  readonly busyTimeoutMs: number;

  constructor(
    readonly path: string,
    options: StoreOptions = {},
  ) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      db = new Database(path);
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      // Switching to WAL writes the header; a store already in WAL is left alone.
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, path);
      this.db = withClearErrors(db, (error) => this.explain(error) ?? error);
    } catch (error) {
      db?.close();
      throw this.explain(error) ?? new ExternalToolError(
        `Cannot open the state store at ${path}: ${(error as Error).message}. Check that the directory is writable, or point RINGMASTER_HOME elsewhere.`,
        { cause: error },
      );
    }
  }

  /** A SQLite failure a user can fix, as the one clear error that names this file; undefined otherwise. */
  explain(error: unknown): RingmasterError | undefined {
    if (error instanceof RingmasterError) return error;
    return storeFault(error, this.path, this.busyTimeoutMs);
  }

  /**
   * Runs a write that a read path would like to make (a cache, a status
   * clock, ingesting spooled events) only when the store takes it at once: a
   * lock held elsewhere, a read-only file or a full disk skip it and give
   * undefined, so reading never fails or waits for the sake of a write.
   */
  whenWritable<T>(write: () => T): T | undefined {
    this.db.pragma(`busy_timeout = ${OPPORTUNISTIC_WAIT_MS}`);
    try {
      return write();
    } catch (error) {
      const fault = storeFault(error, this.path);
      if (fault && (fault.fault === 'busy' || fault.fault === 'readonly' || fault.fault === 'full')) return undefined;
      throw error;
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  /** Reserves the name; fails with ConflictError when a live agent already has it. */
  insertAgent(agent: NewAgent): AgentRecord {
    const now = Date.now();
    try {
      this.db
        .prepare(
          `INSERT INTO agents (id, name, repo, base_ref, base_commit, branch, worktree_path, tmux_socket, tmux_session,
             agent_kind, command_json, model, task, task_preview, state, created_at, updated_at)
           VALUES (@id, @name, @repo, @baseRef, @baseCommit, @branch, @worktreePath, @tmuxSocket, @tmuxSession,
             @agentKind, '[]', @model, @task, @taskPreview, 'spawning', @now, @now)`,
        )
        .run({ ...agent, now });
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConflictError(`An agent named "${agent.name}" already exists. Pick another name, or clean it up first with cleanup_worktree.`);
      }
      throw error;
    }
    return this.getAgent(agent.id)!;
  }

  /** The spawn's last write: the row turns 'running' together with its 'spawned' event, or neither does. */
  markRunning(id: string, command: string[], spawned: unknown = null): void {
    this.db.transaction(() => {
      this.db
        .prepare(`UPDATE agents SET state = 'running', command_json = ?, updated_at = ? WHERE id = ?`)
        .run(JSON.stringify(command), Date.now(), id);
      this.addEvent(id, 'spawned', spawned);
    })();
  }

  /**
   * A cleanup's first write, before anything is stopped or deleted: if the
   * store cannot take it (locked, damaged, full), the cleanup fails having
   * changed nothing.
   */
  markCleanupStarted(id: string, detail: unknown): void {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE agents SET updated_at = ? WHERE id = ?`).run(Date.now(), id);
      this.addEvent(id, 'cleanup_started', detail);
    })();
  }

  /** A cleanup's last write: the row is removed together with the record of what was removed and kept. */
  markRemoved(id: string, cleanedUp?: unknown): void {
    const now = Date.now();
    this.db.transaction(() => {
      this.db.prepare(`UPDATE agents SET state = 'removed', removed_at = ?, updated_at = ? WHERE id = ?`).run(now, now, id);
      if (cleanedUp !== undefined) this.addEvent(id, 'cleaned_up', cleanedUp);
    })();
  }

  /**
   * Only for rolling back a spawn that never produced an agent. A rollback
   * often follows a store that was busy, so it waits three timeouts rather
   * than one before giving up and leaving the row for cleanup_worktree.
   */
  deleteAgent(id: string): void {
    this.db.pragma(`busy_timeout = ${this.busyTimeoutMs * ROLLBACK_PATIENCE}`);
    try {
      this.db.transaction(() => {
        this.db.prepare(`DELETE FROM events WHERE agent_id = ?`).run(id);
        this.db.prepare(`DELETE FROM agent_egress WHERE agent_id = ?`).run(id);
        this.db.prepare(`DELETE FROM agents WHERE id = ?`).run(id);
      })();
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  getAgent(id: string): AgentRecord | undefined {
    const row = this.db.prepare(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`).get(id) as AgentRow | undefined;
    return row && toRecord(row);
  }

  getTask(id: string): string | undefined {
    const row = this.db.prepare(`SELECT task FROM agents WHERE id = ?`).get(id) as { task: string } | undefined;
    return row?.task;
  }

  /** The live agent with this name, else the most recently removed one. */
  findAgentByName(name: string): AgentRecord | undefined {
    const row = this.db
      .prepare(`SELECT ${AGENT_COLUMNS} FROM agents WHERE name = ? ORDER BY removed_at IS NOT NULL, created_at DESC LIMIT 1`)
      .get(name) as AgentRow | undefined;
    return row && toRecord(row);
  }

  listAgents(options: { includeRemoved?: boolean } = {}): AgentRecord[] {
    const where = options.includeRemoved ? '' : 'WHERE removed_at IS NULL';
    const rows = this.db.prepare(`SELECT ${AGENT_COLUMNS} FROM agents ${where} ORDER BY created_at, name`).all() as AgentRow[];
    return rows.map(toRecord);
  }

  /** Stores a hook event once, however many processes ingest the same spool file. */
  insertHookEvent(agentId: string, source: string, at: number, kind: string, detail: unknown): boolean {
    const result = this.db
      .prepare(`INSERT OR IGNORE INTO events (agent_id, at, kind, detail_json, source) VALUES (?, ?, ?, ?, ?)`)
      .run(agentId, at, kind, JSON.stringify(detail), source);
    return result.changes > 0;
  }

  /** One spooled hook event and the Claude session it names, in one write. */
  ingestHookEvent(agentId: string, source: string, at: number, kind: string, detail: unknown, session?: { id: string; transcriptPath: string | null }): boolean {
    return this.db.transaction(() => {
      const stored = this.insertHookEvent(agentId, source, at, kind, detail);
      if (session) this.setClaudeSession(agentId, session.id, session.transcriptPath);
      return stored;
    })();
  }

  /** The newest events of an agent, newest first. */
  recentEvents(agentId: string, limit = 50): StoredEvent[] {
    const rows = this.db
      .prepare(`SELECT id, at, kind, detail_json, source FROM events WHERE agent_id = ? ORDER BY at DESC, id DESC LIMIT ?`)
      .all(agentId, limit) as Array<{ id: number; at: number; kind: string; detail_json: string | null; source: string | null }>;
    return rows.map((row) => ({ id: row.id, at: row.at, kind: row.kind, detail: row.detail_json ? JSON.parse(row.detail_json) : null, fromHook: row.source !== null }));
  }

  setClaudeSession(agentId: string, sessionId: string, transcriptPath: string | null): void {
    this.db
      .prepare(`UPDATE agents SET claude_session_id = ?, transcript_path = COALESCE(?, transcript_path), updated_at = ? WHERE id = ?`)
      .run(sessionId, transcriptPath, Date.now(), agentId);
  }

  claudeSession(agentId: string): { sessionId: string | null; transcriptPath: string | null } {
    const row = this.db.prepare(`SELECT claude_session_id, transcript_path FROM agents WHERE id = ?`).get(agentId) as
      | { claude_session_id: string | null; transcript_path: string | null }
      | undefined;
    return { sessionId: row?.claude_session_id ?? null, transcriptPath: row?.transcript_path ?? null };
  }

  /**
   * What a status read of the whole fleet needs of each row that may have
   * changed since its records were listed, in one query instead of a few per agent.
   */
  agentSnapshots(): Map<string, AgentSnapshot> {
    const rows = this.db.prepare(`SELECT id, state, status, status_since, claude_session_id, transcript_path FROM agents`).all() as Array<{
      id: string;
      state: AgentRecord['state'];
      status: string | null;
      status_since: number | null;
      claude_session_id: string | null;
      transcript_path: string | null;
    }>;
    return new Map(
      rows.map((row) => [row.id, { state: row.state, status: row.status, statusSince: row.status_since, sessionId: row.claude_session_id, transcriptPath: row.transcript_path }]),
    );
  }

  /**
   * Remembers when a derived status began; returns the start time in force.
   * A status read: the write is skipped when the store cannot take it at once.
   * `known` is the row as a snapshot just read it (saves the lookup).
   */
  noteStatus(agentId: string, status: string, since: number, known?: Pick<AgentSnapshot, 'status' | 'statusSince'>): number {
    const row = known
      ? { status: known.status, status_since: known.statusSince }
      : (this.db.prepare(`SELECT status, status_since FROM agents WHERE id = ?`).get(agentId) as { status: string | null; status_since: number | null } | undefined);
    if (row?.status === status && row.status_since !== null) return row.status_since;
    this.whenWritable(() => this.db.prepare(`UPDATE agents SET status = ?, status_since = ? WHERE id = ?`).run(status, since, agentId));
    return since;
  }

  addEvent(agentId: string, kind: string, detail: unknown = null): void {
    this.db
      .prepare(`INSERT INTO events (agent_id, at, kind, detail_json) VALUES (?, ?, ?, ?)`)
      .run(agentId, Date.now(), kind, JSON.stringify(detail));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
