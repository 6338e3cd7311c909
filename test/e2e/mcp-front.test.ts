import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { LATEST_PROTOCOL_VERSION, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Monitor } from '../../src/fleet/index.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { createServer } from '../../src/server/index.js';
import { agentStatus, findLiveAgent } from '../../src/state/index.js';
import { CLAUDE_BIN, CLI, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { claudeEnv, isMainConversation, startModelServer } from '../helpers/model-server.js';
import { resultText } from '../helpers/mcp.js';

/**
 * The stdio front (src/server/front.ts): `ringmaster serve` answers what a
 * client asks on connecting from the build's listing, without the MCP SDK,
 * and loads the SDK at the first real request. Every server here is the
 * built CLI; node's module loader is watched through a load hook that
 * writes each module it loads to a file.
 */
let world: TestWorld;
let repo: string;
let hookFile: string;

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.MODULE_TRACE, url + '\\n');
  return next(url, context);
}
`;

beforeAll(async () => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'front repo');
  writeFileSync(join(world.dir, 'trace-hooks.mjs'), HOOKS);
  hookFile = join(world.dir, 'trace.mjs');
  writeFileSync(hookFile, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(world.dir, 'trace-hooks.mjs')}`)});\n`);
  for (const name of ['front-a', 'front-b']) await spawnAgent(world.context, { repo, task: `work on ${name}`, name, agent: 'codex' });
});
afterAll(async () => {
  await world?.close();
});

let traces = 0;
/** Arguments and environment for the built server with its module loads written to a file. */
function traced(): { args: string[]; env: Record<string, string>; modules: () => string[] } {
  const trace = join(world.dir, `modules-${++traces}.txt`);
  writeFileSync(trace, '');
  const env = Object.fromEntries(Object.entries({ ...world.env, MODULE_TRACE: trace }).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return { args: ['--import', hookFile, CLI, 'serve'], env, modules: () => readFileSync(trace, 'utf8').split('\n').filter(Boolean) };
}

const sdkLoaded = (modules: string[]) => modules.some((url) => url.includes('/@modelcontextprotocol/sdk/'));

async function connectTraced(): Promise<{ client: Client; modules: () => string[]; stderr: () => string }> {
  const { args, env, modules } = traced();
  const transport = new StdioClientTransport({ command: process.execPath, args, env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'front-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, modules, stderr: () => stderr };
}

/** The SDK server in this process, over the same store: what the front's answers must equal. */
async function reference(): Promise<{ client: Client; close: () => Promise<void> }> {
  const monitor = new Monitor(world.context);
  const server = createServer(world.context, monitor);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'front-test', version: '1.0.0' });
  await client.connect(clientSide);
  return { client, close: () => client.close() };
}

describe('the stdio front', () => {
  it("answers a client's connection like the SDK server does, without loading the SDK, and loads it at the first tool call", async () => {
    const { client, modules, stderr } = await connectTraced();
    const expected = await reference();
    try {
      const asked = {
        tools: await client.listTools(),
        prompts: await client.listPrompts(),
        resources: await client.listResources(),
        templates: await client.listResourceTemplates(),
        ping: await client.ping(),
      };
      expect(client.getServerVersion()).toEqual({ name: 'ringmaster', version: '0.1.0' });
      expect(client.getServerCapabilities()).toEqual(expected.client.getServerCapabilities());
      expect(client.getInstructions()).toBe(expected.client.getInstructions());
      expect(asked.tools).toEqual(await expected.client.listTools());
      expect(asked.tools.tools.map((tool) => tool.name)).toContain('spawn_agent');
      expect(asked.prompts).toEqual(await expected.client.listPrompts());
      expect(asked.templates).toEqual(await expected.client.listResourceTemplates());
      // resources/list is not in the listing: the agents come from the store, shaped as the SDK shapes a template's list.
      expect(asked.resources).toEqual(await expected.client.listResources());
      expect(asked.resources.resources.map((resource) => resource.uri)).toEqual(['ringmaster://agents', 'ringmaster://agents/front-a', 'ringmaster://agents/front-b']);
      expect(asked.ping).toEqual({});

      // Nothing of the SDK, zod's v4 or the tools was loaded to answer all that.
      const before = modules();
      expect(before.length).toBeGreaterThan(20);
      expect(sdkLoaded(before)).toBe(false);
      expect(before.filter((url) => url.includes('/zod/v4/') || url.includes('/dist/tools/'))).toEqual([]);
      expect(stderr()).not.toMatch(/serving without the front/);

      // A tool call wakes the SDK; the session it finds is the one the client opened.
      const listed = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(listed.isError, resultText(listed)).toBeFalsy();
      expect((listed.structuredContent as { agents: Array<{ name: string }> }).agents.map((agent) => agent.name).sort()).toEqual(['front-a', 'front-b']);
      expect(sdkLoaded(modules())).toBe(true);
      // The SDK's own answers now, and the same as the front's.
      expect(await client.listTools()).toEqual(asked.tools);
      expect(await client.listResources()).toEqual(asked.resources);
      const read = await client.readResource({ uri: 'ringmaster://agents/front-a' });
      expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ name: 'front-a' });
    } finally {
      await client.close();
      await expected.close();
    }
  });

  it('the real Claude Code connects and names the tools to the model, and the server still has not loaded the SDK', async () => {
    const model = await startModelServer();
    try {
      const { args, env, modules } = traced();
      const config = join(world.dir, 'front-mcp.json');
      writeFileSync(config, JSON.stringify({ mcpServers: { ringmaster: { command: process.execPath, args, env } } }));
      const run = await promisify(execFile)(CLAUDE_BIN, ['-p', 'say hi', '--mcp-config', config, '--strict-mcp-config'], {
        env: { ...world.env, ...claudeEnv(model) } as NodeJS.ProcessEnv,
        cwd: world.home,
        timeout: 90_000,
      });
      expect(run.stdout.trim()).toBe('ok');
      // Claude Code asked for the lists on connecting, and told the model of the tools (as deferred tools, by name).
      const asked = model.messageRequests().find((request) => isMainConversation(request.body));
      for (const tool of ['spawn_agent', 'read_agent_state', 'wait_for_agents']) expect(JSON.stringify(asked?.body)).toContain(`mcp__ringmaster__${tool}`);
      expect(modules().length).toBeGreaterThan(20);
      expect(sdkLoaded(modules())).toBe(false);
    } finally {
      await model.close();
    }
  }, 120_000);

  it('negotiates the protocol version, answers a discover probe before initialize, and hands anything else to the SDK in order', async () => {
    const server = rawServer();
    try {
      expect(await server.ask({ jsonrpc: '2.0', id: 'probe', method: 'server/discover', params: {} })).toEqual({
        jsonrpc: '2.0',
        id: 'probe',
        error: { code: -32601, message: 'Method not found' },
      });
      const init = await server.ask({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      expect(init).toMatchObject({ id: 0, result: { protocolVersion: '2025-03-26', serverInfo: { name: 'ringmaster' } } });
      server.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      const tools = (await server.ask({ jsonrpc: '2.0', id: 1, method: 'tools/list' })) as { result: { tools: unknown[] } };
      expect(sdkLoaded(server.modules())).toBe(false);

      // A line that is no JSON wakes the SDK, which drops it as it always has; the requests after it are answered in order.
      server.write('this is not json\n');
      server.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      server.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'read_agent_state', arguments: { name: 'front-a' } } });
      server.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'read_agent_state', arguments: { name: 'nobody' } } });
      const [second, found, missing] = [await server.answer(2), await server.answer(3), await server.answer(4)];
      expect((second as { result: unknown }).result).toEqual(tools.result);
      expect(JSON.stringify(found)).toContain('front-a');
      expect(found).not.toHaveProperty('error');
      expect(JSON.stringify(missing)).toMatch(/No agent named \\"nobody\\"/);
      expect(sdkLoaded(server.modules())).toBe(true);
      // The replayed initialize's answer went nowhere: every line the client got answers one of its own ids
      // (the SDK runs calls side by side, so 3 and 4 may come in either order).
      const ids = server.lines().map((line) => (JSON.parse(line) as { id?: unknown }).id);
      expect(ids.slice(0, 4)).toEqual(['probe', 0, 1, 2]);
      expect(ids.slice(4).sort()).toEqual([3, 4]);
    } finally {
      await server.stop();
    }

    const other = rawServer();
    try {
      const init = await other.ask({ jsonrpc: '2.0', id: 'i', method: 'initialize', params: { protocolVersion: '1999-01-01', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      expect(init).toMatchObject({ result: { protocolVersion: LATEST_PROTOCOL_VERSION } });
    } finally {
      await other.stop();
    }

    // A request before initialize is the SDK's to answer, as it always was.
    const early = rawServer();
    try {
      const tools = (await early.ask({ jsonrpc: '2.0', id: 7, method: 'tools/list' })) as { result: { tools: Array<{ name: string }> } };
      expect(tools.result.tools.map((tool) => tool.name)).toContain('read_agent_state');
      expect(sdkLoaded(early.modules())).toBe(true);
    } finally {
      await early.stop();
    }
  });

  it('tells the client of status changes before and after the SDK is loaded, once each, at the level it asked for', async () => {
    const { client, modules } = await connectTraced();
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logs.push(`${notification.params.level} ${String(notification.params.data)}`));
    const exits = (name: string) => logs.filter((line) => new RegExp(`^warning ${name}: \\w+ -> exited`).test(line));
    /** Starts an agent, lets the server's monitor see it, ends its tmux session, and waits until this process sees it exited. */
    const endOne = async (name: string) => {
      await spawnAgent(world.context, { repo, task: `log ${name}`, name, agent: 'codex' });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      world.tmux('kill-session', '-t', `=ringmaster-${name}`);
      await waitUntil(async () => (await agentStatus(world.context, findLiveAgent(world.context, name))).state === 'exited', 15_000, `${name} to exit`);
    };
    try {
      // The front's own monitor: an agent's end is a warning.
      await endOne('front-log1');
      await waitUntil(() => exits('front-log1').length > 0, 15_000, 'the log message about front-log1');
      expect(sdkLoaded(modules())).toBe(false);

      // The front keeps the level the client sets: only errors and worse.
      await client.setLoggingLevel('error');
      await endOne('front-log2');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(exits('front-log2')).toEqual([]);
      expect(sdkLoaded(modules())).toBe(false);

      // The SDK, once loaded, has the level the client set with the front.
      const woke = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(woke.isError, resultText(woke)).toBeFalsy();
      expect(sdkLoaded(modules())).toBe(true);
      await endOne('front-log3');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(exits('front-log3')).toEqual([]);

      // And the SDK's listener alone sends them now: one message per change, not one from each.
      await client.setLoggingLevel('info');
      await endOne('front-log4');
      await waitUntil(() => exits('front-log4').length > 0, 15_000, 'the log message about front-log4');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(exits('front-log4')).toHaveLength(1);
      expect(exits('front-log1')).toHaveLength(1);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('the server ends when the client closes stdin, before and after the SDK is loaded', async () => {
    for (const wake of [false, true]) {
      const server = rawServer();
      await server.ask({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      if (wake) await server.ask({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_agents', arguments: {} } });
      expect(sdkLoaded(server.modules())).toBe(wake);
      const code = await server.endInput();
      expect(code).toBe(0);
    }
  });
});

/** The built server over raw JSON lines, for what an SDK client would not send. */
function rawServer() {
  const { args, env, modules } = traced();
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const received: string[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    received.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const answer = async (id: unknown): Promise<unknown> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const line = received.find((text) => (JSON.parse(text) as { id?: unknown }).id === id);
      if (line) return JSON.parse(line);
      if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(id)}; got ${received.join('\n')}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  return {
    modules,
    send,
    write: (text: string) => child.stdin.write(text),
    lines: () => [...received],
    answer,
    ask: (message: { id: unknown } & Record<string, unknown>) => {
      send(message);
      return answer(message.id);
    },
    endInput: async () => {
      child.stdin.end();
      return Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000))]);
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
