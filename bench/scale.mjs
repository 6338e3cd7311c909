/**
 * Benchmark: a fleet at scale. 100 agents registered in a temp store, 30 of
 * them live: a real tmux session each on the private socket whose pane runs
 * `bash -c 'sleep …; :'` (so the agent process is a child of the pane, as a
 * real launch script's is), a real git worktree each, and a real transcript
 * file where Claude Code keeps them (3 MB for the live ones, 1 MB for the
 * others, bench/transcript-gen.mjs). No real Claude is needed: nothing here
 * depends on the model.
 *
 * The reads go through the built server (`ringmaster serve` over stdio, a
 * separate process), as a parent would call them:
 *   - idle server memory after initialize + tools/list (VmRSS);
 *   - read_agent_state of all, cold (every transcript read for the first time);
 *   - list_agents and read_agent_state of all with nothing new (medians);
 *   - read_agent_state of all after ~13 KB appended to each live transcript;
 *   - the server's VmRSS after the reads and its peak (VmHWM);
 *   - the same server under plain node (without SERVE_NODE_FLAGS) beside it:
 *     warm reads in turn, time and memory;
 *   - where read_agent_state's time goes, in this process over the same store:
 *     statuses (one tmux call, liveness, hooks), transcripts, git summaries;
 *   - the dashboard: one look of its live feed with every row rendered, and
 *     the costs page's spend history, cold and again.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../dist/src/config.js';
import { Store } from '../dist/src/store/store.js';
import { Git } from '../dist/src/adapters/git.js';
import { Tmux } from '../dist/src/adapters/tmux.js';
import { agentStatuses, limiter, readAgentState } from '../dist/src/state/state.js';
import { readAgentStateTool } from '../dist/tools/read_agent_state.js';
import { gitSummary, GitSummaryCache } from '../dist/src/state/git-summary.js';
import { refreshFleetTranscripts, refreshTranscripts } from '../dist/src/state/transcripts.js';
import { loadFleetView } from '../dist/src/dashboard/fleet.js';
import { fleetRow } from '../dist/src/dashboard/views.js';
import { SpendHistory } from '../dist/src/dashboard/costs.js';
import { SERVE_NODE_FLAGS } from '../dist/src/setup/install.js';
import { ROOT, addSyntheticAgent } from './world.mjs';
import { appendTranscript, writeTranscript } from './transcript-gen.mjs';
import { MB, round, summarize } from './stats.mjs';

const REGISTERED = 100;
const LIVE = 30;
const LIVE_BYTES = 3 * MB;
const IDLE_BYTES = 1 * MB;
const APPEND_BYTES = 13 * 1024;
const REPS = 3;

export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => round(Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024, 1);
  return { rssMB: field('VmRSS'), peakMB: field('VmHWM') };
}

/** A minimal MCP client over stdio: newline-delimited JSON-RPC. */
export function startServer(env, nodeFlags) {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof, to see where a server's time goes
  const child = spawn(process.execPath, [...nodeFlags, ...nodeArgs, join(ROOT, 'dist', 'src', 'cli.js'), 'serve'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let nextId = 1;
  const waiting = new Map();
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // Lines are cut from the bytes, as the SDK's own client does: a chunk is looked at once, a message decoded once
  // (decoding each chunk apart would also split a multi-byte character that straddles two chunks).
  const pending = [];
  child.stdout.on('data', (chunk) => {
    let start = 0;
    let newline;
    while ((newline = chunk.indexOf(10, start)) !== -1) {
      pending.push(chunk.subarray(start, newline));
      const line = Buffer.concat(pending).toString('utf8');
      pending.length = 0;
      start = newline + 1;
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      const resolve = waiting.get(message.id);
      if (resolve) {
        waiting.delete(message.id);
        resolve(message);
      }
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  });
  const request = (method, params) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${method} timed out; server stderr: ${stderr.slice(-500)}`)), 120_000);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  const notify = (method, params) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  const call = async (name, args = {}) => {
    const started = performance.now();
    const result = await request('tools/call', { name, arguments: args });
    const ms = performance.now() - started;
    if (result.isError) throw new Error(`${name} failed: ${result.content?.[0]?.text}`);
    return { ms, result };
  };
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on('exit', resolve);
      // The way a client leaves: stdin closes (so a --cpu-prof profile gets written); SIGTERM if it lingers.
      child.stdin.end();
      setTimeout(() => child.exitCode === null && child.kill('SIGTERM'), 5_000).unref();
    });
  return { pid: child.pid, request, notify, call, stop, stderr: () => stderr };
}

/** The fleet: REGISTERED agents in the world's store, LIVE of them in tmux, each with a worktree and a transcript. */
export function makeScaleFleet(world, log) {
  const config = loadConfig(world.env);
  const store = new Store(join(config.home, 'state.db'));
  const repo = world.makeRepo('scale');
  const projectDir = join(world.home, '.claude', 'projects', '-bench-scale');
  mkdirSync(projectDir, { recursive: true });
  const baseCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  log(`scale: registering ${REGISTERED} agents (${LIVE} live in tmux), worktrees and transcripts`);
  const prepared = performance.now();
  const live = [];
  let transcriptBytes = 0;
  for (let index = 0; index < REGISTERED; index++) {
    const { name, sessionId, worktreePath, transcriptPath: path } = addSyntheticAgent(world, store, { kind: 'scale', tag: 'b000', index, repo, baseCommit, projectDir });
    const isLive = index < LIVE;
    const writer = writeTranscript(path, { sessionId, cwd: worktreePath, seed: 5000 + index }, isLive ? LIVE_BYTES : IDLE_BYTES);
    transcriptBytes += writer.stats.bytes;
    if (isLive) {
      world.tmuxSync('new-session', '-d', '-s', `ringmaster-${name}`, '-c', worktreePath, "bash -c 'sleep 100000; :'");
      live.push({ path, writer });
    }
  }
  const sessions = world.tmuxSync('list-sessions', '-F', '#{session_name}').split('\n').filter(Boolean).length;
  store.close();
  if (sessions !== LIVE) throw new Error(`expected ${LIVE} tmux sessions, found ${sessions}`);
  log(`scale: ready in ${Math.round(performance.now() - prepared)} ms (${round(transcriptBytes / MB, 0)} MB of transcripts)`);
  return { config, live, transcriptBytes };
}

export async function benchScale(world, log) {
  let server;
  let plain;
  try {
    const { config, live, transcriptBytes } = makeScaleFleet(world, log);

    // The dashboard, in this process over the same store (before the server runs, so a slow server cannot hide it):
    // one look of its live feed (statuses, costs, last messages, pending; every row rendered), and the costs page's history.
    const dashboardStore = new Store(join(config.home, 'state.db'));
    const dashboardContext = { config, store: dashboardStore, git: new Git(), tmux: new Tmux(config.tmux.command, config.tmux.socket ?? null), env: world.env };
    const fleetLookMs = [];
    for (let rep = 0; rep < REPS + 1; rep++) {
      const started = performance.now();
      const view = await loadFleetView(dashboardContext);
      for (const agent of view.agents) fleetRow(agent, undefined);
      fleetLookMs.push(performance.now() - started);
    }
    const history = new SpendHistory(dashboardContext);
    let started = performance.now();
    await history.load();
    const spendColdMs = performance.now() - started;
    started = performance.now();
    await history.load();
    const spendWarmMs = performance.now() - started;
    dashboardStore.close();
    log(`scale: dashboard feed look (first reads every transcript) ${fleetLookMs.map((ms) => Math.round(ms)).join(', ')} ms; costs history cold ${Math.round(spendColdMs)} ms, again ${Math.round(spendWarmMs)} ms`);

    // The server as `ringmaster install` registers it (node with SERVE_NODE_FLAGS).
    server = await startIdle(world.env, SERVE_NODE_FLAGS);
    const idle = memory(server.pid);
    log(`scale: idle server ${idle.rssMB} MB (node ${SERVE_NODE_FLAGS.join(' ')})`);

    const cold = await server.call('read_agent_state');
    const reported = cold.result.structuredContent?.agents?.length ?? null;
    log(`scale: read_agent_state cold ${Math.round(cold.ms)} ms (${reported} agents)`);

    const listMs = [];
    const readMs = [];
    let listed = null;
    for (let rep = 0; rep < REPS; rep++) {
      const list = await server.call('list_agents');
      listMs.push(list.ms);
      listed = list.result.structuredContent?.agents?.filter((agent) => agent.process_alive).length ?? null;
      readMs.push((await server.call('read_agent_state')).ms);
    }
    log(`scale: list_agents ${listMs.map((ms) => Math.round(ms)).join(', ')} ms; read_agent_state ${readMs.map((ms) => Math.round(ms)).join(', ')} ms`);

    const incrementalMs = [];
    for (let rep = 0; rep < 2; rep++) {
      for (const agent of live) appendTranscript(agent.path, agent.writer, APPEND_BYTES);
      incrementalMs.push((await server.call('read_agent_state')).ms);
    }
    const after = memory(server.pid);
    log(`scale: read_agent_state after appends ${incrementalMs.map((ms) => Math.round(ms)).join(', ')} ms; server ${after.rssMB} MB (peak ${after.peakMB} MB)`);

    // The same server under plain node, beside the registered one: warm reads in turn (each one's first read fills its
    // caches from the store, so this one never parses a transcript from the start), for the flags' cost in time and memory.
    plain = await startIdle(world.env, []);
    const plainIdle = memory(plain.pid);
    await plain.call('read_agent_state');
    const flagged = { list: [], read: [] };
    const unflagged = { list: [], read: [] };
    for (let rep = 0; rep < REPS; rep++) {
      for (const [target, into] of [[server, flagged], [plain, unflagged]]) {
        into.list.push((await target.call('list_agents')).ms);
        into.read.push((await target.call('read_agent_state')).ms);
      }
    }
    for (const agent of live) appendTranscript(agent.path, agent.writer, APPEND_BYTES);
    await server.call('read_agent_state');
    await plain.call('read_agent_state');
    const flaggedAfter = memory(server.pid);
    const plainAfter = memory(plain.pid);
    log(
      `scale: warm reads in turn, node ${SERVE_NODE_FLAGS.join(' ')} / plain node: list_agents ${Math.round(summarize(flagged.list).median)} / ${Math.round(summarize(unflagged.list).median)} ms, ` +
        `read_agent_state ${Math.round(summarize(flagged.read).median)} / ${Math.round(summarize(unflagged.read).median)} ms; ` +
        `idle ${idle.rssMB} / ${plainIdle.rssMB} MB, after ${flaggedAfter.rssMB} / ${plainAfter.rssMB} MB (peak ${flaggedAfter.peakMB} / ${plainAfter.peakMB} MB)`,
    );

    await Promise.all([server.stop(), plain.stop()]);
    server = undefined;
    plain = undefined;

    // Where the time goes: the three parts of read_agent_state, one after the other, nothing new.
    const parts = new Store(join(config.home, 'state.db'));
    const context = { config, store: parts, git: new Git(), tmux: new Tmux(config.tmux.command, config.tmux.socket ?? null), env: world.env };
    const records = parts.listAgents();
    started = performance.now();
    await agentStatuses(context, records);
    const statusesMs = performance.now() - started;
    started = performance.now();
    for (const record of records) {
      const session = parts.claudeSession(record.id);
      if (session.transcriptPath) refreshTranscripts(parts, config, record.id, session.transcriptPath);
    }
    const transcriptsMs = performance.now() - started;
    started = performance.now();
    // Asked of git, every agent, a few at a time: what a cold read (or one with every worktree changed) costs.
    const slots = limiter(GitSummaryCache.CONCURRENCY);
    await Promise.all(records.map((record) => slots(() => gitSummary(context.git, record)).catch(() => undefined)));
    const gitMs = performance.now() - started;
    // The cache's warm path, as the server reads: a few stat calls per agent.
    const cache = new GitSummaryCache(context.git);
    await cache.summaries(records, () => 0, 0);
    started = performance.now();
    await cache.summaries(records, () => 0, 0);
    const gitCachedMs = performance.now() - started;
    // The whole read in this process, warm, and the tool around it (output schema, JSON text).
    await readAgentState(context);
    started = performance.now();
    await readAgentState(context);
    const readInProcessMs = performance.now() - started;
    // The tool's handler (overlaps, budgets on top of the read), warm, then its output schema and the JSON text apart.
    await readAgentStateTool.handle(context, {}, {});
    started = performance.now();
    const handled = await readAgentStateTool.handle(context, {}, {});
    const handleMs = performance.now() - started;
    started = performance.now();
    const output = readAgentStateTool.outputSchema.parse(handled);
    const parseMs = performance.now() - started;
    started = performance.now();
    const text = JSON.stringify(output);
    const stringifyMs = performance.now() - started;
    const toolInProcessMs = handleMs + parseMs + stringifyMs;
    log(`scale: in-process read_agent_state ${Math.round(readInProcessMs)} ms; the tool ${Math.round(toolInProcessMs)} ms: handler ${Math.round(handleMs)}, output schema ${Math.round(parseMs)}, JSON text ${Math.round(stringifyMs)} ms (${Math.round(text.length / 1024)} KB)`);
    log(`scale: in-process parts: statuses ${Math.round(statusesMs)} ms, transcripts ${Math.round(transcriptsMs)} ms, git summaries ${Math.round(gitMs)} ms uncached, ${gitCachedMs.toFixed(1)} ms from the cache`);
    // After appends, in this process (no monitor beside it): the whole tool, and the fleet's transcript fold alone.
    const afterAppendsMs = [];
    const foldAfterAppendsMs = [];
    for (let rep = 0; rep < 3; rep++) {
      for (const agent of live) appendTranscript(agent.path, agent.writer, APPEND_BYTES);
      started = performance.now();
      const folded = refreshFleetTranscripts(parts, config, records.flatMap((record) => {
        const session = parts.claudeSession(record.id);
        return session.transcriptPath ? [[record.id, session.transcriptPath]] : [];
      }));
      foldAfterAppendsMs.push(performance.now() - started);
      if (folded.size === 0) throw new Error('no transcripts folded');
      for (const agent of live) appendTranscript(agent.path, agent.writer, APPEND_BYTES);
      started = performance.now();
      JSON.stringify(await readAgentStateTool.handle(context, {}, {}));
      afterAppendsMs.push(performance.now() - started);
    }
    log(`scale: in-process after appends: the tool ${afterAppendsMs.map((ms) => Math.round(ms)).join(', ')} ms; the fleet's transcript fold alone ${foldAfterAppendsMs.map((ms) => Math.round(ms)).join(', ')} ms`);

    parts.close();

    return {
      registered: REGISTERED,
      live: LIVE,
      liveSeenByListAgents: listed,
      agentsReported: reported,
      transcriptMB: round(transcriptBytes / MB, 1),
      idleServerMB: idle.rssMB,
      readAgentStateColdMs: round(cold.ms, 1),
      listAgentsMs: summarize(listMs, 1),
      readAgentStateMs: summarize(readMs, 1),
      readAgentStateAfterAppendMs: summarize(incrementalMs, 1),
      appendedBytesPerLiveAgent: APPEND_BYTES,
      serverMB: after.rssMB,
      serverPeakMB: after.peakMB,
      serveNodeFlags: SERVE_NODE_FLAGS,
      plainNode: {
        idleServerMB: plainIdle.rssMB,
        serverMB: plainAfter.rssMB,
        serverPeakMB: plainAfter.peakMB,
        listAgentsMs: summarize(unflagged.list, 1),
        readAgentStateMs: summarize(unflagged.read, 1),
        registered: { serverMB: flaggedAfter.rssMB, listAgentsMs: summarize(flagged.list, 1), readAgentStateMs: summarize(flagged.read, 1) },
      },
      partsAfterAppendsMs: { tool: summarize(afterAppendsMs, 1), transcriptFold: summarize(foldAfterAppendsMs, 1) },
      partsMs: { readAgentState: round(readInProcessMs, 1), tool: round(toolInProcessMs, 1), toolHandler: round(handleMs, 1), toolOutputSchema: round(parseMs, 1), toolJsonText: round(stringifyMs, 1), statuses: round(statusesMs, 1), transcripts: round(transcriptsMs, 1), gitSummaries: round(gitMs, 1), gitSummariesCached: round(gitCachedMs, 2) },
      dashboardMs: { feedLookFirst: round(fleetLookMs[0], 1), feedLook: summarize(fleetLookMs.slice(1), 1), costsHistoryCold: round(spendColdMs, 1), costsHistoryAgain: round(spendWarmMs, 1) },
      reps: REPS,
    };
  } finally {
    await server?.stop();
    await plain?.stop();
  }
}

/** A server after initialize + tools/list, settled for half a second. */
export async function startIdle(env, nodeFlags) {
  const server = startServer(env, nodeFlags);
  await server.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-scale', version: '1' } });
  server.notify('notifications/initialized');
  await server.request('tools/list', {});
  await new Promise((resolve) => setTimeout(resolve, 500));
  return server;
}
