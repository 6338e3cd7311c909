/**
 * A scripted, Anthropic-compatible Messages API server for tests.
 *
 * Claude Code (the real CLI) is pointed at it with
 *   ANTHROPIC_BASE_URL=<server.url> ANTHROPIC_API_KEY=x
 *   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
 * and then every model turn is answered by a test-supplied Script, so a test
 * decides exactly which text or tool calls the "model" produces.
 *
 * Only node:http is used so the helper has no dependencies and starts fast.
 *
 * Telling the main conversation apart from side requests
 * ------------------------------------------------------
 * The script sees every POST /v1/messages, so it must not, e.g., answer a side
 * request with a tool call meant for the agent loop. Observed with Claude Code
 * 2.1.329 against this server:
 *   - Main-loop requests: `tools` is a non-empty array (interactive: Agent,
 *     AskUserQuestion, Bash, Edit, Read, Write, ... ; MCP tools appear as
 *     `mcp__<server>__<tool>`), `max_tokens` 128000, `stream: true`, query
 *     `beta=true`, model "claude-opus-5-5" by default. `system` is a list of
 *     text blocks: a "x-anthropic-billing-header: ..." line, then
 *     "You are Claude Code, Anthropic's official CLI for Claude." (interactive)
 *     or "You are a Claude agent, built on Anthropic's Claude Agent SDK." (-p),
 *     then the instructions; `--append-system-prompt` text ends the last block.
 *     `messages[0]` is a user turn whose text blocks are two
 *     `<system-reminder>` blocks (git status, attribution) followed by the task
 *     text verbatim; `messages[1]` has role "system" (environment info). The
 *     header `x-claude-code-session-id` carries the session id.
 *   - With CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 no side requests were
 *     seen at all (no count_tokens, no title request) in interactive or -p.
 *   - Without it, Claude Code also sends `HEAD /api/hello` (gets our 404, which
 *     is harmless) and a session-title request: same model, `tools: []`,
 *     system "You are naming a coding session ...", one user message
 *     "<session>\n<task>\n</session>..." and `output_config.format` =
 *     json_schema {title: string}. It CONTAINS the task text, so match the
 *     task with `isMainConversation(body) && userTexts(body).includes(task)`,
 *     not with a substring search over the raw body.
 * `isMainConversation(body)` (non-empty `tools`) encodes that rule; wrap a
 * script in `mainOnly(...)` or use `sequence([...])` to keep side requests
 * away from it. The default script answers structured-output side requests
 * with JSON that fits their schema, and everything else with "ok".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

/** Loose view of a Messages API request body; unknown fields are kept. */
export interface MessagesRequestBody {
  model?: string;
  max_tokens?: number;
  stream?: boolean;
  system?: string | ContentBlock[];
  messages?: Message[];
  tools?: Array<{ name: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface Message {
  /** 'user' | 'assistant', and Claude Code also sends 'system' messages. */
  role: string;
  content: string | ContentBlock[];
}

export interface ContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: string | ContentBlock[];
  is_error?: boolean;
  [key: string]: unknown;
}

export interface RecordedRequest {
  /** 0-based position among all requests this server received. */
  seq: number;
  method: string;
  /** Path without the query string, e.g. "/v1/messages". */
  path: string;
  /** Raw query string without "?", e.g. "beta=true" ("" when absent). */
  query: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body; undefined when the body was empty or not JSON. */
  body: MessagesRequestBody | undefined;
  rawBody: string;
  /** Date.now() when the request body had been fully read. */
  time: number;
}

export interface ToolUseSpec {
  name: string;
  input: unknown;
  /** Defaults to a fresh "toolu_..." id. */
  id?: string;
}

export interface ReplyOptions {
  /** Sleep this long before sending anything (simulates a slow model). */
  delayMs?: number;
  /** Overrides the model name echoed back (defaults to the requested one). */
  model?: string;
  /** Token counts reported for this response, in place of the estimate (scripted spend for budget tests). */
  usage?: { inputTokens?: number; outputTokens?: number };
}

/**
 * What the "model" answers. `text` and `toolUse` may be combined: the text
 * block comes first, like a real model explaining what it is about to do.
 * Any tool call makes stop_reason "tool_use"; otherwise it is "end_turn".
 * `error` answers with an HTTP error in Anthropic's shape instead (e.g. 529
 * overloaded_error) so tests can exercise retry/failure paths.
 * `hang` never answers; the connection stays open until the client gives up
 * or the server closes - useful to hold a child in its "busy" state.
 */
export type Reply = ReplyOptions &
  (
    | { text: string; toolUse?: ToolUseSpec | ToolUseSpec[] }
    | { text?: string; toolUse: ToolUseSpec | ToolUseSpec[] }
    | { error: { status: number; type: string; message: string } }
    | { hang: true }
  );

export interface ScriptInput {
  body: MessagesRequestBody;
  /** 0-based index among /v1/messages requests (side requests included). */
  index: number;
  request: RecordedRequest;
}

export type Script = (req: ScriptInput) => Reply | Promise<Reply>;

export interface ModelServer {
  /** http://127.0.0.1:<port>, suitable for ANTHROPIC_BASE_URL. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order (including 404s). */
  readonly requests: RecordedRequest[];
  /** Only the POST /v1/messages requests, in arrival order. */
  messageRequests(): RecordedRequest[];
  setScript(script: Script): void;
  /**
   * Resolves with the first recorded request (past or future) matching
   * `predicate`; rejects after `timeoutMs` with a summary of what did arrive.
   */
  waitFor(predicate: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/**
 * Answers "ok", except that a request asking for structured output
 * (`output_config.format.type === "json_schema"`, e.g. the session-title side
 * request) gets a minimal JSON document satisfying the schema, so Claude Code
 * does not log parse failures or retry.
 */
export const defaultScript: Script = ({ body }) => {
  const schema = structuredOutputSchema(body);
  return { text: schema === undefined ? 'ok' : JSON.stringify(sampleForSchema(schema)) };
};

function structuredOutputSchema(body: MessagesRequestBody): unknown {
  const config = body.output_config;
  if (typeof config !== 'object' || config === null) return undefined;
  const format = (config as { format?: unknown }).format;
  if (typeof format !== 'object' || format === null) return undefined;
  const f = format as { type?: unknown; schema?: unknown };
  return f.type === 'json_schema' ? (f.schema ?? {}) : undefined;
}

/** Smallest plausible value for a JSON schema; strings become "ok". */
export function sampleForSchema(schema: unknown, depth = 0): unknown {
  if (depth > 8 || typeof schema !== 'object' || schema === null) return null;
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('const' in s) return s.const;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return 'ok';
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'null':
      return null;
    default: {
      const props = typeof s.properties === 'object' && s.properties !== null ? (s.properties as Record<string, unknown>) : {};
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) out[k] = sampleForSchema(v, depth + 1);
      return out;
    }
  }
}

/**
 * Env vars that make Claude Code talk to `server` and nothing else.
 * The interactive TUI asks "Detected a custom API key in your environment"
 * (with "No (recommended)" preselected) unless the key's last 20 characters
 * are listed in `customApiKeyResponses.approved` of ~/.claude.json, so with
 * this env write `{"customApiKeyResponses":{"approved":["x"],"rejected":[]}}`.
 * (ANTHROPIC_AUTH_TOKEN instead of ANTHROPIC_API_KEY avoids that dialog.)
 */
export function claudeEnv(server: Pick<ModelServer, 'url'>): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'x',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  };
}

// ---------------------------------------------------------------------------
// Request inspection helpers
// ---------------------------------------------------------------------------

function blocksOf(content: unknown): ContentBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (Array.isArray(content)) {
    return content.filter((b): b is ContentBlock => typeof b === 'object' && b !== null && typeof (b as ContentBlock).type === 'string');
  }
  return [];
}

function messagesOf(body: MessagesRequestBody | undefined): Message[] {
  const msgs = body?.messages;
  return Array.isArray(msgs) ? msgs.filter((m): m is Message => typeof m === 'object' && m !== null) : [];
}

/** Flattens text from a string or a list of blocks (text blocks only). */
export function textOf(content: unknown): string {
  return blocksOf(content)
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n');
}

/**
 * Every user-authored text in the conversation, oldest first: string contents
 * and `text` blocks of user messages. Claude Code also injects
 * `<system-reminder>` text blocks into user turns; they are included, so match
 * with `includes`/`some` rather than equality on the whole array.
 */
export function userTexts(body: MessagesRequestBody | undefined): string[] {
  const out: string[] = [];
  for (const m of messagesOf(body)) {
    if (m.role !== 'user') continue;
    for (const b of blocksOf(m.content)) {
      if (b.type === 'text' && typeof b.text === 'string') out.push(b.text);
    }
  }
  return out;
}

/** The system prompt as one string (string form or joined text blocks). */
export function systemText(body: MessagesRequestBody | undefined): string {
  return textOf(body?.system);
}

export function toolNames(body: MessagesRequestBody | undefined): string[] {
  const tools = body?.tools;
  return Array.isArray(tools) ? tools.map((t) => (t && typeof t.name === 'string' ? t.name : '')).filter(Boolean) : [];
}

export interface ToolResult {
  toolUseId: string;
  /** Text of the result (string content or joined text blocks). */
  text: string;
  isError: boolean;
  block: ContentBlock;
}

/** The most recent tool_result block in the conversation, if any. */
export function lastToolResult(body: MessagesRequestBody | undefined): ToolResult | undefined {
  const msgs = messagesOf(body);
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i]!;
    if (m.role !== 'user') continue;
    const blocks = blocksOf(m.content);
    for (let j = blocks.length - 1; j >= 0; j--) {
      const b = blocks[j]!;
      if (b.type === 'tool_result') {
        return { toolUseId: String(b.tool_use_id ?? ''), text: textOf(b.content), isError: b.is_error === true, block: b };
      }
    }
  }
  return undefined;
}

/** True when the last message is a user turn answering a tool call. */
export function isToolResultTurn(body: MessagesRequestBody | undefined): boolean {
  const msgs = messagesOf(body);
  const last = msgs[msgs.length - 1];
  return last !== undefined && last.role === 'user' && blocksOf(last.content).some((b) => b.type === 'tool_result');
}

/**
 * Heuristic for "this is the agent loop, not a side request": the main loop
 * always offers tools, side requests (title/topic generation, summaries) do
 * not. See the file header for what was observed.
 */
export function isMainConversation(body: MessagesRequestBody | undefined): boolean {
  // The title request sends `tools: []`, so "present" is not enough.
  return toolNames(body).length > 0;
}

/** Wraps a script so side requests get the default reply and never reach it. */
export function mainOnly(script: Script, side: Script = defaultScript): Script {
  return (req) => (isMainConversation(req.body) ? script(req) : side(req));
}

/**
 * Replies in order to main-conversation requests; side requests get "ok" and
 * do not consume a step. After the last step, `rest` answers (default "ok").
 */
export function sequence(steps: Reply[], rest: Reply = { text: 'ok' }): Script {
  let next = 0;
  return mainOnly(() => (next < steps.length ? steps[next++]! : rest));
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

const MAX_BODY_BYTES = 64 * 1024 * 1024;

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** Rough token estimate; tests only need plausible, non-zero numbers. */
function estimateTokens(value: unknown): number {
  let len = 0;
  try {
    len = JSON.stringify(value ?? '').length;
  } catch {
    len = 0;
  }
  return Math.max(1, Math.ceil(len / 4));
}

function sendJson(res: http.ServerResponse, status: number, payload: unknown, requestId: string): void {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
    'request-id': requestId,
  });
  res.end(data);
}

function sendError(res: http.ServerResponse, status: number, type: string, message: string, requestId: string): void {
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: requestId }, requestId);
}

interface BuiltMessage {
  message: Record<string, unknown>;
  blocks: ContentBlock[];
  stopReason: 'end_turn' | 'tool_use';
  inputTokens: number;
  outputTokens: number;
}

function buildMessage(reply: Exclude<Reply, { error: unknown } | { hang: true }>, body: MessagesRequestBody): BuiltMessage {
  const blocks: ContentBlock[] = [];
  if (typeof reply.text === 'string') blocks.push({ type: 'text', text: reply.text });
  const uses = reply.toolUse === undefined ? [] : Array.isArray(reply.toolUse) ? reply.toolUse : [reply.toolUse];
  for (const u of uses) {
    blocks.push({ type: 'tool_use', id: u.id ?? newId('toolu'), name: u.name, input: u.input ?? {} });
  }
  // An empty reply would be an assistant message with no content, which real
  // clients treat as an error; give them an empty text block instead.
  if (blocks.length === 0) blocks.push({ type: 'text', text: '' });
  const stopReason = uses.length > 0 ? 'tool_use' : 'end_turn';
  const inputTokens = reply.usage?.inputTokens ?? estimateTokens(body.messages) + estimateTokens(body.system);
  const outputTokens = reply.usage?.outputTokens ?? estimateTokens(blocks);
  const message = {
    id: newId('msg'),
    type: 'message',
    role: 'assistant',
    model: reply.model ?? (typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5'),
    content: blocks,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: {
      input_tokens: inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: outputTokens,
      service_tier: 'standard',
    },
  };
  return { message, blocks, stopReason, inputTokens, outputTokens };
}

function writeSse(res: http.ServerResponse, built: BuiltMessage, requestId: string): void {
  if (res.destroyed) return;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': requestId,
  });
  const ev = (type: string, data: Record<string, unknown>): void => {
    if (!res.destroyed) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  };
  // message_start carries an empty content list and the final stop_reason is
  // only revealed in message_delta, exactly like the real API.
  ev('message_start', {
    message: {
      ...built.message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...(built.message.usage as object), output_tokens: 1 },
    },
  });
  built.blocks.forEach((block, index) => {
    if (block.type === 'tool_use') {
      ev('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) } });
    } else {
      ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      ev('content_block_delta', { index, delta: { type: 'text_delta', text: block.text ?? '' } });
    }
    ev('content_block_stop', { index });
  });
  ev('message_delta', {
    delta: { stop_reason: built.stopReason, stop_sequence: null },
    usage: { output_tokens: built.outputTokens },
  });
  ev('message_stop', {});
  res.end();
}

export async function startModelServer(script: Script = defaultScript): Promise<ModelServer> {
  let current: Script = script;
  const requests: RecordedRequest[] = [];
  const waiters = new Set<{ predicate: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }>();
  const timers = new Set<NodeJS.Timeout>();
  let messageIndex = 0;
  let closed = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const record = (r: RecordedRequest): void => {
    requests.push(r);
    for (const w of [...waiters]) {
      let hit = false;
      try {
        hit = w.predicate(r);
      } catch {
        hit = false; // A throwing predicate must not take the server down.
      }
      if (hit) {
        waiters.delete(w);
        w.resolve(r);
      }
    }
  };

  const handleMessages = async (res: http.ServerResponse, rec: RecordedRequest, requestId: string): Promise<void> => {
    const body = rec.body;
    if (body === undefined || typeof body !== 'object' || Array.isArray(body)) {
      sendError(res, 400, 'invalid_request_error', 'request body must be a JSON object', requestId);
      return;
    }
    const index = messageIndex++;
    let reply: Reply;
    try {
      reply = await current({ body, index, request: rec });
    } catch (err) {
      sendError(res, 500, 'api_error', `model-server script threw: ${String(err)}`, requestId);
      return;
    }
    if (reply === null || typeof reply !== 'object') reply = { text: 'ok' };
    if (typeof reply.delayMs === 'number' && reply.delayMs > 0) await sleep(reply.delayMs);
    if (closed || res.destroyed) return;
    if ('hang' in reply) return; // Left open on purpose; close() destroys it.
    if ('error' in reply) {
      sendError(res, reply.error.status, reply.error.type, reply.error.message, requestId);
      return;
    }
    const built = buildMessage(reply, body);
    if (body.stream === true) writeSse(res, built, requestId);
    else sendJson(res, 200, built.message, requestId);
  };

  const server = http.createServer((req, res) => {
    const requestId = newId('req');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooBig = true;
      else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    // Clients routinely abort (Esc in the TUI); a write after that would throw.
    res.on('error', () => undefined);
    req.on('end', () => {
      void (async () => {
        const rawUrl = req.url ?? '/';
        const q = rawUrl.indexOf('?');
        const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
        const query = q === -1 ? '' : rawUrl.slice(q + 1);
        const rawBody = tooBig ? '' : Buffer.concat(chunks).toString('utf8');
        let body: MessagesRequestBody | undefined;
        try {
          body = rawBody ? (JSON.parse(rawBody) as MessagesRequestBody) : undefined;
        } catch {
          body = undefined;
        }
        const rec: RecordedRequest = {
          seq: requests.length,
          method: req.method ?? 'GET',
          path,
          query,
          headers: req.headers,
          body,
          rawBody,
          time: Date.now(),
        };
        record(rec);
        if (tooBig) {
          sendError(res, 413, 'request_too_large', 'request body too large', requestId);
          return;
        }
        const normPath = path.replace(/\/+$/, '');
        if (req.method === 'POST' && normPath === '/v1/messages') {
          await handleMessages(res, rec, requestId);
        } else if (req.method === 'POST' && normPath === '/v1/messages/count_tokens') {
          if (body === undefined) sendError(res, 400, 'invalid_request_error', 'request body must be JSON', requestId);
          else sendJson(res, 200, { input_tokens: estimateTokens(body.messages) + estimateTokens(body.system) + estimateTokens(body.tools) }, requestId);
        } else {
          sendError(res, 404, 'not_found_error', `Not found: ${req.method ?? '?'} ${path}`, requestId);
        }
      })().catch((err: unknown) => {
        try {
          sendError(res, 500, 'api_error', `model-server internal error: ${String(err)}`, requestId);
        } catch {
          res.destroy();
        }
      });
    });
  });
  // A malformed request line must not surface as an unhandled 'error'.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    messageRequests: () => requests.filter((r) => r.method === 'POST' && r.path.replace(/\/+$/, '') === '/v1/messages'),
    setScript(next: Script): void {
      current = next;
    },
    waitFor(predicate, timeoutMs = 30_000): Promise<RecordedRequest> {
      for (const r of requests) {
        try {
          if (predicate(r)) return Promise.resolve(r);
        } catch {
          // Treat a throwing predicate as "no match" and keep waiting.
        }
      }
      return new Promise<RecordedRequest>((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (r: RecordedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = requests.map((r) => `${r.method} ${r.path}${r.body?.model ? ` (${r.body.model})` : ''}`).join(', ');
          reject(new Error(`model-server: no matching request within ${timeoutMs} ms; received ${requests.length}: [${seen}]`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Hanging/delayed responses and keep-alive sockets would otherwise keep
      // close() (and the test process) waiting forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
