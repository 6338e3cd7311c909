import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { ConflictError } from '../../src/errors.js';
import { ROOT, tempDir } from '../helpers/fixtures.js';
import { rmSync, writeFileSync } from 'node:fs';

const run = promisify(execFile);
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const agent = (id: string, name: string) => ({
  id,
  name,
  repo: '/r',
  baseRef: 'main',
  baseCommit: 'c'.repeat(40),
  branch: `agent/${name}`,
  worktreePath: `/w/${name}`,
  tmuxSocket: null,
  tmuxSession: `ringmaster-${name}`,
  agentKind: 'claude' as const,
  model: null,
  task: 'task',
  taskPreview: 'task',
});

describe('SQLite state store', () => {
  it('uses WAL and a busy timeout, and migrates to the current schema', () => {
    const store = new Store(join(dir, 'a.db'));
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    store.close();
    // Opening again is a no-op migration.
    const again = new Store(join(dir, 'a.db'));
    expect(again.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('refuses a store written by a newer ringmaster with a clear message', () => {
    const path = join(dir, 'newer.db');
    const db = new Database(path);
    db.pragma('user_version = 999');
    db.close();
    expect(() => new Store(path)).toThrow(/schema version 999, newer than this ringmaster understands \(\d+\)\. Upgrade ringmaster/);
  });

  it('keeps live names unique but lets removed names be reused', () => {
    const store = new Store(join(dir, 'names.db'));
    store.insertAgent(agent('a1', 'same'));
    expect(() => store.insertAgent(agent('a2', 'same'))).toThrow(ConflictError);
    store.markRemoved('a1');
    store.insertAgent(agent('a3', 'same'));
    expect(store.findAgentByName('same')?.id).toBe('a3');
    expect(store.listAgents().map((record) => record.id)).toEqual(['a3']);
    expect(store.listAgents({ includeRemoved: true })).toHaveLength(2);
    store.close();
  });

  it('survives several processes writing at once without losing a row', async () => {
    const path = join(dir, 'shared.db');
    new Store(path).close();
    const writer = `
      import { Store } from ${JSON.stringify(join(ROOT, 'dist/src/store/store.js'))};
      const store = new Store(process.argv[1]);
      for (let i = 0; i < 50; i++) store.addEvent('agent-' + process.argv[2], 'tick', { i });
      store.close();`;
    await Promise.all(
      Array.from({ length: 6 }, (_, worker) => run(process.execPath, ['--input-type=module', '-e', writer, path, String(worker)])),
    );
    const store = new Store(path);
    const count = store.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
    expect(count.n).toBe(300);
    store.close();
  });

  it('compiles each SQL text once per connection, and keeps callers apart', () => {
    const store = new Store(join(dir, 'statements.db'));
    for (const [id, name] of [['ag_s1', 's-one'], ['ag_s2', 's-two']] as const) store.insertAgent(agent(id, name));
    const sql = `SELECT name FROM agents ORDER BY name`;
    // Reused, not compiled again: a statement per call held about 8 kB of native memory until the next collection.
    expect(store.db.prepare(sql)).toBe(store.db.prepare(sql));
    // A caller still stepping through an iterate() does not block another caller of the same SQL, nor see its rows.
    const stepping = store.db.prepare(sql).iterate() as IterableIterator<{ name: string }>;
    expect(stepping.next().value).toEqual({ name: 's-one' });
    expect(store.db.prepare(sql).all()).toEqual([{ name: 's-one' }, { name: 's-two' }]);
    expect(stepping.next().value).toEqual({ name: 's-two' });
    expect(stepping.next().done).toBe(true);
    // A mode set by one caller (pluck, raw) stays with that caller's statement.
    expect(store.db.prepare(sql).pluck().all()).toEqual(['s-one', 's-two']);
    expect(store.db.prepare(sql).raw().get()).toEqual(['s-one']);
    expect(store.db.prepare(sql).get()).toEqual({ name: 's-one' });
    // Bad SQL is not kept: it fails again, the same way.
    expect(() => store.db.prepare('SELECT nope FROM agents')).toThrow(/no such column/);
    expect(() => store.db.prepare('SELECT nope FROM agents')).toThrow(/no such column/);
    store.close();
  });

  it('explains an unusable location', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => new Store(join(file, 'state.db'))).toThrow(/Cannot open the state store at .*a-file\/state\.db.*RINGMASTER_HOME/);
  });
});
