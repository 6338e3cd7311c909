import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { refreshFleetTranscripts, refreshTranscripts } from '../../src/state/transcripts.js';
import { SCHEMA_VERSION, tablesAfter, versionAfter } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/fixtures.js';
import { holdStoreLock } from '../helpers/store-lock.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (record: unknown) => `${JSON.stringify(record)}\n`;
const assistant = (requestId: string, usage: Record<string, number>, extra: Record<string, unknown> = {}) =>
  line({ type: 'assistant', requestId, message: { id: requestId, model: 'claude-sonnet-4-5', content: [{ type: 'text', text: requestId }], usage }, ...extra });

describe('running usage totals', () => {
  const config = loadConfig({ RINGMASTER_HOME: dir });

  it('count a response split across reads once, from its last line, and equal a recount of the responses', () => {
    const store = new Store(join(dir, 'state.db'));
    const path = join(dir, 'main.jsonl');
    writeFileSync(path, assistant('a', { input_tokens: 10, output_tokens: 1 }) + assistant('b', { input_tokens: 20, output_tokens: 2 }));
    let state = refreshTranscripts(store, config, 'ag_1', path);
    expect(state.usage.main).toMatchObject({ apiResponses: 2, inputTokens: 30, outputTokens: 3 });
    // The rest of response b arrives in the next read, with a sidechain response and one of an unpriced model.
    appendFileSync(path, assistant('b', { input_tokens: 20, output_tokens: 50 }) + assistant('c', { input_tokens: 5, output_tokens: 5 }, { isSidechain: true }));
    state = refreshTranscripts(store, config, 'ag_1', path);
    expect(state.usage.main).toMatchObject({ apiResponses: 2, inputTokens: 30, outputTokens: 51 });
    expect(state.usage.sidechain).toMatchObject({ apiResponses: 1, inputTokens: 5, outputTokens: 5 });
    const recount = store.db.prepare(`SELECT count(*) AS n, sum(input_tokens) AS input, sum(output_tokens) AS output FROM transcript_usage WHERE path = ?`).get(path);
    expect(recount).toEqual({ n: 3, input: 35, output: 56 });
    // A second process (no in-memory summary) reads the same totals; nothing new means no write.
    const other = new Store(join(dir, 'state.db'));
    expect(refreshTranscripts(other, config, 'ag_1', path).usage).toEqual(state.usage);
    // A rewritten (shorter) file starts over.
    writeFileSync(path, assistant('z', { input_tokens: 1, output_tokens: 1 }));
    state = refreshTranscripts(store, config, 'ag_1', path);
    expect(state.usage.main).toMatchObject({ apiResponses: 1, inputTokens: 1, outputTokens: 1 });
    expect(state.usage.sidechain.apiResponses).toBe(0);
    expect(state.summary.lastAssistantText).toBe('z');
    other.close();
    store.close();
  });

  it('a fleet read folds several agents at once to the totals each would have alone; with the store locked it answers and stores nothing', async () => {
    const dbPath = join(dir, 'fleet.db');
    const store = new Store(dbPath);
    const agents = [1, 2, 3].map((n) => [`ag_f${n}`, join(dir, `fleet-${n}.jsonl`)] as [string, string]);
    agents.forEach(([, path], index) => writeFileSync(path, assistant(`f${index}a`, { input_tokens: 10 * (index + 1), output_tokens: 1 })));
    let states = refreshFleetTranscripts(store, config, agents);
    expect(states.get('ag_f3')!.usage.main).toMatchObject({ apiResponses: 1, inputTokens: 30 });
    // Appends to all three: one batch; a separate store and process folding them one by one agrees.
    agents.forEach(([, path], index) => appendFileSync(path, assistant(`f${index}b`, { input_tokens: 1, output_tokens: 7 }) + assistant(`f${index}a`, { input_tokens: 10 * (index + 1), output_tokens: 9 })));
    states = refreshFleetTranscripts(store, config, agents);
    const alone = new Store(join(dir, 'fleet-alone.db'));
    for (const [agentId, path] of agents) {
      expect(states.get(agentId)!.usage).toEqual(refreshTranscripts(alone, config, agentId, path).usage);
      expect(states.get(agentId)!.usage.main).toMatchObject({ apiResponses: 2, outputTokens: 16 });
    }
    alone.close();
    // Another process holds the write lock: the read still answers from the files, and stores nothing.
    agents.forEach(([, path], index) => appendFileSync(path, assistant(`f${index}c`, { input_tokens: 2, output_tokens: 2 })));
    const lock = await holdStoreLock(dbPath, 30_000);
    const stored = () => store.db.prepare(`SELECT count(*) AS n FROM transcript_usage WHERE path LIKE '%fleet-%'`).get() as { n: number };
    try {
      const before = stored().n;
      // (The totals are the stored ones until then; the summary is read from the file.)
      states = refreshFleetTranscripts(store, config, agents);
      expect(states.get('ag_f1')!.summary.lastAssistantText).toBe('f0c');
      expect(stored().n).toBe(before);
    } finally {
      lock.release();
      await lock.done;
    }
    // Once it is free, the next read stores what the locked one could not.
    states = refreshFleetTranscripts(store, config, agents);
    expect(states.get('ag_f2')!.usage.main).toMatchObject({ apiResponses: 3, inputTokens: 23, outputTokens: 18 });
    expect(stored().n).toBe(9);
    store.close();
  });

  it('are backfilled from the stored responses when an older store is migrated', () => {
    const dbPath = join(dir, 'older.db');
    const path = join(dir, 'older.jsonl');
    writeFileSync(path, assistant('a', { input_tokens: 3, output_tokens: 4 }));
    const setup = new Store(dbPath);
    // The store as the schema before the totals left it: offsets and responses, no totals (and none of the later steps).
    const before = versionAfter('CREATE TABLE transcript_totals') - 1;
    for (const table of ['transcript_totals', ...tablesAfter(before + 1)].reverse()) setup.db.exec(`DROP TABLE ${table}`);
    setup.db.pragma(`user_version = ${before}`);
    const size = Buffer.byteLength(assistant('a', { input_tokens: 3, output_tokens: 4 }));
    setup.db.prepare(`INSERT INTO transcripts (path, agent_id, kind, offset, size_seen, summary_json, updated_at) VALUES (?, 'ag_old', 'main', ?, ?, '{}', 0)`).run(path, size, size);
    const usage = setup.db.prepare(`INSERT INTO transcript_usage (path, request_id, model, sidechain, input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?)`);
    usage.run(path, 'a', 'claude-sonnet-4-5', 0, 3, 4);
    usage.run(path, 'b', 'claude-sonnet-4-5', 1, 10, 20);
    usage.run(path, 'c', null, 0, 1, 1);
    setup.close();
    const store = new Store(dbPath);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const state = refreshTranscripts(store, config, 'ag_old', path);
    expect(state.usage.main).toMatchObject({ apiResponses: 2, inputTokens: 4, outputTokens: 5, costUsd: null });
    expect(state.usage.sidechain).toMatchObject({ apiResponses: 1, inputTokens: 10, outputTokens: 20 });
    expect(state.unpricedModels).toEqual(['(no model)']);
    store.close();
  });
});
