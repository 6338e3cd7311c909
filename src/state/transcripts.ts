import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
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
  const stamps = [stamp(mainPath)];
  if (existsSync(subagentDir)) {
    for (const name of readdirSync(subagentDir).sort()) {
      if (!name.endsWith('.jsonl')) continue;
      const path = join(subagentDir, name);
      files.push({ path, kind: 'subagent' });
      stamps.push(`${name}:${stamp(path)}`);
    }
  }
  // No file changed since this process last folded them: the same state, without a query.
  const key = `${mainPath}\u0000${stamps.join('\u0000')}`;
  let byAgent = unchanged.get(store);
  if (!byAgent) unchanged.set(store, (byAgent = new Map()));
  const known = byAgent.get(agentId);
  if (known && known.key === key && known.config === config) return known.state;
  byAgent.delete(agentId);
  const { state, stored } = foldTranscripts(store, config, agentId, mainPath, files);
  // A write the store could not take now (busy elsewhere): the next read folds again and stores it.
  if (stored) byAgent.set(agentId, { key, config, state });
  return state;
}

/** A fleet's read folds in one transaction when there is at most this much new transcript to read. */
const BATCH_MAX_NEW_BYTES = 8 * 1024 * 1024;

/**
 * refreshTranscripts for several agents (`[agentId, main transcript]`). When
 * something but not much is new (an incremental read of a running fleet), all of their store
 * writes go in one transaction instead of one per changed transcript (each
 * commit is a WAL append); a first read of large files, or a store another
 * process is writing, folds agent by agent as refreshTranscripts does, so the
 * write lock is never held over a long read.
 */
export function refreshFleetTranscripts(store: Store, config: Config, agents: Array<[string, string]>): Map<string, TranscriptState> {
  const states = new Map<string, TranscriptState>();
  const foldAll = () => {
    for (const [agentId, path] of agents) states.set(agentId, refreshTranscripts(store, config, agentId, path));
  };
  // Nothing new (the usual read): no transaction, so no write lock taken for nothing.
  const pending = agents.length < 2 ? 0 : newBytes(store, agents);
  if (pending === 0 || pending > BATCH_MAX_NEW_BYTES) {
    foldAll();
    return states;
  }
  try {
    // IMMEDIATE: the write lock is taken up front, or not at all (whenWritable does not wait for it).
    if (store.whenWritable(() => store.db.transaction(() => (foldAll(), true)).immediate()) === undefined) {
      // Busy, read-only or full, before or during the batch: nothing of it was stored, so nothing of it may be
      // remembered as stored; fold agent by agent, each write taken if the store can take it.
      summaries.delete(store);
      unchanged.delete(store);
      states.clear();
      foldAll();
    }
  } catch (error) {
    // A rolled-back batch must not leave this process believing what it folded was stored.
    summaries.delete(store);
    unchanged.delete(store);
    throw error;
  }
  return states;
}

/** What the main transcripts hold beyond their stored offsets (subagent files are few and small). */
function newBytes(store: Store, agents: Array<[string, string]>): number {
  const offsets = new Map(
    (store.db.prepare(`SELECT path, offset FROM transcripts WHERE kind = 'main'`).all() as Array<{ path: string; offset: number }>).map((row) => [row.path, row.offset] as const),
  );
  let total = 0;
  for (const [, path] of agents) {
    const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    total += Math.max(0, size - (offsets.get(path) ?? 0));
  }
  return total;
}

/**
 * The state each agent's transcripts last folded to in this process, with the
 * size and modification time of every file it came from: while none differs,
 * nothing was appended or rewritten, so neither the files nor the store are read.
 */
const unchanged = new WeakMap<Store, Map<string, { key: string; config: Config; state: TranscriptState }>>();

function stamp(path: string): string {
  const stats = statSync(path, { throwIfNoEntry: false, bigint: true });
  return stats ? `${stats.size}:${stats.mtimeNs}:${stats.ino}` : 'none';
}

/** The agent's state, and whether the store held all of it (only then may the state be kept as unchanged). */
function foldTranscripts(store: Store, config: Config, agentId: string, mainPath: string, files: Array<{ path: string; kind: 'main' | 'subagent' }>): { state: TranscriptState; stored: boolean } {
  let mainSummary = emptySummary();
  let stored = true;
  for (const file of files) {
    const one = refreshOne(store, agentId, file.path, file.kind);
    stored &&= one.stored;
    if (file.kind === 'main') mainSummary = one.summary;
  }
  const usage = { main: zeroTotals(), sidechain: zeroTotals(), subagents: zeroTotals() };
  const unpriced = new Set<string>();
  // Running totals, kept per transcript, bucket and model by refreshOne: a few rows, however long the agent ran.
  const rows = store.db
    .prepare(
      `SELECT bucket, model, responses, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens FROM transcript_totals WHERE agent_id = ?`,
    )
    .all(agentId) as Array<{ bucket: Bucket; model: string; responses: number; input_tokens: number; output_tokens: number; cache_creation_tokens: number; cache_read_tokens: number }>;
  for (const row of rows) {
    if (row.responses === 0) continue;
    const bucket = usage[row.bucket];
    const model = row.model === '' ? null : row.model;
    bucket.apiResponses += row.responses;
    bucket.inputTokens += row.input_tokens;
    bucket.outputTokens += row.output_tokens;
    bucket.cacheCreationTokens += row.cache_creation_tokens;
    bucket.cacheReadTokens += row.cache_read_tokens;
    const price = priceFor(config, model);
    if (!price) {
      unpriced.add(model ?? '(no model)');
      bucket.costUsd = null;
    } else if (bucket.costUsd !== null) {
      bucket.costUsd +=
        (row.input_tokens * price.input + row.output_tokens * price.output + row.cache_creation_tokens * price.cacheWrite + row.cache_read_tokens * price.cacheRead) / 1e6;
    }
  }
  for (const bucket of Object.values(usage)) if (bucket.costUsd !== null) bucket.costUsd = Math.round(bucket.costUsd * 1e6) / 1e6;
  return { state: { path: mainPath, summary: mainSummary, usage, unpricedModels: [...unpriced] }, stored };
}

type Bucket = 'main' | 'sidechain' | 'subagents';

/**
 * The summary a process last read or wrote for each transcript, with the
 * offset it stands for: while the stored offset is the same, the read skips
 * parsing the stored JSON. Another process moving the offset is seen at once.
 */
const summaries = new WeakMap<Store, Map<string, { offset: number; summary: TranscriptSummary }>>();

/** The transcript's summary, and whether the store holds everything it says (false: a write was skipped, the store busy). */
function refreshOne(store: Store, agentId: string, path: string, kind: 'main' | 'subagent'): { summary: TranscriptSummary; stored: boolean } {
  let cache = summaries.get(store);
  if (!cache) summaries.set(store, (cache = new Map()));
  const row = store.db.prepare(`SELECT offset FROM transcripts WHERE path = ?`).get(path) as Pick<TranscriptRow, 'offset'> | undefined;
  const cached = cache.get(path);
  let summary: TranscriptSummary;
  if (row && cached && cached.offset === row.offset) summary = cached.summary;
  else if (row) {
    const json = (store.db.prepare(`SELECT summary_json FROM transcripts WHERE path = ?`).get(path) as Pick<TranscriptRow, 'summary_json'>).summary_json;
    summary = { ...emptySummary(), ...(JSON.parse(json) as Partial<TranscriptSummary>) };
  } else summary = emptySummary();
  const storedOffset = row?.offset ?? 0;
  // Nothing appended (and not shrunk): no read at all.
  const size = statSize(path);
  if (size === null) return { summary, stored: true };
  if (row && size === storedOffset) {
    cache.set(path, { offset: storedOffset, summary });
    return { summary, stored: true };
  }
  // The cached object is folded into: drop it first, so a failure midway leaves no half-advanced summary behind.
  cache.delete(path);
  let result = readTranscript(path, storedOffset, summary);
  let rewritten = false;
  if (!result.continued) {
    // The file was rewritten: forget what it said and read it again from the start.
    rewritten = true;
    summary = emptySummary();
    result = readTranscript(path, 0, summary);
  }
  if (row && !rewritten && result.offset === row.offset) {
    cache.set(path, { offset: storedOffset, summary });
    return { summary, stored: true };
  }
  const bucketOf = (sidechain: boolean): Bucket => (kind === 'subagent' ? 'subagents' : sidechain ? 'sidechain' : 'main');
  // A cache on a read path: when the store cannot take the write now, the next read does it.
  const written = store.whenWritable(() => store.db.transaction(() => {
    // A first read (or a rewritten file) starts the path's usage and totals from nothing.
    const fresh = rewritten || !row;
    if (fresh) {
      store.db.prepare(`DELETE FROM transcript_usage WHERE path = ?`).run(path);
      store.db.prepare(`DELETE FROM transcript_totals WHERE path = ?`).run(path);
    }
    store.db
      .prepare(
        `INSERT INTO transcripts (path, agent_id, kind, offset, size_seen, summary_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET offset = excluded.offset, size_seen = excluded.size_seen, summary_json = excluded.summary_json, updated_at = excluded.updated_at`,
      )
      .run(path, agentId, kind, result.offset, result.size, JSON.stringify(summary), Date.now());
    const previous = store.db.prepare(
      `SELECT model, sidechain, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens FROM transcript_usage WHERE path = ? AND request_id = ?`,
    );
    const upsert = store.db.prepare(
      `INSERT INTO transcript_usage (path, request_id, model, sidechain, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens)
       VALUES (@path, @requestId, @model, @sidechain, @inputTokens, @outputTokens, @cacheCreationTokens, @cacheReadTokens)
       ON CONFLICT (path, request_id) DO UPDATE SET model = excluded.model, sidechain = excluded.sidechain, input_tokens = excluded.input_tokens,
         output_tokens = excluded.output_tokens, cache_creation_tokens = excluded.cache_creation_tokens, cache_read_tokens = excluded.cache_read_tokens`,
    );
    const addTotals = store.db.prepare(
      `INSERT INTO transcript_totals (path, agent_id, bucket, model, responses, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens)
       VALUES (@path, @agentId, @bucket, @model, @responses, @inputTokens, @outputTokens, @cacheCreationTokens, @cacheReadTokens)
       ON CONFLICT (path, bucket, model) DO UPDATE SET responses = responses + excluded.responses, input_tokens = input_tokens + excluded.input_tokens,
         output_tokens = output_tokens + excluded.output_tokens, cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
         cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens`,
    );
    // Fold this read's responses into per-bucket deltas; a response seen in an earlier read (its
    // lines split across reads) gives back what it added then, so it counts once, from its last line.
    const deltas = new Map<string, { bucket: Bucket; model: string; responses: number; inputTokens: number; outputTokens: number; cacheCreationTokens: number; cacheReadTokens: number }>();
    const add = (bucket: Bucket, model: string, sign: number, tokens: { inputTokens: number; outputTokens: number; cacheCreationTokens: number; cacheReadTokens: number }) => {
      const key = `${bucket}\u0000${model}`;
      let delta = deltas.get(key);
      if (!delta) deltas.set(key, (delta = { bucket, model, responses: 0, inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0 }));
      delta.responses += sign;
      delta.inputTokens += sign * tokens.inputTokens;
      delta.outputTokens += sign * tokens.outputTokens;
      delta.cacheCreationTokens += sign * tokens.cacheCreationTokens;
      delta.cacheReadTokens += sign * tokens.cacheReadTokens;
    };
    for (const usage of result.usage.values()) {
      const old = fresh
        ? undefined
        : (previous.get(path, usage.requestId) as { model: string | null; sidechain: number; input_tokens: number; output_tokens: number; cache_creation_tokens: number; cache_read_tokens: number } | undefined);
      if (old) {
        add(bucketOf(old.sidechain === 1), old.model ?? '', -1, {
          inputTokens: old.input_tokens,
          outputTokens: old.output_tokens,
          cacheCreationTokens: old.cache_creation_tokens,
          cacheReadTokens: old.cache_read_tokens,
        });
      }
      add(bucketOf(usage.sidechain), usage.model ?? '', 1, usage);
      upsert.run({ ...usageParams(usage), path });
    }
    for (const delta of deltas.values()) addTotals.run({ ...delta, path, agentId });
    return true;
  })());
  if (written) cache.set(path, { offset: result.offset, summary });
  return { summary, stored: written === true };
}

function statSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

function usageParams(usage: UsageRow) {
  return { ...usage, sidechain: usage.sidechain ? 1 : 0 };
}

function zeroTotals(): UsageTotals {
  return { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, costUsd: 0, apiResponses: 0 };
}

/** The configured price of a model (the first pattern its name contains), or undefined. */
export function priceFor(config: Config, model: string | null) {
  if (!model) return undefined;
  const match = Object.keys(config.prices).find((pattern) => model.includes(pattern));
  return match ? config.prices[match] : undefined;
}

/** What a fleet view shows of an agent's transcript: spend so far (all buckets) and its last message. */
export interface TranscriptDigest {
  /** Null when some response's model has no price. */
  costUsd: number | null;
  tokens: { input: number; output: number; cache: number };
  lastMessage: string | null;
}

/**
 * The digest of an agent's main transcript, read incrementally; undefined
 * when it has none yet or it cannot be read now (a transcript being
 * rewritten is read again on the next look).
 */
export function transcriptDigest(store: Store, config: Config, agentId: string): TranscriptDigest | undefined {
  const { transcriptPath } = store.claudeSession(agentId);
  if (!transcriptPath) return undefined;
  try {
    const state = refreshTranscripts(store, config, agentId, transcriptPath);
    const buckets = Object.values(state.usage);
    return {
      costUsd: buckets.some((bucket) => bucket.costUsd === null) ? null : buckets.reduce((sum, bucket) => sum + (bucket.costUsd ?? 0), 0),
      tokens: {
        input: buckets.reduce((sum, bucket) => sum + bucket.inputTokens, 0),
        output: buckets.reduce((sum, bucket) => sum + bucket.outputTokens, 0),
        cache: buckets.reduce((sum, bucket) => sum + bucket.cacheCreationTokens + bucket.cacheReadTokens, 0),
      },
      lastMessage: state.summary.lastAssistantText,
    };
  } catch {
    return undefined;
  }
}

/** How far back from a transcript's end a tool result is looked for (a result sits near the end while the turn goes on). */
const RESULT_TAIL_BYTES = 1024 * 1024;

/** Per process: what the looks at a call found, and how far into the transcript they read. */
const results = new Map<string, { size: number; found: boolean }>();

/**
 * True when the transcript holds the result of tool call `toolUseId` (a
 * subagent's call: its own transcript under <session>/subagents/). Claude
 * writes the result the moment the call ends; ringmaster's children have no
 * PostToolUse hook for most tools (spawn.ts), so this is how a status read
 * knows the call is over. Only the tail is read, then only what was appended.
 */
export function toolFinished(mainPath: string, toolUseId: string, agentId?: string): boolean {
  const path = agentId ? subagentTranscript(mainPath, agentId) : mainPath;
  if (!path) return false;
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  if (size === undefined) return false;
  const key = `${path}\u0000${toolUseId}`;
  const known = results.get(key);
  if (known && (known.found || known.size === size)) return known.found;
  // The tool_result block names its call; the tool_use block that started it says "id", not "tool_use_id".
  const needle = `"tool_use_id":"${toolUseId}"`;
  // A later look reads only what was appended since the last one (from a needle's length before it, for a match
  // that straddles the two); the first, the tail. A shrunk (rewritten) file is read from its tail again.
  const resume = known && known.size < size ? known.size - needle.length : 0;
  const from = Math.max(0, resume, size - RESULT_TAIL_BYTES);
  const buffer = Buffer.allocUnsafe(size - from);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const read = readSync(fd, buffer, 0, buffer.length, from);
    const found = buffer.subarray(0, read).includes(needle);
    if (results.size > 1000) results.clear();
    results.set(key, { size, found });
    return found;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `<session>/subagents/agent-<id>.jsonl`, or one folder further down (Claude 2.1 may group a subagent's transcript). */
function subagentTranscript(mainPath: string, agentId: string): string | undefined {
  const dir = join(dirname(mainPath), basename(mainPath, '.jsonl'), 'subagents');
  const name = `agent-${agentId}.jsonl`;
  if (existsSync(join(dir, name))) return join(dir, name);
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory() && existsSync(join(dir, entry.name, name))) return join(dir, entry.name, name);
  } catch {
    // no subagent has run
  }
  return undefined;
}
