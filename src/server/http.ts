import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from '../core/index.js';
import { Dashboard } from '../dashboard/index.js';
import { createServer } from './index.js';
import { monitorFor } from './monitor.js';

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
 * gets its own server object over the shared core context. Every other path
 * is the browser dashboard (src/dashboard), behind the same token.
 *
 * Following the MCP specification's security warning for Streamable HTTP, a
 * request must be addressed to this server (Host is 127.0.0.1:port or
 * localhost:port) and, when a browser sends an Origin, come from this
 * server's own origin: a web page the user visits, or a DNS-rebound name,
 * gets 403 even if it learned the token.
 */
export async function serveHttp(context: Context, options: { port: number; token?: string }): Promise<HttpServerHandle> {
  const token = options.token || randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  const sessions = new Map<string, StreamableHTTPServerTransport>();

  const authorized = (request: IncomingMessage) => {
    // The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
    const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
    const given = Buffer.from(match?.[1] ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  /** Why a request is not addressed to this server from its own origin, or undefined when it is. */
  const foreign = (request: IncomingMessage): string | undefined => {
    const own = [`127.0.0.1:${port()}`, `localhost:${port()}`];
    const host = (request.headers.host ?? '').toLowerCase();
    if (!own.includes(host)) {
      return `Host ${JSON.stringify(request.headers.host ?? '')} is not this server: ringmaster answers only requests to ${own.join(' or ')} (DNS rebinding protection). Connect to ${own[0]}/mcp.`;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !own.map((hostPort) => `http://${hostPort}`).includes(origin.toLowerCase())) {
      return `Origin ${JSON.stringify(origin)} is not this server's own: ringmaster refuses requests from web pages and other sites. MCP clients send no Origin, or http://${own[0]}.`;
    }
    return undefined;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const refused = foreign(request);
    if (refused) return sendJson(response, 403, jsonRpcError(refused));
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    // Everything but /mcp is the browser dashboard (its own login, cookie and CSRF checks).
    if (url.pathname !== '/mcp') return dashboard.handle(request, response, url);
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
      if (Array.isArray(body) && body.length === 0) {
        return sendJson(response, 400, jsonRpcError('Invalid Request: an empty JSON-RPC batch; send at least one message', INVALID_REQUEST));
      }
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
  // Node closes an idle kept-alive connection after 5 s; a client that sends its next request on it at that moment
  // (a POST is not retried) gets ECONNRESET (seen in CI: a dashboard form post). Clients keep idle connections
  // longer than that, so the server keeps them past the usual 60 s of clients and proxies.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = () => (server.address() as AddressInfo).port;
  const dashboard = new Dashboard(context, { token, port, monitor: monitorFor(context) });
  return {
    url: `http://127.0.0.1:${port()}/mcp`,
    token,
    port: port(),
    close: async () => {
      dashboard.close();
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

/** JSON-RPC's code for a message that is not a valid request. */
const INVALID_REQUEST = -32600;

function jsonRpcError(message: string, code = -32000) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
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
