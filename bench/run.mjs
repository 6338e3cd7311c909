#!/usr/bin/env node
/**
 * ringmaster benchmarks: `npm run bench` (builds, then runs this file), or
 * `node bench/run.mjs [state] [delivery] [hooks] [scale] …` after `npm run build`.
 *
 *   state     refreshTranscripts / read_agent_state over 20 agents with 20 MB transcripts
 *   delivery  sendPrompt to a verified delivery into one real Claude Code child
 *   hooks     hook overhead per tool call of a `claude -p` turn with 20 Bash calls
 *   gate      the gate's hook process on each of the 222 ordinary calls of test/fixtures/ordinary-calls.json
 *             against a `true` hook with the same stdin (bench/gate-fast-path.mjs)
 *   wake      wait_for_agents: from a Stop event to the wait returning, against reading the event file
 *   egress    the egress gate: added latency per connection, 100 MB through a tunnel, spawn with the sandbox against without
 *   scale     100 registered agents, 30 live (tmux sessions, worktrees, transcripts): list_agents and read_agent_state
 *             of all through the built server over stdio, and the server's memory
 *   idle      the server's memory after initialize + tools/list (answered by the stdio front, without the MCP SDK), as
 *             registered, after one tool call, and with plain node, against a bare
 *             node process and the MCP SDK alone (bench/idle.mjs; about 30 s)
 *
 * Every figure is a median over several runs, and each has a baseline
 * measured in the same run, so the ratios mean something on any machine.
 * Nothing about timing is asserted: a benchmark fails only when it could not
 * do what it measures (e.g. a prompt was not verified as delivered).
 * Results go to .bench/results.json (gitignored) and a table to stdout.
 *
 * Everything runs in a throwaway world (bench/world.mjs): temp HOME and
 * RINGMASTER_HOME, a private tmux socket, temp repos, a scripted model server
 * on 127.0.0.1; all of it is removed at the end, also on failure or Ctrl-C.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CLAUDE_BIN, ROOT, createWorld } from './world.mjs';
import { fmt, table } from './stats.mjs';

const ALL = ['state', 'delivery', 'hooks', 'gate', 'wake', 'egress', 'scale', 'idle'];
const selected = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
for (const name of selected) {
  if (!ALL.includes(name)) {
    console.error(`bench: unknown benchmark "${name}"; choose from ${ALL.join(', ')}`);
    process.exit(2);
  }
}
const toRun = selected.length ? ALL.filter((name) => selected.includes(name)) : ALL;

if (!existsSync(join(ROOT, 'dist', 'src', 'fleet', 'spawn.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first (or `npm run bench`, which builds).');
  process.exit(2);
}
if ((toRun.includes('delivery') || toRun.includes('hooks')) && !existsSync(CLAUDE_BIN)) {
  console.error(`bench: ${CLAUDE_BIN} is missing; run \`npm ci\` (the delivery and hooks benchmarks need the real Claude Code CLI).`);
  process.exit(2);
}

const world = createWorld();
// Anything the benchmarks start without an explicit env (git through execa, tmux) sees the temp world too.
process.env.HOME = world.home;
process.env.RINGMASTER_HOME = world.ringmasterHome;
process.env.RINGMASTER_TMUX_SOCKET = world.socket;
for (const key of ['GIT_AUTHOR_NAME', 'GIT_COMMITTER_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_EMAIL', 'GIT_CONFIG_NOSYSTEM']) process.env[key] = world.env[key];
for (const key of ['TMUX', 'TMUX_PANE', 'CLAUDECODE']) delete process.env[key];

process.on('exit', () => world.cleanup());
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, cleaning up`);
    world.cleanup();
    process.exit(code);
  });
}

const started = Date.now();
const log = (message) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);

async function claudeVersion() {
  if (!existsSync(CLAUDE_BIN)) return null;
  const result = await world.run(CLAUDE_BIN, ['--version'], { timeoutMs: 30_000 });
  return result.code === 0 ? result.stdout.trim() : null;
}

const results = {
  startedAt: new Date(started).toISOString(),
  machine: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memoryGB: Math.round(totalmem() / 2 ** 30) },
  claudeVersion: null,
  benchmarks: {},
};
let failed = false;

try {
  results.claudeVersion = await claudeVersion();
  const modules = {
    state: async () => (await import('./state.mjs')).benchState,
    delivery: async () => (await import('./delivery.mjs')).benchDelivery,
    hooks: async () => (await import('./hooks.mjs')).benchHooks,
    gate: async () => async (_world, log) => {
      log('gate: 222 ordinary calls x 3 rounds, gate against `true`');
      const result = await world.run(process.execPath, [join(ROOT, 'bench', 'gate-fast-path.mjs'), '3'], { timeoutMs: 1_800_000 });
      if (result.code !== 0) throw new Error(`gate-fast-path.mjs failed: ${result.stderr.slice(-500)}`);
      const report = JSON.parse(result.stdout);
      const cut = (entry) => entry && { ...entry, slowCalls: entry.slowCalls.slice(0, 20) };
      return { ...report, gate: cut(report.gate), service: cut(report.service), bash: cut(report.bash) };
    },
    wake: async () => (await import('./wake.mjs')).benchWake,
    egress: async () => (await import('./egress.mjs')).benchEgress,
    scale: async () => (await import('./scale.mjs')).benchScale,
    idle: async () => (await import('./idle.mjs')).benchIdle,
  };
  for (const name of toRun) {
    const benchStarted = Date.now();
    try {
      const bench = await modules[name]();
      results.benchmarks[name] = { ...(await bench(world, log)), seconds: Math.round((Date.now() - benchStarted) / 100) / 10 };
    } catch (error) {
      failed = true;
      results.benchmarks[name] = { error: error instanceof Error ? error.message : String(error), seconds: Math.round((Date.now() - benchStarted) / 100) / 10 };
      log(`${name}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
} finally {
  world.cleanup();
}
results.totalSeconds = Math.round((Date.now() - started) / 100) / 10;

const outDir = join(ROOT, '.bench');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, 'results.json');
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);

// ---------------------------------------------------------------------------
// The human-readable summary
// ---------------------------------------------------------------------------
const rows = [['benchmark', 'median', 'baseline (same run)', 'ratio', 'note']];
const failedRow = (name) => rows.push([`${name}`, 'FAILED', '', '', results.benchmarks[name].error.split('\n')[0].slice(0, 100)]);

const state = results.benchmarks.state;
if (state?.error) failedRow('state');
else if (state) {
  rows.push([
    `state: first pass, ${state.agents} x ${fmt(state.totalMB / state.agents, ' MB', 0)}`,
    `${fmt(state.firstPassMs.median, ' ms', 0)} (${fmt(state.firstPassMBps, ' MB/s', 0)})`,
    `readFile ${fmt(state.readFileMs.median, ' ms', 0)} (${fmt(state.readFileMBps, ' MB/s', 0)})`,
    `${fmt(state.firstPassOverReadFile, 'x', 1)}`,
    'refreshTranscripts, no stored offsets',
  ]);
  const appendedKB = state.incrementalAppendedBytesPerRep.reduce((a, b) => a + b, 0) / state.incrementalAppendedBytesPerRep.length / state.agents / 1024;
  rows.push([`state: incremental pass, ${state.agents} agents`, fmt(state.incrementalMs.median, ' ms', 1), '', '', `~${appendedKB.toFixed(0)} KB appended to each`]);
  rows.push([`state: read_agent_state, ${state.agents} agents`, fmt(state.readAgentStateAll20Ms.median, ' ms', 1), '', '', 'nothing new; status + transcript + git']);
}

const delivery = results.benchmarks.delivery;
if (delivery?.error) failedRow('delivery');
else if (delivery) {
  for (const [label, size] of Object.entries(delivery.sizes)) {
    rows.push([
      `delivery: send_prompt ${label} (${size.bytes} B)`,
      fmt(size.sendPromptMs.median, ' ms', 0),
      `bare paste ${fmt(size.barePasteMs.median, ' ms', 1)}`,
      fmt(size.sendPromptOverBarePaste, 'x', 1),
      `to verified delivery (UserPromptSubmit); ${fmt(size.sendPromptOverClaudeFloor, 'x', 2)} the floor below`,
    ]);
    rows.push([
      `delivery: paste + Enter to Claude's hook ${label}`,
      `${fmt(size.pasteEnterToHookFileReadMs.median, ' ms', 0)}`,
      `bare paste ${fmt(size.barePasteMs.median, ' ms', 1)}`,
      fmt(size.claudeFloorOverBarePaste, 'x', 1),
      `no ringmaster: the floor (${fmt(size.pasteEnterToHookMs.median, ' ms', 0)} to the hook's start)`,
    ]);
  }
}

const hooks = results.benchmarks.hooks;
if (hooks?.error) failedRow('hooks');
else if (hooks) {
  const base = hooks.wallMs.none.median;
  rows.push([`hooks: claude -p, ${hooks.toolCallsPerRun} Bash calls, no hooks`, fmt(base, ' ms', 0), '', '', 'baseline']);
  const labels = { true: 'Pre+Post `true`', recorder: 'Pre+Post recorder', gate: 'PreToolUse gate (ordinary call)', all: 'what a child gets: gate + recorder (no Post for Bash)', turn: "a child's turn: the same without the once-per-session SessionStart/End", allBash: 'the same in bash (no compiler)' };
  for (const key of Object.keys(labels).filter((key) => hooks.wallMs[key])) {
    rows.push([
      `hooks: ${labels[key]}`,
      fmt(hooks.wallMs[key].median, ' ms', 0),
      `no hooks ${fmt(base, ' ms', 0)}`,
      fmt(hooks.wallRatioAgainstNone[key], 'x', 2),
      `+${fmt(hooks.overheadPerToolCallMs[key], ' ms', 2)} per tool call${hooks.cpuRatioAgainstNone ? `; CPU ${fmt(hooks.cpuRatioAgainstNone[key], 'x', 2)} of no hooks' ${fmt(hooks.cpuMs.none.median, ' ms', 0)}` : ''}`,
    ]);
  }
  rows.push(['hooks: recorder / true, per tool call', fmt(hooks.recorderOverTrue, 'x', 2), '', '', '(c)/(b) of the per-call overheads']);
  rows.push(['hooks: gate / one `true` hook, per tool call', fmt(hooks.gateOverTruePerHook, 'x', 2), '', '', 'gate fast path against a no-op hook']);
}

const gate = results.benchmarks.gate;
if (gate?.error) failedRow('gate');
else if (gate) {
  for (const [key, label] of [['gate', 'compiled fast path'], ['service', 'compiled, classifier service up'], ['bash', 'gate.sh, no compiler']]) {
    if (!gate[key]) continue;
    rows.push([
      `gate (${label}): ${gate.calls} ordinary calls`,
      fmt(gate[key].medianMs, ' ms', 2),
      `\`true\` hook ${fmt(gate.trueHookMs, ' ms', 2)}`,
      fmt(gate[key].medianRatioToTrue, 'x', 2),
      `${Math.round(gate[key].callsWithin2xOfTrue * 100)}% of calls within 2x; ${Math.round(gate[key].fastShare * 100)}% decided without Node (fast ${fmt(gate[key].fastMedianMs, ' ms', 2)}, Node ${fmt(gate[key].slowMedianMs, ' ms', 0)})`,
    ]);
  }
}

const wake = results.benchmarks.wake;
if (wake?.error) failedRow('wake');
else if (wake) {
  rows.push([
    `wake: wait_for_agents after a Stop event (${wake.reps} runs)`,
    `${fmt(wake.wakeMs.median, ' ms', 1)} (p95 ${fmt(wake.wakeP95Ms, ' ms', 1)})`,
    `read the event file ${fmt(wake.readEventFileMs.median, ' ms', 3)}`,
    fmt(wake.wakeMs.median / wake.readEventFileMs.median, 'x', 0),
    `file watch; fallback poll ${wake.fallbackPollMs} ms`,
  ]);
}

const egress = results.benchmarks.egress;
if (egress?.error) failedRow('egress');
else if (egress) {
  rows.push(['egress: HTTP request, fresh connection, via the proxy', fmt(egress.requestMs.viaProxy.median, ' ms', 2), `direct ${fmt(egress.requestMs.direct.median, ' ms', 2)}`, fmt(egress.requestMs.viaProxy.median / egress.requestMs.direct.median, 'x', 2), `+${fmt(egress.addedLatencyMs.proxy, ' ms', 2)} per connection`]);
  rows.push(['egress: HTTP request through a CONNECT tunnel', fmt(egress.requestMs.viaTunnel.median, ' ms', 2), `direct ${fmt(egress.requestMs.directRaw.median, ' ms', 2)}`, fmt(egress.requestMs.viaTunnel.median / egress.requestMs.directRaw.median, 'x', 2), `+${fmt(egress.addedLatencyMs.tunnel, ' ms', 2)} per connection`]);
  rows.push(['egress: 100 MB download through a tunnel', fmt(egress.downloadMBps.viaTunnel.median, ' MB/s', 0), `direct ${fmt(egress.downloadMBps.direct.median, ' MB/s', 0)}`, fmt(egress.throughputRatio, 'x', 2), 'throughput, tunnel / direct']);
  rows.push(['egress: spawn, sandboxed (srt + gate)', fmt(egress.spawnMs.sandboxed.median, ' ms', 0), `unenforced ${fmt(egress.spawnMs.unenforced.median, ' ms', 0)}`, fmt(egress.spawnRatio, 'x', 2), 'custom agent, to started']);
}

const scale = results.benchmarks.scale;
if (scale?.error) failedRow('scale');
else if (scale) {
  const fleet = `${scale.registered} agents, ${scale.live} live`;
  rows.push([`scale: list_agents, ${fleet}`, fmt(scale.listAgentsMs.median, ' ms', 1), 'goal < 100 ms', '', `${scale.liveSeenByListAgents} seen alive; through the server over stdio`]);
  rows.push([`scale: read_agent_state of all, ${fleet}`, fmt(scale.readAgentStateMs.median, ' ms', 1), 'goal < 100 ms', '', `nothing new; cold ${fmt(scale.readAgentStateColdMs, ' ms', 0)} (${scale.transcriptMB} MB of transcripts)`]);
  rows.push([`scale: read_agent_state of all, after appends`, fmt(scale.readAgentStateAfterAppendMs.median, ' ms', 1), 'goal < 100 ms', '', `~${Math.round(scale.appendedBytesPerLiveAgent / 1024)} KB new in each live transcript`]);
  rows.push([`scale: read_agent_state parts, in-process`, fmt(scale.partsMs.gitSummaries, ' ms', 0), '', '', `git summaries uncached (cached ${fmt(scale.partsMs.gitSummariesCached, ' ms', 1)}); statuses ${fmt(scale.partsMs.statuses, ' ms', 0)}, transcripts ${fmt(scale.partsMs.transcripts, ' ms', 1)}`]);
  rows.push([`scale: server memory (VmRSS)`, fmt(scale.serverMB, ' MB', 0), `idle ${fmt(scale.idleServerMB, ' MB', 0)}`, '', `goal < 120 MB; peak ${fmt(scale.serverPeakMB, ' MB', 0)}; node ${scale.serveNodeFlags.join(' ')}`]);
  const plain = scale.plainNode;
  rows.push([
    `scale: plain node beside it, warm reads in turn`,
    fmt(plain.serverMB, ' MB', 0),
    `with the flags ${fmt(plain.registered.serverMB, ' MB', 0)}`,
    fmt(plain.registered.readAgentStateMs.median / plain.readAgentStateMs.median, 'x', 2),
    `read_agent_state ${fmt(plain.registered.readAgentStateMs.median, ' ms', 0)} with the flags / ${fmt(plain.readAgentStateMs.median, ' ms', 0)} plain; idle plain ${fmt(plain.idleServerMB, ' MB', 0)}`,
  ]);
}

const idle = results.benchmarks.idle;
if (idle?.error) failedRow('idle');
else if (idle) {
  rows.push([`idle: server as registered (${idle.flags.join(' ')})`, fmt(idle.registered.rssMB.median, ' MB', 1), `SDK alone ${fmt(idle.sdkOnlyRegisteredFlags.rssMB.median, ' MB', 1)}`, '', `goal < 60 MB; anonymous ${fmt(idle.registered.anonMB.median, ' MB', 1)} (SDK alone ${fmt(idle.sdkOnlyRegisteredFlags.anonMB.median, ' MB', 1)})`]);
  rows.push([`idle: server as registered, after one tool call`, fmt(idle.registeredAfterCall.rssMB.median, ' MB', 1), '', '', 'the call loads the MCP SDK and the tools (the server in use)']);
  rows.push([`idle: server with plain node`, fmt(idle.plainNode.rssMB.median, ' MB', 1), `SDK alone ${fmt(idle.sdkOnlyPlainNode.rssMB.median, ' MB', 1)}`, '', `bare node process ${fmt(idle.bareNode.rssMB.median, ' MB', 1)}`]);
}

console.log(`\nringmaster benchmarks (${results.machine.cpus} CPUs, Node ${results.machine.node}, ${results.claudeVersion ?? 'no Claude Code'}), ${results.totalSeconds} s\n`);
console.log(table(rows));
console.log(`\nResults: ${outFile}`);
process.exitCode = failed ? 1 : 0;
