/**
 * A small scripted Anthropic-compatible Messages API server for the
 * benchmarks (plain ESM: the test helper in test/helpers/model-server.ts is
 * TypeScript and the benchmarks run without a TS loader). Same wire format as
 * that helper, which is known to work with the real Claude Code CLI:
 *
 *   POST /v1/messages[?beta=true] with stream:true -> server-sent events
 *     message_start, content_block_start, content_block_delta (text_delta or
 *     input_json_delta), content_block_stop, ... , message_delta (stop_reason
 *     end_turn or tool_use), message_stop
 *   POST /v1/messages/count_tokens -> {"input_tokens":1}
 *   anything else -> 404 in Anthropic's error shape
 *
 * A script `({ body, index, headers }) => reply` decides every answer, where
 * reply is `{ text?: string, toolUse?: {name, input, id?} | Array<...> }`.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const newId = (prefix) => `${prefix}_${randomBytes(12).toString('hex')}`;

function blocksOf(content) {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter((block) => block && typeof block.type === 'string') : [];
}

/** The main agent loop always offers tools; side requests (titles, summaries) do not. */
export function isMainConversation(body) {
  return Array.isArray(body?.tools) && body.tools.length > 0;
}

/** How many tool_result blocks the conversation holds so far. */
export function toolResultCount(body) {
  let count = 0;
  for (const message of body?.messages ?? []) {
    if (message?.role !== 'user') continue;
    for (const block of blocksOf(message.content)) if (block.type === 'tool_result') count++;
  }
  return count;
}

/** True when the last message is a user turn that answers a tool call. */
export function isToolResultTurn(body) {
  const messages = body?.messages ?? [];
  const last = messages[messages.length - 1];
  return last?.role === 'user' && blocksOf(last.content).some((block) => block.type === 'tool_result');
}

function sendJson(res, status, payload) {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'request-id': newId('req') });
  res.end(data);
}

function sendError(res, status, type, message) {
  sendJson(res, status, { type: 'error', error: { type, message } });
}

function writeSse(res, body, reply) {
  const blocks = [];
  if (typeof reply.text === 'string') blocks.push({ type: 'text', text: reply.text });
  const uses = reply.toolUse === undefined ? [] : Array.isArray(reply.toolUse) ? reply.toolUse : [reply.toolUse];
  for (const use of uses) blocks.push({ type: 'tool_use', id: use.id ?? newId('toolu'), name: use.name, input: use.input ?? {} });
  if (blocks.length === 0) blocks.push({ type: 'text', text: '' });
  const stopReason = uses.length > 0 ? 'tool_use' : 'end_turn';
  const usage = { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1, service_tier: 'standard' };
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'request-id': newId('req') });
  const event = (type, data) => {
    if (!res.destroyed) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  };
  event('message_start', {
    message: {
      id: newId('msg'),
      type: 'message',
      role: 'assistant',
      model: typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  });
  blocks.forEach((block, index) => {
    if (block.type === 'tool_use') {
      event('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    } else {
      event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      event('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    }
    event('content_block_stop', { index });
  });
  event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 5 } });
  event('message_stop', {});
  res.end();
}

/** Starts the server on 127.0.0.1 with a random port. */
export async function startModelServer(script = () => ({ text: 'ok' })) {
  let current = script;
  let index = 0;
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    res.on('error', () => undefined);
    req.on('end', () => {
      const url = req.url ?? '/';
      const path = url.split('?')[0].replace(/\/+$/, '');
      let body;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      requests.push({ method: req.method, path, time: Date.now(), main: isMainConversation(body) });
      if (req.method === 'POST' && path === '/v1/messages/count_tokens') return sendJson(res, 200, { input_tokens: 1 });
      if (req.method !== 'POST' || path !== '/v1/messages') return sendError(res, 404, 'not_found_error', `Not found: ${req.method} ${path}`);
      if (!body || typeof body !== 'object') return sendError(res, 400, 'invalid_request_error', 'request body must be a JSON object');
      let reply;
      try {
        reply = current({ body, index: index++, headers: req.headers }) ?? { text: 'ok' };
      } catch (error) {
        return sendError(res, 500, 'api_error', `bench model script threw: ${String(error)}`);
      }
      if (body.stream === true) return writeSse(res, body, reply);
      // Non-streaming callers get the whole message at once.
      sendJson(res, 200, {
        id: newId('msg'),
        type: 'message',
        role: 'assistant',
        model: body.model ?? 'claude-sonnet-4-5',
        content: [{ type: 'text', text: reply.text ?? 'ok' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setScript(next) {
      current = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The environment that points the real Claude Code CLI at `server` and nowhere else. */
export function claudeEnv(server) {
  return {
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'x',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  };
}
