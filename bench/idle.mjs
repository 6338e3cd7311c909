/**
 * Benchmark: the MCP server's memory at rest. Each server runs over stdio as
 * Claude Code starts it, gets initialize + tools/list from the SDK's Client,
 * then sits for a second; its VmRSS (and the anonymous part of it, what the
 * process owns beyond the node binary's shared pages) is read from /proc.
 *
 *   ringmaster serve as `ringmaster install` registers it (SERVE_NODE_FLAGS):
 *   its front answers those from the build's listing, without the MCP SDK
 *   (src/server/front.ts);
 *   the same with plain `node`;
 *   the same as registered after one list_agents call, which loads the SDK
 *   and the tools (the server in use, for comparison);
 * and, as baselines in the same run, what ringmaster cannot go below:
 *   a bare node process;
 *   the MCP SDK's McpServer with one zod tool over stdio (the SDK, zod, its
 *   JSON Schema converters and ajv, which it loads at import), with the same flags.
 *
 * Rounds alternate between the kinds, so load swings hit them alike. HOME
 * is the benchmark's temp world; RINGMASTER_HOME and the tmux socket are this
 * benchmark's own, so the store is empty (the benchmarks before it leave
 * agents behind) and this is the server's floor. The scale benchmark reports
 * the idle server over its fleet of 100.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SERVE_NODE_FLAGS } from '../dist/src/setup/install.js';
import { ROOT, sleep } from './world.mjs';
import { summarize } from './stats.mjs';

const ROUNDS = 3;
const SETTLE_MS = 1_000;

/** A server of the SDK alone: what any MCP server in Node holds before its own code. */
const SDK_ONLY = `
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
const server = new McpServer({ name: 'sdk-only', version: '1' }, { capabilities: { logging: {} } });
server.registerTool('echo', { description: 'echo', inputSchema: z.object({ text: z.string() }), outputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }));
await server.connect(new StdioServerTransport());
`;

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}

async function measureMcp(world, args, { call = false } = {}) {
  // A home and tmux server of its own: the benchmarks before this one leave agents in the world's store.
  const home = join(world.root, 'idle-home');
  mkdirSync(home, { recursive: true });
  const env = Object.fromEntries(Object.entries({ ...world.env, RINGMASTER_HOME: home, RINGMASTER_TMUX_SOCKET: `${world.socket}-idle` }).filter(([, value]) => value !== undefined));
  const transport = new StdioClientTransport({ command: process.execPath, args, env, cwd: ROOT, stderr: 'pipe' });
  const client = new Client({ name: 'bench-idle', version: '1' });
  const started = performance.now();
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    const readyMs = performance.now() - started;
    if (call) {
      const result = await client.callTool({ name: 'list_agents', arguments: {} });
      if (result.isError) throw new Error(`list_agents failed: ${JSON.stringify(result.content)}`);
    }
    await sleep(SETTLE_MS);
    return { ...memory(transport.pid), readyMs, tools: tools.length };
  } finally {
    await client.close();
  }
}

async function measureBareNode(world) {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { env: world.env, stdio: 'ignore' });
  try {
    await sleep(SETTLE_MS);
    return memory(child.pid);
  } finally {
    child.kill('SIGTERM');
  }
}

export async function benchIdle(world, log) {
  const sdkOnlyFile = join(world.root, 'sdk-only.mjs');
  // Resolved from the checkout: the script's own folder has no node_modules.
  writeFileSync(sdkOnlyFile, SDK_ONLY.replaceAll("from '@modelcontextprotocol/sdk/", `from '${ROOT}/node_modules/@modelcontextprotocol/sdk/dist/esm/`).replace("from 'zod'", `from '${ROOT}/node_modules/zod/index.js'`));
  const cli = join(ROOT, 'dist', 'src', 'cli.js');
  const kinds = {
    registered: [...SERVE_NODE_FLAGS, cli, 'serve'],
    registeredAfterCall: [...SERVE_NODE_FLAGS, cli, 'serve'],
    plainNode: [cli, 'serve'],
    sdkOnlyRegisteredFlags: [...SERVE_NODE_FLAGS, sdkOnlyFile],
    sdkOnlyPlainNode: [sdkOnlyFile],
  };
  const samples = Object.fromEntries([...Object.keys(kinds), 'bareNode'].map((kind) => [kind, { rss: [], anon: [], readyMs: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [kind, args] of Object.entries(kinds)) {
      const measured = await measureMcp(world, args, { call: kind === 'registeredAfterCall' });
      for (const key of ['rss', 'anon', 'readyMs']) samples[kind][key].push(measured[key]);
    }
    const bare = await measureBareNode(world);
    samples.bareNode.rss.push(bare.rss);
    samples.bareNode.anon.push(bare.anon);
  }
  const result = { flags: SERVE_NODE_FLAGS, rounds: ROUNDS };
  for (const [kind, values] of Object.entries(samples)) {
    result[kind] = { rssMB: summarize(values.rss, 1), anonMB: summarize(values.anon, 1), ...(values.readyMs.length ? { readyMs: summarize(values.readyMs, 0) } : {}) };
    log(`idle: ${kind} VmRSS ${values.rss.map((mb) => mb.toFixed(1)).join(', ')} MB (anonymous ${values.anon.map((mb) => mb.toFixed(1)).join(', ')} MB)`);
  }
  return result;
}
