import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Claude Code session transcripts (JSONL), read incrementally: each call
 * parses only the bytes added since the last offset, and a half-written last
 * line is left for next time. Unknown record types are skipped.
 */

export interface ToolCall {
  id: string;
  name: string;
  /** The command, path or pattern the call was about, shortened. */
  summary: string;
  at: string | null;
  sidechain: boolean;
}

export interface TranscriptSummary {
  records: number;
  lastRecordAt: string | null;
  lastAssistantText: string | null;
  lastAssistantAt: string | null;
  recentToolCalls: ToolCall[];
  editedFiles: string[];
  errors: Array<{ at: string | null; text: string }>;
  /** The last few user and assistant turns, condensed, for verbose reads. */
  recentLines: Array<{ at: string | null; role: string; text: string }>;
}

export interface UsageRow {
  requestId: string;
  model: string | null;
  sidechain: boolean;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
}

export function emptySummary(): TranscriptSummary {
  return { records: 0, lastRecordAt: null, lastAssistantText: null, lastAssistantAt: null, recentToolCalls: [], editedFiles: [], errors: [], recentLines: [] };
}

const RECENT_TOOLS = 15;
const RECENT_ERRORS = 10;
const RECENT_LINES = 12;
const MAX_EDITED_FILES = 500;
const EDIT_TOOLS = new Set(['Edit', 'Write', 'MultiEdit', 'NotebookEdit']);
const CHUNK_BYTES = 4 * 1024 * 1024;

export interface ReadResult {
  /** Offset just past the last complete line consumed. */
  offset: number;
  size: number;
  usage: Map<string, UsageRow>;
  /** False when the file shrank below the saved offset (rewritten): start over from 0. */
  continued: boolean;
}

/**
 * Reads complete lines from `offset` to the end and folds them into `summary`
 * (mutated). Usage rows are keyed by request id, the last line for an id
 * winning, so an API response split over several lines counts once.
 */
export function readTranscript(path: string, offset: number, summary: TranscriptSummary): ReadResult {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const usage = new Map<string, UsageRow>();
    if (size < offset) return { offset: 0, size, usage, continued: false };
    let position = offset;
    let carry = Buffer.alloc(0);
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    while (position + carry.length < size) {
      const bytes = readSync(fd, buffer, 0, CHUNK_BYTES, position + carry.length);
      if (bytes <= 0) break;
      const data = carry.length ? Buffer.concat([carry, buffer.subarray(0, bytes)]) : buffer.subarray(0, bytes);
      let start = 0;
      for (;;) {
        const newline = data.indexOf(10, start);
        if (newline === -1) break;
        if (newline > start) foldLine(data.toString('utf8', start, newline), summary, usage);
        start = newline + 1;
      }
      position += start;
      carry = Buffer.from(data.subarray(start));
    }
    return { offset: position, size, usage, continued: true };
  } finally {
    closeSync(fd);
  }
}

interface ContentBlock {
  type?: string;
  text?: string;
  name?: string;
  id?: string;
  input?: Record<string, unknown>;
  is_error?: boolean;
  content?: unknown;
}

export function foldLine(line: string, summary: TranscriptSummary, usage: Map<string, UsageRow>): void {
  // Most bytes are in record types we skip (api-request blobs, attachments):
  // don't pay for JSON.parse unless the line can be a turn.
  if (!line.includes('"type":"assistant"') && !line.includes('"type":"user"')) {
    summary.records++;
    return;
  }
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return; // a damaged line is skipped, not fatal
  }
  summary.records++;
  const at = typeof record.timestamp === 'string' ? record.timestamp : null;
  if (at) summary.lastRecordAt = at;
  const sidechain = record.isSidechain === true;
  const message = record.message as { content?: unknown; usage?: Record<string, number>; model?: string; id?: string } | undefined;
  if (!message) return;
  const blocks: ContentBlock[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : Array.isArray(message.content) ? (message.content as ContentBlock[]) : [];

  if (record.type === 'assistant') {
    const requestId = typeof record.requestId === 'string' ? record.requestId : message.id;
    if (requestId && message.usage) {
      usage.set(requestId, {
        requestId,
        model: message.model ?? null,
        sidechain,
        inputTokens: message.usage.input_tokens ?? 0,
        outputTokens: message.usage.output_tokens ?? 0,
        cacheCreationTokens: message.usage.cache_creation_input_tokens ?? 0,
        cacheReadTokens: message.usage.cache_read_input_tokens ?? 0,
      });
    }
    for (const block of blocks) {
      if (block.type === 'text' && block.text && !sidechain) {
        summary.lastAssistantText = block.text;
        summary.lastAssistantAt = at;
        pushCapped(summary.recentLines, { at, role: 'assistant', text: shorten(block.text, 500) }, RECENT_LINES);
      } else if (block.type === 'tool_use' && block.name) {
        const input = block.input ?? {};
        pushCapped(summary.recentToolCalls, { id: block.id ?? '', name: block.name, summary: toolSummary(input), at, sidechain }, RECENT_TOOLS);
        if (!sidechain) pushCapped(summary.recentLines, { at, role: 'tool_use', text: `${block.name} ${toolSummary(input)}` }, RECENT_LINES);
        const file = input.file_path ?? input.notebook_path;
        if (EDIT_TOOLS.has(block.name) && typeof file === 'string' && !summary.editedFiles.includes(file) && summary.editedFiles.length < MAX_EDITED_FILES) {
          summary.editedFiles.push(file);
        }
      }
    }
    if (record.isApiErrorMessage === true) pushCapped(summary.errors, { at, text: shorten(blocks.map((block) => block.text ?? '').join(' '), 500) }, RECENT_ERRORS);
  } else if (record.type === 'user') {
    for (const block of blocks) {
      if (block.type === 'tool_result' && block.is_error) {
        pushCapped(summary.errors, { at, text: shorten(contentText(block.content), 500) }, RECENT_ERRORS);
      } else if (block.type === 'text' && block.text && !sidechain && !block.text.startsWith('<')) {
        pushCapped(summary.recentLines, { at, role: 'user', text: shorten(block.text, 500) }, RECENT_LINES);
      }
    }
  }
}

function toolSummary(input: Record<string, unknown>): string {
  for (const key of ['command', 'file_path', 'notebook_path', 'pattern', 'url', 'description', 'prompt']) {
    if (typeof input[key] === 'string') return shorten(input[key] as string, 200);
  }
  return '';
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((block: ContentBlock) => block.text ?? '').join(' ');
  return '';
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function pushCapped<T>(list: T[], item: T, cap: number): void {
  list.push(item);
  if (list.length > cap) list.splice(0, list.length - cap);
}
