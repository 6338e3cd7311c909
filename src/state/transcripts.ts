import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { emptySummary, readTranscript, type TranscriptSummary, type UsageRow } from '../adapters/transcript.js';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';

export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  /** Null when a model has no price in the table. */
  costUsd: number | null;
  apiResponses: number;
}

export interface TranscriptState {
  path: string;
  summary: TranscriptSummary;
  /** The main conversation, sidechains of the main file, and subagent transcripts, apart. */
  usage: { main: UsageTotals; sidechain: UsageTotals; subagents: UsageTotals };
  unpricedModels: string[];
}

interface TranscriptRow {
  path: string;
  kind: 'main' | 'subagent';
  offset: number;
  summary_json: string;
}

/**
 * Brings the stored summary of an agent's transcripts up to date, reading only
 * what was appended since last time (the byte offset is persisted), and
 * returns the summary with token usage and cost.
 */
export function refreshTranscripts(store: Store, config: Config, agentId: string, mainPath: string): TranscriptState {
  const files: Array<{ path: string; kind: 'main' | 'subagent' }> = [{ path: mainPath, kind: 'main' }];
  // Subagent transcripts sit beside the main one, in <session-id>/subagents/.
  const subagentDir = join(dirname(mainPath), basename(mainPath, '.jsonl'), 'subagents');
  if (existsSync(subagentDir)) {
    for (const name of readdirSync(subagentDir).sort()) if (name.endsWith('.jsonl')) files.push({ path: join(subagentDir, name), kind: 'subagent' });
  }
  let mainSummary = emptySummary();
  for (const file of files) {
    const summary = refreshOne(store, agentId, file.path, file.kind);
    if (file.kind === 'main') mainSummary = summary;
  }
  const usage = { main: zeroTotals(), sidechain: zeroTotals(), subagents: zeroTotals() };
  const unpriced = new Set<string>();
  const rows = store.db
    .prepare(
      `SELECT u.model, u.sidechain, t.kind, u.input_tokens, u.output_tokens, u.cache_creation_tokens, u.cache_read_tokens
       FROM transcript_usage u JOIN transcripts t ON t.path = u.path WHERE t.agent_id = ?`,
    )
    .all(agentId) as Array<{ model: string | null; sidechain: number; kind: string; input_tokens: number; output_tokens: number; cache_creation_tokens: number; cache_read_tokens: number }>;
  for (const row of rows) {
    const bucket = row.kind === 'subagent' ? usage.subagents : row.sidechain ? usage.sidechain : usage.main;
    bucket.apiResponses++;
    bucket.inputTokens += row.input_tokens;
    bucket.outputTokens += row.output_tokens;
    bucket.cacheCreationTokens += row.cache_creation_tokens;
    bucket.cacheReadTokens += row.cache_read_tokens;
    const price = priceFor(config, row.model);
    if (!price) {
      unpriced.add(row.model ?? '(no model)');
      bucket.costUsd = null;
    } else if (bucket.costUsd !== null) {
      bucket.costUsd +=
        (row.input_tokens * price.input + row.output_tokens * price.output + row.cache_creation_tokens * price.cacheWrite + row.cache_read_tokens * price.cacheRead) / 1e6;
    }
  }
  for (const bucket of Object.values(usage)) if (bucket.costUsd !== null) bucket.costUsd = Math.round(bucket.costUsd * 1e6) / 1e6;
  return { path: mainPath, summary: mainSummary, usage, unpricedModels: [...unpriced] };
}

function refreshOne(store: Store, agentId: string, path: string, kind: 'main' | 'subagent'): TranscriptSummary {
  const row = store.db.prepare(`SELECT path, kind, offset, summary_json FROM transcripts WHERE path = ?`).get(path) as TranscriptRow | undefined;
  let summary: TranscriptSummary = row ? { ...emptySummary(), ...(JSON.parse(row.summary_json) as Partial<TranscriptSummary>) } : emptySummary();
  if (!existsSync(path)) return summary;
  let result = readTranscript(path, row?.offset ?? 0, summary);
  let rewritten = false;
  if (!result.continued) {
    // The file was rewritten: forget what it said and read it again from the start.
    rewritten = true;
    summary = emptySummary();
    result = readTranscript(path, 0, summary);
  }
  if (row && !rewritten && result.offset === row.offset) return summary;
  // A cache on a read path: when the store cannot take the write now, the next read does it.
  store.whenWritable(() => store.db.transaction(() => {
    if (rewritten) store.db.prepare(`DELETE FROM transcript_usage WHERE path = ?`).run(path);
    store.db
      .prepare(
        `INSERT INTO transcripts (path, agent_id, kind, offset, size_seen, summary_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET offset = excluded.offset, size_seen = excluded.size_seen, summary_json = excluded.summary_json, updated_at = excluded.updated_at`,
      )
      .run(path, agentId, kind, result.offset, result.size, JSON.stringify(summary), Date.now());
    const upsert = store.db.prepare(
      `INSERT INTO transcript_usage (path, request_id, model, sidechain, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens)
       VALUES (@path, @requestId, @model, @sidechain, @inputTokens, @outputTokens, @cacheCreationTokens, @cacheReadTokens)
       ON CONFLICT (path, request_id) DO UPDATE SET model = excluded.model, sidechain = excluded.sidechain, input_tokens = excluded.input_tokens,
         output_tokens = excluded.output_tokens, cache_creation_tokens = excluded.cache_creation_tokens, cache_read_tokens = excluded.cache_read_tokens`,
    );
    for (const usage of result.usage.values()) upsert.run({ ...usageParams(usage), path });
  })());
  return summary;
}

function usageParams(usage: UsageRow) {
  return { ...usage, sidechain: usage.sidechain ? 1 : 0 };
}

function zeroTotals(): UsageTotals {
  return { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, costUsd: 0, apiResponses: 0 };
}

function priceFor(config: Config, model: string | null) {
  if (!model) return undefined;
  const match = Object.keys(config.prices).find((pattern) => model.includes(pattern));
  return match ? config.prices[match] : undefined;
}
