import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { git, makeRepo, makeWorld, ROOT, type TestWorld } from '../helpers/fixtures.js';
import { connectHttp, startHttpServer, type HttpServerProcess } from '../helpers/mcp.js';

const run = promisify(execFile);
let world: TestWorld;
let repo: string;
let server: HttpServerProcess;
let client: Client;

beforeAll(async () => {
  world = makeWorld();
  repo = makeRepo(world.dir);
  server = await startHttpServer(world.env);
  client = await connectHttp(server.url, server.token);
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
  await world.close();
});

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

async function post(headers: Record<string, string>) {
  return fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(initialize),
  });
}

describe('Streamable HTTP transport', () => {
  it('binds to 127.0.0.1 and generates a token when none is given', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('answers 401 without the bearer token, or with a wrong one', async () => {
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await none.json()).error).toMatch(/bearer token/);
    expect((await post({ authorization: `Bearer ${server.token}x` })).status).toBe(401);
    expect((await post({ authorization: server.token })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${server.token}` })).status).toBe(200);
  });

  it('reads the token from RINGMASTER_TOKEN', async () => {
    const fixed = await startHttpServer(world.env, 'fixed-token-for-test-0123456789abcdef');
    try {
      const other = await connectHttp(fixed.url, 'fixed-token-for-test-0123456789abcdef');
      expect((await other.listTools()).tools.map((tool) => tool.name)).toEqual((await client.listTools()).tools.map((tool) => tool.name));
      await other.close();
    } finally {
      await fixed.stop();
    }
  });

  it('sends MCP progress notifications while spawn_agent bootstraps', async () => {
    const progress: string[] = [];
    const result = await client.callTool(
      {
        name: 'spawn_agent',
        arguments: { repo, task: 'over http', name: 'via-http', agent: 'codex', bootstrap: { setup: 'echo installing deps; echo done installing' } },
      },
      undefined,
      { onprogress: (notification) => progress.push(notification.message ?? '') },
    );
    expect(result.isError).toBeFalsy();
    expect(progress).toEqual(
      expect.arrayContaining([
        'Reserving agent "via-http"',
        'Opening the agent\'s egress gate',
        'Running setup in the sandbox: echo installing deps; echo done installing',
        'setup: installing deps',
        'setup: done installing',
        'Starting codex in tmux session ringmaster-via-http',
      ]),
    );
    expect(result.structuredContent).toMatchObject({ setup: { exit_code: 0 } });
    const cleaned = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'via-http' } });
    expect(cleaned.structuredContent).toMatchObject({ worktree: 'removed' });
  });

  it('runs examples/chain-over-http.ts: spawn_agent -> list_agents -> cleanup_worktree', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'dist/examples/chain-over-http.js'), server.url, server.token, repo, 'codex'], {
      env: world.env as NodeJS.ProcessEnv,
    });
    expect(stdout).toMatch(/spawned example-agent on agent\/example-agent; watch it with: tmux -L \S+ attach -t ringmaster-example-agent/);
    expect(stdout).toContain('listed example-agent: running');
    expect(stdout).toMatch(/cleaned up: removed tmux session ringmaster-example-agent, worktree .*, branch agent\/example-agent/);
    expect(git(repo, 'branch', '--list', 'agent/example-agent').trim()).toBe('');
  });

  it('rejects requests for unknown sessions and other paths', async () => {
    const unknown = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${server.token}`, 'mcp-session-id': 'nope' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(unknown.status).toBe(400);
    const elsewhere = await fetch(server.url.replace('/mcp', '/other'), { headers: { authorization: `Bearer ${server.token}` } });
    expect(elsewhere.status).toBe(404);
  });
});
