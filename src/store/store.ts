import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConflictError, ExternalToolError, RingmasterError } from '../errors.js';
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

/**
 * The state store: one SQLite file shared by every ringmaster process (MCP
 * servers, the CLI, and later the hook processes of every child). WAL lets
 * readers run beside one writer; the busy timeout makes writers queue instead
 * of failing with SQLITE_BUSY.
 */
export class Store {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.db = new Database(path);
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
    } catch (error) {
      if (error instanceof RingmasterError) throw error;
      throw new ExternalToolError(
        `Cannot open the state store at ${path}: ${(error as Error).message}. Check that the directory is writable, or point RINGMASTER_HOME elsewhere.`,
        { cause: error },
      );
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

  markRunning(id: string, command: string[]): void {
    this.db
      .prepare(`UPDATE agents SET state = 'running', command_json = ?, updated_at = ? WHERE id = ?`)
      .run(JSON.stringify(command), Date.now(), id);
  }

  markRemoved(id: string): void {
    const now = Date.now();
    this.db.prepare(`UPDATE agents SET state = 'removed', removed_at = ?, updated_at = ? WHERE id = ?`).run(now, now, id);
  }

  /** Only for rolling back a spawn that never produced an agent. */
  deleteAgent(id: string): void {
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM events WHERE agent_id = ?`).run(id);
      this.db.prepare(`DELETE FROM agents WHERE id = ?`).run(id);
    })();
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

  /** Remembers when a derived status began; returns the start time in force. */
  noteStatus(agentId: string, status: string, since: number): number {
    const row = this.db.prepare(`SELECT status, status_since FROM agents WHERE id = ?`).get(agentId) as { status: string | null; status_since: number | null } | undefined;
    if (row?.status === status && row.status_since !== null) return row.status_since;
    this.db.prepare(`UPDATE agents SET status = ?, status_since = ? WHERE id = ?`).run(status, since, agentId);
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
