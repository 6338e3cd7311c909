import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Store, StoredEvent } from '../store/store.js';

/** Where a child's hook writes its events until they are ingested. */
export function spoolDir(agentDir: string): string {
  return join(agentDir, 'events');
}

/** How long a file that does not parse yet may still be in the middle of being written. */
const WRITE_GRACE_MS = 5_000;

/** The parts of a hook payload ringmaster keeps; tool inputs can be megabytes. */
function slim(payload: Record<string, unknown>): Record<string, unknown> {
  const keep = ['session_id', 'transcript_path', 'source', 'reason', 'tool_name', 'tool_use_id', 'notification_type', 'message', 'prompt', 'stop_hook_active', 'agent_id', 'agent_type', 'permission_mode'];
  const detail: Record<string, unknown> = {};
  for (const key of keep) if (payload[key] !== undefined) detail[key] = payload[key];
  const input = payload.tool_input as Record<string, unknown> | undefined;
  if (input && typeof input === 'object') {
    const summary: Record<string, unknown> = {};
    for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'description', 'subagent_type']) {
      if (typeof input[key] === 'string') summary[key] = (input[key] as string).slice(0, 500);
    }
    // A Bash call that goes to the background: with no PostToolUse for Bash, its PreToolUse is what says so.
    if (input.run_in_background === true) summary.run_in_background = true;
    detail.tool_input = summary;
  }
  // Background work: what Stop lists as still running, and what a tool call moved to the background.
  if (Array.isArray(payload.background_tasks)) {
    detail.background_tasks = (payload.background_tasks as Array<Record<string, unknown>>).slice(0, 50).map((task) => ({
      id: task?.id,
      type: task?.type,
      status: task?.status,
      description: typeof task?.description === 'string' ? task.description.slice(0, 200) : undefined,
    }));
  }
  const response = payload.tool_response as Record<string, unknown> | undefined;
  if (response && typeof response === 'object') {
    if (typeof response.backgroundTaskId === 'string') detail.background_task_id = response.backgroundTaskId;
    if (response.isAsync === true && typeof response.agentId === 'string') detail.async_agent_id = response.agentId;
  }
  return detail;
}

/**
 * Moves an agent's spooled hook events into the store, in the order they
 * happened. Safe to run from several processes at once: each file is stored
 * once (unique source) and removed after. A store that is locked elsewhere,
 * read-only or full leaves the files in the spool for a later call.
 */
export function ingestEvents(store: Store, agentId: string, agentDir: string): number {
  const dir = spoolDir(agentDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return 0;
  }
  names.sort();
  let stored = 0;
  for (const name of names) {
    const path = join(dir, name);
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process took it
      const age = Date.now() - safeMtime(path);
      if (age < WRITE_GRACE_MS) break; // still being written; keep order and look again later
      quarantine(dir, name);
      continue;
    }
    const micros = Number(name.split('-')[0]);
    const at = Number.isFinite(micros) && micros > 0 ? Math.floor(micros / 1000) : safeMtime(path);
    const kind = typeof payload.hook_event_name === 'string' ? payload.hook_event_name : 'Unknown';
    const session = typeof payload.session_id === 'string' ? { id: payload.session_id, transcriptPath: typeof payload.transcript_path === 'string' ? payload.transcript_path : null } : undefined;
    // Ingesting happens on status reads: when the store cannot take the write now, the file stays for the next read.
    const inserted = store.whenWritable(() => store.ingestHookEvent(agentId, name, at, kind, slim(payload), session));
    if (inserted === undefined) break;
    if (inserted) stored++;
    try {
      unlinkSync(path);
    } catch {
      // already removed by a concurrent ingest
    }
  }
  return stored;
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function quarantine(dir: string, name: string): void {
  try {
    mkdirSync(join(dir, 'unreadable'), { recursive: true });
    renameSync(join(dir, name), join(dir, 'unreadable', name));
  } catch {
    // leave it; it will be looked at again
  }
}

/** An agent's events stored after `afterId`, oldest first: what a cached fold has not seen yet. */
export function eventsAfter(store: Store, agentId: string, afterId: number): StoredEvent[] {
  const rows = store.db
    .prepare(`SELECT id, at, kind, detail_json, source FROM events WHERE agent_id = ? AND id > ? ORDER BY id`)
    .all(agentId, afterId) as Array<{ id: number; at: number; kind: string; detail_json: string | null; source: string | null }>;
  return rows.map((row) => ({ id: row.id, at: row.at, kind: row.kind, detail: row.detail_json ? JSON.parse(row.detail_json) : null, fromHook: row.source !== null }));
}
