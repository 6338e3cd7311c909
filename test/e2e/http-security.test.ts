import { request as httpRequest } from 'node:http';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorld, type TestWorld } from '../helpers/fixtures.js';
import { connectHttp, startHttpServer, type HttpServerProcess } from '../helpers/mcp.js';

// The MCP specification's security warning for Streamable HTTP: validate Origin
// (403 when present and foreign), bind to localhost, authenticate. Here the
// built server, a real SDK client and raw requests a browser page could send.

let world: TestWorld;
let server: HttpServerProcess;
let port: number;

beforeAll(async () => {
  world = makeWorld();
  server = await startHttpServer(world.env);
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await server?.stop();
  await world?.close();
});

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** A raw POST with exactly these headers (node:http, so Host can be set as a rebound name would send it). */
function post(headers: Record<string, string>, body: unknown = initialize): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(text), ...headers } },
      (res) => {
        let data = '';
        res.on('data', (chunk: Buffer) => (data += chunk.toString()));
        res.on('end', () => {
          // An initialize answer may come as one server-sent event.
          const payload = data.startsWith('event:') || data.startsWith('data:') ? data.split('\n').find((line) => line.startsWith('data:'))!.slice(5) : data;
          resolve({ status: res.statusCode ?? 0, json: payload ? (JSON.parse(payload) as Record<string, unknown>) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const bearer = () => `Bearer ${server.token}`;

describe('Streamable HTTP security', () => {
  it('keeps binding to 127.0.0.1', () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}/mcp`);
  });

  it('refuses a foreign Origin with 403 and says why, even with the right token', async () => {
    for (const origin of ['https://evil.example', 'http://127.0.0.1.evil.example', `http://localhost:${port + 1}`, 'null']) {
      const answer = await post({ authorization: bearer(), origin });
      expect(answer.status, origin).toBe(403);
      expect(JSON.stringify(answer.json)).toContain(`is not this server's own`);
    }
  });

  it("accepts the server's own Origin and no Origin", async () => {
    expect((await post({ authorization: bearer(), origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect((await post({ authorization: bearer(), origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await post({ authorization: bearer() })).status).toBe(200);
  });

  it('refuses a Host that is not this server (DNS rebinding) with 403', async () => {
    const rebound = await post({ authorization: bearer(), host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.stringify(rebound.json)).toMatch(/Host .*attacker\.example.* is not this server/);
    expect((await post({ authorization: bearer(), host: `127.0.0.1:${port + 1}` })).status).toBe(403);
    expect((await post({ authorization: bearer(), host: `localhost:${port}` })).status).toBe(200);
  });

  it('accepts the bearer scheme in any case, and still checks the token', async () => {
    expect((await post({ authorization: `bearer ${server.token}` })).status).toBe(200);
    expect((await post({ authorization: `BEARER ${server.token}` })).status).toBe(200);
    expect((await post({ authorization: `bearer ${server.token}x` })).status).toBe(401);
    expect((await post({ authorization: `Basic ${server.token}` })).status).toBe(401);
  });

  it('a real SDK client with a lower-case bearer scheme lists and calls tools', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { authorization: `bearer ${server.token}` } } });
    const client = new Client({ name: 'lower-case-bearer', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(5);
      const listed = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(listed.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('answers an empty batch with a JSON-RPC Invalid Request error, also inside a session', async () => {
    const empty = await post({ authorization: bearer() }, []);
    expect(empty.status).toBe(400);
    expect(empty.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect((empty.json.error as { message: string }).message).toMatch(/empty JSON-RPC batch/);

    const client: Client = await connectHttp(server.url, server.token);
    try {
      const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
      const inSession = await post({ authorization: bearer(), 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, []);
      expect(inSession.status).toBe(400);
      expect(inSession.json).toMatchObject({ error: { code: -32600 } });
      // The session is unharmed: the next real request works.
      expect((await client.listTools()).tools.length).toBeGreaterThan(5);
    } finally {
      await client.close();
    }
  });
});
