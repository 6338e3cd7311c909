import type Database from 'better-sqlite3';

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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(`the store has schema version ${current}, newer than this ringmaster (${MIGRATIONS.length}); upgrade ringmaster`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  });
  run.immediate();
}
