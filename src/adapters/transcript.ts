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
/** Read in chunks of this size through one reused buffer; only a line longer than this grows the carry. */
export const CHUNK_BYTES = 256 * 1024;

// The byte-level prefilter. Inside a JSON string a quote is escaped (\"), so
// these byte sequences occur unescaped only as real keys: a line without one
// of the record needles cannot be an assistant or user record and is counted
// without being decoded. A line with one is parsed, and the parsed type decides
// (a nested object may carry the same key).
const ASSISTANT = Buffer.from('"type":"assistant"');
const USER = Buffer.from('"type":"user"');
const TOOL_USE_ID = Buffer.from('"tool_use_id":"');
const IS_ERROR = Buffer.from('"is_error":true');
const TIMESTAMP = Buffer.from('"timestamp":"');

export interface ReadResult {
  /** Offset just past the last complete line consumed. */
  offset: number;
  size: number;
  usage: Map<string, UsageRow>;
  /** False when the file shrank below the saved offset (rewritten): start over from 0. */
  continued: boolean;
  /** Lines decoded and parsed (the rest were only scanned as bytes). */
  parsedLines: number;
}

/**
 * Reads complete lines from `offset` to the end and folds them into `summary`
 * (mutated). Usage rows are keyed by request id, the last line for an id
 * winning, so an API response split over several lines counts once.
 *
 * Only the lines that matter are decoded: assistant records, user prompts and
 * failed tool results. A user record that only carries successful tool
 * results (most of a transcript's bytes, with Claude's `toolUseResult` copy)
 * gives only its timestamp, read from the bytes.
 */
export function readTranscript(path: string, offset: number, summary: TranscriptSummary, chunkBytes = CHUNK_BYTES): ReadResult {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const usage = new Map<string, UsageRow>();
    const result: ReadResult = { offset, size, usage, continued: true, parsedLines: 0 };
    if (size < offset) return { ...result, offset: 0, continued: false };
    // One buffer, reused: the partial last line moves to its front and the next read fills the rest.
    // Only a line longer than the buffer makes it grow (to the line's size).
    let buffer = Buffer.allocUnsafe(chunkBytes);
    let carried = 0;
    /** File offset of buffer[0]: the start of the line being carried. */
    let lineStart = offset;
    let readAt = offset;
    while (readAt < size) {
      if (carried === buffer.length) {
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, carried);
        buffer = grown;
      }
      const bytes = readSync(fd, buffer, carried, Math.min(buffer.length - carried, size - readAt), readAt);
      if (bytes <= 0) break;
      readAt += bytes;
      const end = carried + bytes;
      let start = 0;
      for (;;) {
        const newline = buffer.indexOf(10, start);
        if (newline === -1 || newline >= end) break;
        if (newline > start) scanLine(buffer.subarray(start, newline), summary, usage, result);
        start = newline + 1;
      }
      lineStart += start;
      carried = end - start;
      if (carried > 0 && start > 0) buffer.copy(buffer, 0, start, end);
    }
    result.offset = lineStart;
    return result;
  } finally {
    closeSync(fd);
  }
}

/** One complete line (no newline), as bytes: the prefilter, then a parse only when it can matter. */
export function scanLine(line: Buffer, summary: TranscriptSummary, usage: Map<string, UsageRow>, result?: { parsedLines: number }): void {
  const assistant = line.indexOf(ASSISTANT) !== -1;
  if (!assistant) {
    if (line.indexOf(USER) === -1) {
      summary.records++;
      return;
    }
    if (line.indexOf(TOOL_USE_ID) !== -1 && line.indexOf(IS_ERROR) === -1) {
      // Tool results that did not fail: nothing to fold but the time.
      summary.records++;
      const at = timestampOf(line);
      if (at) summary.lastRecordAt = at;
      return;
    }
  }
  if (result) result.parsedLines++;
  foldLine(line.toString('utf8'), summary, usage);
}

/** The record's own timestamp: Claude writes it after the message, so the last one in the line. */
function timestampOf(line: Buffer): string | null {
  const at = line.lastIndexOf(TIMESTAMP);
  if (at === -1) return null;
  const from = at + TIMESTAMP.length;
  const end = line.indexOf(34, from);
  if (end === -1 || end - from > 40) return null;
  const text = line.toString('latin1', from, end);
  return /^\d{4}-\d\d-\d\dT[\d:.]+Z?$/.test(text) ? text : null;
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
