/**
 * Synthetic Claude Code session transcripts in the JSONL shape Claude Code
 * 2.1.329 writes (see ../../shared/FACTS.md "Transcripts"; field names copied
 * from a real transcript recorded against the scripted model server):
 *
 * - `user` records: the prompt as a string, or `tool_result` blocks (with the
 *   bulky `toolUseResult` copy Claude keeps beside them);
 * - `assistant` records: `message {id, model, content: [text | tool_use],
 *   usage {...}}` plus `requestId`; one API response is written as 2-3
 *   consecutive lines sharing `message.id` and `requestId` (one per content
 *   block), exactly as Claude does;
 * - the bulky record types that most of a real file's bytes are in:
 *   `api-request`, `api-request-blob`, `api-request-shape`, `attachment`
 *   (including `prompt_snapshot`), plus the small `queue-operation`,
 *   `atis-latch`, `last-prompt`, `tools-used` and `cost-state`.
 *
 * Deterministic (seeded), so every run measures the same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Source-code-like text with the characters JSON has to escape (quotes,
// backslashes, newlines, tabs) and some non-ASCII, sliced at random offsets.
const CORPUS = (() => {
  const rand = prng(42);
  const words = [
    'const', 'function', 'return', 'await', 'import', 'export', 'if', 'else', 'for', 'of', 'new', 'throw', 'error', 'value', 'result', 'config',
    'agent', 'store', 'transcript', 'summary', 'usage', 'tokens', 'path', 'offset', 'buffer', 'session', 'status', 'idle', 'working', 'tmux',
    '"quoted"', "'single'", '`tick`', '\\n', 'C:\\\\path', '{', '}', '(', ')', '=>', '===', '// comment', 'ünïcödé', '漢字', '—', '…', '$HOME',
  ];
  const lines = [];
  let size = 0;
  while (size < 512 * 1024) {
    const indent = '  '.repeat(Math.floor(rand() * 4));
    const count = 3 + Math.floor(rand() * 12);
    const parts = [];
    for (let index = 0; index < count; index++) parts.push(words[Math.floor(rand() * words.length)]);
    const line = `${indent}${parts.join(' ')}${rand() < 0.1 ? '\t;' : ';'}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n');
})();

const BETAS = [
  'claude-code-20250219', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27', 'per-turn-control-2026-07-01',
  'mid-conversation-tool-changes-2026-07-01', 'thinking-token-count-2026-05-13', 'advanced-tool-use-2025-11-20', 'effort-2025-11-24',
];

/**
 * Writes one transcript. `targetBytes` is approximate: whole turns are written
 * until the file reaches it. Returns counts that describe the mix.
 */
export class TranscriptWriter {
  constructor({ sessionId, cwd, seed = 1, model = 'claude-sonnet-4-5' }) {
    this.rand = prng(seed);
    this.sessionId = sessionId;
    this.cwd = cwd;
    this.model = model;
    this.time = Date.parse('2026-01-15T09:00:00.000Z');
    this.parent = null;
    this.turn = 0;
    this.counter = 0;
    this.stats = { lines: 0, bytes: 0, bytesByType: {}, apiResponses: 0, assistantLines: 0 };
  }

  text(min, max) {
    const length = min + Math.floor(this.rand() * (max - min));
    const start = Math.floor(this.rand() * (CORPUS.length - length - 1));
    return CORPUS.slice(start, start + length);
  }

  uuid() {
    // Random-looking but deterministic v4-shaped ids.
    const hex = (n) => Array.from({ length: n }, () => Math.floor(this.rand() * 16).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  }

  hex(n) {
    return Array.from({ length: n }, () => Math.floor(this.rand() * 16).toString(16)).join('');
  }

  timestamp() {
    this.time += 1 + Math.floor(this.rand() * 900);
    return new Date(this.time).toISOString();
  }

  common() {
    return { userType: 'external', entrypoint: 'cli', cwd: this.cwd, sessionId: this.sessionId, version: '2.1.329', gitBranch: 'agent/bench' };
  }

  push(out, record) {
    const line = `${JSON.stringify(record)}\n`;
    out.push(line);
    const bytes = Buffer.byteLength(line);
    this.stats.lines++;
    this.stats.bytes += bytes;
    this.stats.bytesByType[record.type] = (this.stats.bytesByType[record.type] ?? 0) + bytes;
    return bytes;
  }

  chained(out, record) {
    const uuid = this.uuid();
    const sidechain = this.rand() < 0.05;
    this.push(out, { parentUuid: this.parent, isSidechain: sidechain, ...record, uuid, timestamp: this.timestamp(), ...this.common() });
    this.parent = uuid;
  }

  userPrompt(out) {
    const prompt = this.text(40, 1200);
    this.push(out, { type: 'queue-operation', operation: 'enqueue', timestamp: this.timestamp(), sessionId: this.sessionId, content: prompt });
    this.push(out, { type: 'queue-operation', operation: 'dequeue', timestamp: this.timestamp(), sessionId: this.sessionId });
    this.chained(out, { promptId: this.uuid(), type: 'user', message: { role: 'user', content: prompt }, permissionMode: 'acceptEdits', promptSource: 'user' });
    this.chained(out, {
      attachment: { type: 'session_context', context: { gitStatus: `Current branch: agent/bench\n\nStatus:\n${this.text(100, 1500)}` } },
      type: 'attachment',
      rendered: [{ content: `<system-reminder>\n${this.text(200, 1500)}\n</system-reminder>` }],
      renderedRole: 'system',
    });
    this.push(out, { type: 'last-prompt', lastPrompt: prompt.slice(0, 200), leafUuid: this.parent, sessionId: this.sessionId });
    this.push(out, { type: 'atis-latch', atis: '', sessionId: this.sessionId });
  }

  promptSnapshot(out) {
    const systemPrompt = [this.text(8_000, 20_000), this.text(8_000, 30_000)];
    this.chained(out, { attachment: { type: 'prompt_snapshot', systemPrompt, tools: Array.from({ length: 12 }, (_, index) => ({ name: `Tool${index}`, description: this.text(500, 2_000) })) }, type: 'attachment' });
    this.push(out, {
      type: 'api-request-shape',
      sessionId: this.sessionId,
      shapeHash: this.hex(64),
      timestamp: this.timestamp(),
      version: '2.1.329',
      shape: { system: [{ type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." }, { type: 'text', text: this.text(10_000, 30_000) }], tools: this.text(5_000, 15_000) },
    });
  }

  toolUse() {
    const pick = this.rand();
    const id = `toolu_${this.hex(24)}`;
    if (pick < 0.45) return { type: 'tool_use', id, name: 'Bash', input: { command: this.text(10, 160).replace(/\n/g, ' '), description: 'Run a command' } };
    if (pick < 0.75) return { type: 'tool_use', id, name: 'Read', input: { file_path: `${this.cwd}/src/file${Math.floor(this.rand() * 500)}.ts` } };
    if (pick < 0.9) return { type: 'tool_use', id, name: 'Edit', input: { file_path: `${this.cwd}/src/file${Math.floor(this.rand() * 500)}.ts`, old_string: this.text(50, 800), new_string: this.text(50, 800) } };
    return { type: 'tool_use', id, name: 'Grep', input: { pattern: this.text(4, 30).replace(/\n/g, ' '), path: this.cwd } };
  }

  /** One API round trip: request records, the response as 2-3 lines sharing requestId, then the tool results. */
  apiTurn(out, final) {
    const requestRef = this.uuid();
    this.push(out, {
      type: 'api-request',
      sessionId: this.sessionId,
      id: requestRef,
      timestamp: this.timestamp(),
      version: '2.1.329',
      querySource: 'repl_main_thread',
      shapeHash: this.hex(64),
      params: { model: this.model, betas: BETAS, max_tokens: 128000, thinking: { type: 'adaptive', display: 'omitted' }, context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] } },
    });
    const blobs = this.small ? 0 : Math.floor(this.rand() * 3);
    for (let index = 0; index < blobs; index++) {
      this.push(out, { type: 'api-request-blob', sessionId: this.sessionId, hash: this.hex(64), message: { role: index % 2 ? 'system' : 'user', content: [{ type: 'text', text: this.text(1_000, 12_000) }] } });
    }
    const messageId = `msg_${this.hex(24)}`;
    const requestId = `req_${this.hex(24)}`;
    const usage = {
      input_tokens: 1 + Math.floor(this.rand() * 50),
      cache_creation_input_tokens: Math.floor(this.rand() * 4_000),
      cache_read_input_tokens: 10_000 + Math.floor(this.rand() * 90_000),
      output_tokens: 1,
      service_tier: 'standard',
    };
    const blocks = [{ type: 'text', text: this.text(40, 800) }];
    if (!final) {
      blocks.push(this.toolUse());
      if (this.rand() < 0.3) blocks.push(this.toolUse());
    }
    this.stats.apiResponses++;
    blocks.forEach((block, index) => {
      // Later lines of the same response carry the growing output count; the last one is final.
      const lineUsage = { ...usage, output_tokens: index === blocks.length - 1 ? 20 + Math.floor(this.rand() * 2_000) : 1 + index };
      this.stats.assistantLines++;
      this.chained(out, {
        message: { id: messageId, type: 'message', role: 'assistant', model: this.model, content: [block], stop_reason: final ? 'end_turn' : 'tool_use', stop_sequence: null, usage: lineUsage },
        apiBlockIndex: index,
        requestId,
        requestRef,
        type: 'assistant',
      });
    });
    if (!final) {
      this.push(out, { type: 'tools-used', tools: blocks.filter((block) => block.type === 'tool_use').map((block) => block.name), sessionId: this.sessionId });
      for (const block of blocks) {
        if (block.type !== 'tool_use') continue;
        const content = this.small ? this.text(100, 1_200) : this.text(100, this.rand() < 0.2 ? 16_000 : 3_000);
        const isError = this.rand() < 0.03;
        this.chained(out, {
          promptId: this.uuid(),
          type: 'user',
          message: { role: 'user', content: [{ tool_use_id: block.id, type: 'tool_result', content, is_error: isError }] },
          toolUseResult: block.name === 'Bash' ? { stdout: content, stderr: '', interrupted: false, isImage: false } : { type: 'text', file: { filePath: block.input.file_path ?? '', content } },
          sourceToolAssistantUUID: this.parent,
        });
      }
    }
  }

  /** Appends whole records to `out` until at least `bytes` were added. */
  generate(out, bytes, { small = false } = {}) {
    const start = this.stats.bytes;
    this.small = small;
    while (this.stats.bytes - start < bytes) {
      if (!small && this.turn % 40 === 0) this.userPrompt(out);
      if (!small && this.turn % 25 === 0) this.promptSnapshot(out);
      const final = this.turn % 40 === 39;
      this.apiTurn(out, final);
      if (final) {
        this.push(out, { type: 'cost-state', sessionId: this.sessionId, totalCostUSD: this.rand() * 10, totalAPIDuration: 1000, modelUsage: { [this.model]: { inputTokens: 1000, outputTokens: 500, costUSD: 0.1 } }, hasUnknownModelCost: false });
      }
      this.turn++;
      this.counter++;
    }
  }
}

/** Writes a whole transcript of about `targetBytes` to `path`; returns the writer (for appending later) and its stats. */
export function writeTranscript(path, options, targetBytes) {
  const writer = new TranscriptWriter(options);
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    while (written < targetBytes) {
      const out = [];
      const before = writer.stats.bytes;
      writer.generate(out, Math.min(1024 * 1024, targetBytes - written));
      writeSync(fd, out.join(''));
      written += writer.stats.bytes - before;
    }
  } finally {
    closeSync(fd);
  }
  return writer;
}

/** Appends about `bytes` of new whole records to an existing transcript. */
export function appendTranscript(path, writer, bytes) {
  const out = [];
  const before = writer.stats.bytes;
  writer.generate(out, bytes, { small: true });
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, out.join(''));
  } finally {
    closeSync(fd);
  }
  return writer.stats.bytes - before;
}
