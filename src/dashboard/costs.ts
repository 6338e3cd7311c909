import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Context } from '../core/index.js';
import { priceFor } from '../state/index.js';

/** One API response's spend, at the time Claude wrote it. */
interface Spend {
  at: number;
  costUsd: number;
  tokens: number;
}

export interface AgentSpend {
  name: string;
  removed: boolean;
  costUsd: number;
  tokens: number;
  responses: number;
  unpriced: boolean;
  /** Cumulative cost after each response, oldest first. */
  series: Array<[number, number]>;
}

export interface FleetSpend {
  agents: AgentSpend[];
  /** The whole fleet's cumulative cost over time. */
  fleet: Array<[number, number]>;
  totalUsd: number;
}

interface FileCursor {
  offset: number;
  carry: string;
  /** Request id → its index in spends: Claude writes one record per content block, the last with the final usage. */
  seen: Map<string, number>;
  spends: Spend[];
  unpriced: boolean;
}

/**
 * Spend over time per agent and for the fleet, from every transcript's
 * assistant records (their timestamps and usage, de-duplicated by request
 * id as the stored totals are). Each file is read once and then only from
 * where the last look stopped.
 */
export class SpendHistory {
  private readonly cursors = new Map<string, FileCursor>();

  constructor(private readonly context: Context) {}

  /** Reads are synchronous, so the first look at a big fleet yields after each file: MCP requests and other pages keep being served. */
  async load(): Promise<FleetSpend> {
    const agents: AgentSpend[] = [];
    for (const record of this.context.store.listAgents({ includeRemoved: true })) {
      const main = this.context.store.claudeSession(record.id).transcriptPath;
      if (!main) continue;
      const spends: Spend[] = [];
      let unpriced = false;
      for (const path of transcriptFiles(main)) {
        const before = this.cursors.get(path)?.offset;
        const cursor = this.read(path);
        if (cursor.offset !== before) await new Promise((resolve) => setImmediate(resolve));
        spends.push(...cursor.spends);
        unpriced ||= cursor.unpriced;
      }
      if (spends.length === 0) continue;
      spends.sort((a, b) => a.at - b.at);
      let total = 0;
      let tokens = 0;
      const series: Array<[number, number]> = spends.map((spend) => {
        total += spend.costUsd;
        tokens += spend.tokens;
        return [spend.at, total];
      });
      agents.push({ name: record.name, removed: record.removedAt !== null, costUsd: total, tokens, responses: spends.length, unpriced, series });
    }
    const all = agents.flatMap((agent) => agent.series.map(([at], index) => [at, agent.series[index]![1] - (agent.series[index - 1]?.[1] ?? 0)] as [number, number]));
    all.sort((a, b) => a[0] - b[0]);
    let running = 0;
    const fleet = all.map(([at, cost]): [number, number] => [at, (running += cost)]);
    agents.sort((a, b) => b.costUsd - a.costUsd);
    return { agents, fleet, totalUsd: running };
  }

  private read(path: string): FileCursor {
    let cursor = this.cursors.get(path);
    if (!cursor) {
      cursor = { offset: 0, carry: '', seen: new Map(), spends: [], unpriced: false };
      this.cursors.set(path, cursor);
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return cursor;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < cursor.offset) Object.assign(cursor, { offset: 0, carry: '', seen: new Map(), spends: [], unpriced: false });
      while (cursor.offset < size) {
        const buffer = Buffer.alloc(Math.min(1 << 20, size - cursor.offset));
        const read = readSync(fd, buffer, 0, buffer.length, cursor.offset);
        if (read <= 0) break;
        cursor.offset += read;
        const lines = (cursor.carry + buffer.toString('utf8', 0, read)).split('\n');
        cursor.carry = lines.pop() ?? '';
        for (const line of lines) this.fold(cursor, line);
      }
    } finally {
      closeSync(fd);
    }
    return cursor;
  }

  private fold(cursor: FileCursor, line: string): void {
    if (!line.includes('"type":"assistant"') || !line.includes('"usage"')) return;
    let record: { requestId?: string; timestamp?: string; message?: { id?: string; model?: string; usage?: Record<string, number> } };
    try {
      record = JSON.parse(line);
    } catch {
      return;
    }
    const usage = record.message?.usage;
    const id = record.requestId ?? record.message?.id;
    const at = Date.parse(record.timestamp ?? '');
    if (!usage || !id || Number.isNaN(at)) return;
    const input = usage.input_tokens ?? 0;
    const output = usage.output_tokens ?? 0;
    const cacheWrite = usage.cache_creation_input_tokens ?? 0;
    const cacheRead = usage.cache_read_input_tokens ?? 0;
    const price = priceFor(this.context.config, record.message?.model ?? null);
    if (!price) cursor.unpriced = true;
    const costUsd = price ? (input * price.input + output * price.output + cacheWrite * price.cacheWrite + cacheRead * price.cacheRead) / 1e6 : 0;
    const spend = { at, costUsd, tokens: input + output + cacheWrite + cacheRead };
    const earlier = cursor.seen.get(id);
    if (earlier === undefined) {
      cursor.seen.set(id, cursor.spends.length);
      cursor.spends.push(spend);
    } else cursor.spends[earlier] = { ...spend, at: cursor.spends[earlier]!.at };
  }
}

/** The main transcript and its subagents' transcripts (in <session-id>/subagents/ beside it). */
function transcriptFiles(main: string): string[] {
  const subagents = join(dirname(main), basename(main, '.jsonl'), 'subagents');
  const files = [main];
  if (existsSync(subagents)) for (const name of readdirSync(subagents).sort()) if (name.endsWith('.jsonl')) files.push(join(subagents, name));
  return files;
}
