import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** One rendered entry of a conversation: what the agent's page shows. */
export interface TranscriptEntry {
  at: string | null;
  kind: 'prompt' | 'text' | 'tool' | 'result' | 'error';
  /** For tools: the tool's name. */
  title: string;
  text: string;
  sidechain: boolean;
}

const TAIL_BYTES = 512 * 1024;
const MAX_TEXT = 4000;

interface Block {
  type?: string;
  text?: string;
  name?: string;
  input?: Record<string, unknown>;
  content?: unknown;
  is_error?: boolean;
}

/**
 * The last `limit` messages and tool calls of a Claude transcript, read from
 * its tail only (the newest 512 KB), so a long session opens as fast as a new one.
 */
export function recentTranscript(path: string, limit = 60): TranscriptEntry[] {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(0, size - TAIL_BYTES);
      const buffer = Buffer.alloc(size - start);
      readSync(fd, buffer, 0, buffer.length, start);
      text = buffer.toString('utf8');
      // A tail starts mid-line: drop that partial first line.
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
  const entries: TranscriptEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"type":"assistant"') && !line.includes('"type":"user"')) continue;
    let record: { type?: string; timestamp?: string; isSidechain?: boolean; isMeta?: boolean; message?: { content?: unknown } };
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (record.isMeta || !record.message) continue;
    const at = record.timestamp ?? null;
    const sidechain = record.isSidechain === true;
    const content = record.message.content;
    const blocks: Block[] = typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? (content as Block[]) : [];
    for (const block of blocks) {
      if (block.type === 'text' && block.text?.trim()) {
        entries.push({ at, kind: record.type === 'assistant' ? 'text' : 'prompt', title: record.type === 'assistant' ? 'assistant' : 'prompt', text: clip(block.text), sidechain });
      } else if (block.type === 'tool_use') {
        entries.push({ at, kind: 'tool', title: block.name ?? 'tool', text: clip(describeInput(block.input ?? {})), sidechain });
      } else if (block.type === 'tool_result') {
        entries.push({ at, kind: block.is_error ? 'error' : 'result', title: block.is_error ? 'error' : 'result', text: clip(resultText(block.content)), sidechain });
      }
    }
  }
  return entries.slice(-limit);
}

function describeInput(input: Record<string, unknown>): string {
  for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'prompt', 'description']) {
    if (typeof input[key] === 'string') return input[key] as string;
  }
  return JSON.stringify(input);
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : `[${part.type ?? 'part'}]`)).join('\n');
  return '';
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n… (${text.length - MAX_TEXT} more characters)` : text;
}
