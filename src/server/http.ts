import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from '../core/index.js';
import { createServer } from './index.js';

export interface HttpServerHandle {
  url: string;
  token: string;
  port: number;
  close: () => Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const TOO_LARGE = Symbol('too large');

/**
 * Streamable HTTP on 127.0.0.1 only, behind a bearer token. Each MCP session
 * gets its own server object over the shared core context.
 */
export async function serveHttp(context: Context, options: { port: number; token?: string }): Promise<HttpServerHandle> {
  const token = options.token || randomBytes(24).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const sessions = new Map<string, StreamableHTTPServerTransport>();

  const authorized = (request: IncomingMessage) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/mcp') return sendJson(response, 404, { error: 'not found: the MCP endpoint is /mcp' });
    if (!authorized(request)) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="ringmaster"');
      return sendJson(response, 401, { error: 'missing or wrong bearer token: send "Authorization: Bearer <token>" as printed by ringmaster serve --http' });
    }
    const sessionId = request.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (request.method === 'POST') {
      const body = await readJsonBody(request);
      if (body === TOO_LARGE) return sendJson(response, 413, jsonRpcError(`request body is over ${MAX_BODY_BYTES} bytes`));
      if (body === undefined) return sendJson(response, 400, jsonRpcError('request body is not valid JSON'));
      if (existing) return existing.handleRequest(request, response, body);
      if (sessionId === undefined && isInitializeRequest(body)) {
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, transport),
          enableDnsRebindingProtection: true,
          allowedHosts: [`127.0.0.1:${port()}`, `localhost:${port()}`],
        });
        transport.onclose = () => {
          if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        await createServer(context).connect(transport);
        return transport.handleRequest(request, response, body);
      }
      return sendJson(response, 400, jsonRpcError('no valid MCP session: send initialize first, or a known Mcp-Session-Id header'));
    }
    if ((request.method === 'GET' || request.method === 'DELETE') && existing) return existing.handleRequest(request, response);
    if (request.method === 'GET' || request.method === 'DELETE') return sendJson(response, 400, jsonRpcError('unknown or missing Mcp-Session-Id'));
    response.setHeader('Allow', 'GET, POST, DELETE');
    return sendJson(response, 405, { error: 'method not allowed' });
  };

  const server: Server = createHttpServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, jsonRpcError(`internal error: ${(error as Error).message}`));
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = () => (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port()}/mcp`,
    token,
    port: port(),
    close: async () => {
      await Promise.all([...sessions.values()].map((transport) => transport.close().catch(() => undefined)));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function jsonRpcError(message: string) {
  return { jsonrpc: '2.0', error: { code: -32000, message }, id: null };
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return TOO_LARGE;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
