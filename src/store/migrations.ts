import type Database from 'better-sqlite3';
import { StoreUnavailableError } from '../errors.js';

/**
 * Ordered schema steps. `PRAGMA user_version` records how many have run; the
 * check and the steps share one IMMEDIATE transaction so that two processes
 * starting at once cannot both migrate.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE agents (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     repo TEXT NOT NULL,
     base_ref TEXT NOT NULL,
     base_commit TEXT NOT NULL,
     branch TEXT NOT NULL,
     worktree_path TEXT NOT NULL,
     tmux_socket TEXT,
     tmux_session TEXT NOT NULL,
     agent_kind TEXT NOT NULL,
     command_json TEXT NOT NULL,
     model TEXT,
     task TEXT NOT NULL,
     task_preview TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('spawning', 'running', 'removed')),
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     removed_at INTEGER
   );
   -- A name is unique among agents that still exist; removed ones stay as history.
   CREATE UNIQUE INDEX agents_live_name ON agents (name) WHERE removed_at IS NULL;
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     agent_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     detail_json TEXT
   );
   CREATE INDEX events_agent ON events (agent_id, id);`,
  // Live state (issue 3): hook events carry where they came from, so that two
  // processes ingesting the same spool file store it once.
  `ALTER TABLE events ADD COLUMN source TEXT;
   CREATE UNIQUE INDEX events_source ON events (agent_id, source) WHERE source IS NOT NULL;
   ALTER TABLE agents ADD COLUMN claude_session_id TEXT;
   ALTER TABLE agents ADD COLUMN transcript_path TEXT;
   ALTER TABLE agents ADD COLUMN status TEXT;
   ALTER TABLE agents ADD COLUMN status_since INTEGER;
   CREATE TABLE transcripts (
     path TEXT PRIMARY KEY,
     agent_id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('main', 'subagent')),
     offset INTEGER NOT NULL DEFAULT 0,
     size_seen INTEGER NOT NULL DEFAULT 0,
     summary_json TEXT NOT NULL DEFAULT '{}',
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX transcripts_agent ON transcripts (agent_id);
   -- One row per API response: several transcript lines share a request id and the last one counts.
   CREATE TABLE transcript_usage (
     path TEXT NOT NULL,
     request_id TEXT NOT NULL,
     model TEXT,
     sidechain INTEGER NOT NULL DEFAULT 0,
     input_tokens INTEGER NOT NULL DEFAULT 0,
     output_tokens INTEGER NOT NULL DEFAULT 0,
     cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
     cache_read_tokens INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (path, request_id)
   );
   CREATE TABLE prompt_queue (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     agent_id TEXT NOT NULL,
     text TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'delivering', 'delivered', 'failed')),
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     result_json TEXT
   );
   CREATE INDEX prompt_queue_agent ON prompt_queue (agent_id, state);`,
  // Status reads take an agent's newest events by time on every call; every tool call adds two.
  `CREATE INDEX events_agent_at ON events (agent_id, at, id);`,
  // Permission gating (issue 4). The audit log is append-only: cleanup never touches it.
  `CREATE TABLE permission_requests (
     id TEXT PRIMARY KEY,
     agent_id TEXT,
     agent_name TEXT,
     tool TEXT NOT NULL,
     summary TEXT NOT NULL,
     category TEXT NOT NULL,
     reason TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     decided_at INTEGER,
     decided_by TEXT,
     note TEXT
   );
   CREATE INDEX permission_requests_state ON permission_requests (state, created_at);
   CREATE INDEX permission_requests_agent ON permission_requests (agent_id, state);
   CREATE TABLE grants (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     agent_id TEXT,
     category TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     request_id TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX grants_agent ON grants (agent_id, category, expires_at);
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     agent_id TEXT,
     agent_name TEXT,
     request_id TEXT,
     category TEXT NOT NULL,
     tool TEXT,
     summary TEXT,
     outcome TEXT NOT NULL,
     actor TEXT NOT NULL,
     note TEXT
   );
   CREATE INDEX audit_log_at ON audit_log (at);`,
  // GitHub and Linear (issue 5): the agent's PR and ticket, and what review_check already forwarded.
  `ALTER TABLE agents ADD COLUMN pr_number INTEGER;
   ALTER TABLE agents ADD COLUMN pr_url TEXT;
   ALTER TABLE agents ADD COLUMN linear_issue TEXT;
   ALTER TABLE agents ADD COLUMN linear_url TEXT;
   CREATE TABLE forwarded (
     agent_id TEXT NOT NULL,
     item TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (agent_id, item)
   );`,
  // The enforced gate (issue 10): each agent's egress port pair and whether its sandbox is on;
  // the host a network request is about; hosts a human allowed for good.
  `CREATE TABLE agent_egress (
     agent_id TEXT PRIMARY KEY,
     http_port INTEGER,
     socks_port INTEGER,
     sandboxed INTEGER NOT NULL,
     git_hosts_json TEXT NOT NULL DEFAULT '[]',
     created_at INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX agent_egress_http ON agent_egress (http_port) WHERE http_port IS NOT NULL;
   ALTER TABLE permission_requests ADD COLUMN resource TEXT;
   CREATE TABLE network_rules (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     host TEXT NOT NULL,
     agent_id TEXT,
     created_at INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     request_id TEXT
   );
   CREATE INDEX network_rules_host ON network_rules (host);`,
  // Fast state (issue 13): running usage totals per transcript, bucket and model, written in the
  // same transaction as the transcript's offset, so a read sums a few rows instead of every response.
  `CREATE TABLE transcript_totals (
     path TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     bucket TEXT NOT NULL CHECK (bucket IN ('main', 'sidechain', 'subagents')),
     model TEXT NOT NULL DEFAULT '',
     responses INTEGER NOT NULL DEFAULT 0,
     input_tokens INTEGER NOT NULL DEFAULT 0,
     output_tokens INTEGER NOT NULL DEFAULT 0,
     cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
     cache_read_tokens INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (path, bucket, model)
   );
   CREATE INDEX transcript_totals_agent ON transcript_totals (agent_id);
   INSERT INTO transcript_totals (path, agent_id, bucket, model, responses, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens)
     SELECT u.path, t.agent_id, CASE WHEN t.kind = 'subagent' THEN 'subagents' WHEN u.sidechain THEN 'sidechain' ELSE 'main' END, COALESCE(u.model, ''),
            count(*), sum(u.input_tokens), sum(u.output_tokens), sum(u.cache_creation_tokens), sum(u.cache_read_tokens)
     FROM transcript_usage u JOIN transcripts t ON t.path = u.path
     GROUP BY 1, 2, 3, 4;`,
  // Fleet discipline (issue 16): spawns waiting for a free slot or for other agents, in the order they came.
  `CREATE TABLE spawn_queue (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     agent_id TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     repo TEXT NOT NULL,
     request_json TEXT NOT NULL,
     after_json TEXT NOT NULL DEFAULT '[]',
     base_after INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL CHECK (state IN ('queued', 'starting', 'started', 'cancelled', 'failed')),
     claimed_by INTEGER,
     reason TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX spawn_queue_waiting_name ON spawn_queue (name) WHERE state IN ('queued', 'starting');
   CREATE INDEX spawn_queue_state ON spawn_queue (state, id);
   -- Budgets: an agent's own limit (spawn_agent budget), what a human approved beyond it, and a hold at the limit.
   CREATE TABLE agent_budgets (
     agent_id TEXT PRIMARY KEY,
     usd REAL,
     tokens INTEGER,
     extra_usd REAL NOT NULL DEFAULT 0,
     extra_tokens INTEGER NOT NULL DEFAULT 0,
     held_at INTEGER,
     held_reason TEXT,
     warned TEXT NOT NULL DEFAULT '',
     updated_at INTEGER NOT NULL
   );
   -- Each agent's running spend now and then, so that spend over a window is the difference of two samples.
   CREATE TABLE spend_samples (
     agent_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     usd REAL,
     tokens INTEGER NOT NULL,
     PRIMARY KEY (agent_id, at)
   );`,
  // Compare and land (issue 17): several attempts at one task, grouped as one run.
  `CREATE TABLE attempt_groups (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     repo TEXT NOT NULL,
     base_ref TEXT NOT NULL,
     base_commit TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     picked_agent_id TEXT,
     picked_at INTEGER
   );
   CREATE TABLE attempts (
     group_id TEXT NOT NULL REFERENCES attempt_groups (id) ON DELETE CASCADE,
     agent_id TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     PRIMARY KEY (group_id, attempt)
   );
   CREATE UNIQUE INDEX attempts_agent ON attempts (agent_id);`,
  // Remote hosts (issue 18): an agent on another machine. The host's own ringmaster keeps its full record
  // (events, gate, transcripts); this row reserves the name here and says where to ask.
  `CREATE TABLE remote_agents (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     host TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('spawning', 'running', 'removed')),
     agent_kind TEXT NOT NULL,
     repo TEXT NOT NULL,
     branch TEXT NOT NULL,
     base_ref TEXT NOT NULL,
     worktree_path TEXT NOT NULL,
     tmux_session TEXT NOT NULL,
     tmux_socket TEXT,
     attach_command TEXT NOT NULL,
     enforcement TEXT NOT NULL,
     task_preview TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     removed_at INTEGER
   );
   CREATE UNIQUE INDEX remote_agents_live_name ON remote_agents (name) WHERE state != 'removed';`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version right after the step whose SQL contains `marker` (for tests that rebuild an older store). */
export function versionAfter(marker: string): number {
  const index = MIGRATIONS.findIndex((sql) => sql.includes(marker));
  if (index < 0) throw new Error(`no migration contains ${JSON.stringify(marker)}`);
  return index + 1;
}

/** The tables created by the steps after `version`, newest last. */
export function tablesAfter(version: number): string[] {
  return MIGRATIONS.slice(version).flatMap((sql) => [...sql.matchAll(/CREATE TABLE (\w+)/g)].map((match) => match[1]!));
}

/**
 * Brings the schema up to date. Reading `user_version` needs no lock, so a
 * current store is opened without writing (and can be read while another
 * process holds the write lock); only a real migration takes the lock.
 */
export function migrate(db: Database.Database, path = 'the state store'): void {
  const check = () => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new StoreUnavailableError(
        `The state store ${path} has schema version ${current}, newer than this ringmaster understands (${MIGRATIONS.length}). ` +
          `Upgrade ringmaster (git pull && npm run build in its checkout), or set RINGMASTER_HOME to another folder.`,
        'newer',
        path,
      );
    }
    return current;
  };
  if (check() === MIGRATIONS.length) return;
  const run = db.transaction(() => {
    for (let version = check(); version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  });
  run.immediate();
}
