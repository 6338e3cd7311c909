/**
 * Benchmark 3, hooks: what a hook costs per tool call of a child.
 *
 * One `claude -p go --output-format json --permission-mode acceptEdits
 * --allowedTools Bash` turn in a temp git repo, against a scripted model that
 * makes 20 Bash calls (`true`) one after the other and then ends the turn.
 * The same turn runs with different `--settings` files:
 *   none      no hooks (the baseline)
 *   true      PreToolUse + PostToolUse command hooks running `true`
 *   recorder  PreToolUse + PostToolUse running ringmaster's recorder exactly as
 *             spawn configures it (the recorder entries of childSettings)
 *   gate      PreToolUse running only the permission gate, as spawn configures
 *             it (it also records the payload); `true` is an ordinary call, so
 *             this is the gate's fast path
 *   all       childSettings unchanged: the recorder on every other event
 *             (PostToolUse only for Agent/Task calls, so none here) and the
 *             recording gate on PreToolUse, as a real child gets it (the
 *             compiled helper when this machine can build it, each hook in
 *             exec form: Claude starts it with no shell)
 *   turn      `all` without SessionStart and SessionEnd: what one turn of an
 *             interactive child pays (those two fire once per session, at its
 *             start and exit; `claude -p` wraps a session around its one turn,
 *             so `all` counts them in every run)
 *   allBash   the same with the bash scripts (no C compiler)
 * One warm-up run, then RUNS rounds; each round runs every setting once, in a
 * rotating order. Medians of the wall time of the whole `claude -p` process,
 * and, where /usr/bin/time exists, of its CPU time with every process it
 * waited for (Claude, the hooks, the Bash commands): on a shared machine the
 * wall time swings with the load, the CPU time much less.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childSettings } from '../dist/src/fleet/spawn.js';
import { ensureGateHelper } from '../dist/src/gate/gate-helper.js';
import { CLAUDE_BIN } from './world.mjs';
import { claudeEnv, isMainConversation, startModelServer, toolResultCount } from './model-server.mjs';
import { ratio, round, summarize } from './stats.mjs';

const TOOL_CALLS = 20;
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const RUNS = 7;

export async function benchHooks(world, log) {
  const model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok' };
    const done = toolResultCount(body);
    if (done >= TOOL_CALLS) return { text: `done after ${done} calls` };
    return { toolUse: { name: 'Bash', input: { command: 'true', description: `call ${done + 1}` } } };
  });
  try {
    const repo = world.makeRepo('hooks');
    const dir = join(world.root, 'hooks-bench');
    mkdirSync(dir, { recursive: true });
    const spool = join(dir, 'spool');
    mkdirSync(spool, { recursive: true });
    const worktreeRoot = join(dir, 'worktrees');
    mkdirSync(worktreeRoot, { recursive: true });
    // As spawn configures it: the gate hook runs the compiled fast path when this machine can build it.
    const gateHelper = ensureGateHelper(join(dir, 'ringmaster'));
    const full = childSettings(spool, worktreeRoot, {}, gateHelper);
    // The gate records the PreToolUse payload itself (its spool argument); the recorder runs for every other event.
    const [gateHook] = full.hooks.PreToolUse[0].hooks;
    const [recorderHook] = full.hooks.PostToolUse[0].hooks;
    const trueHook = [{ hooks: [{ type: 'command', command: 'true', timeout: 10 }] }];
    const settings = {
      none: {},
      true: { hooks: { PreToolUse: trueHook, PostToolUse: trueHook } },
      recorder: { hooks: { PreToolUse: [{ hooks: [recorderHook] }], PostToolUse: [{ hooks: [recorderHook] }] } },
      gate: { hooks: { PreToolUse: [{ hooks: [gateHook] }] } },
      all: full,
      turn: { ...full, hooks: Object.fromEntries(Object.entries(full.hooks).filter(([event]) => event !== 'SessionStart' && event !== 'SessionEnd')) },
      // The same without the compiled helper: the bash scripts, as on a machine with no C compiler (and as before issue 13's helper).
      allBash: childSettings(spool, worktreeRoot),
    };
    const files = {};
    for (const [name, value] of Object.entries(settings)) {
      files[name] = join(dir, `settings-${name}.json`);
      writeFileSync(files[name], `${JSON.stringify(value, null, 2)}\n`);
    }
    // The gate reads the store and policy under RINGMASTER_HOME, as in a real child.
    const env = { ...world.env, ...claudeEnv(model), RINGMASTER_HOME: join(dir, 'ringmaster'), RINGMASTER_WORKTREE_ROOT: worktreeRoot };

    const runOnce = async (name) => {
      rmSync(spool, { recursive: true, force: true });
      mkdirSync(spool, { recursive: true });
      const before = model.requests.length;
      const claudeArgs = ['-p', '--output-format', 'json', '--permission-mode', 'acceptEdits', '--settings', files[name], '--allowedTools', 'Bash', '--', 'go'];
      const cpuFile = join(dir, 'cpu.txt');
      rmSync(cpuFile, { force: true });
      const result = TIME
        ? await world.run(TIME, ['-f', '%U %S', '-o', cpuFile, CLAUDE_BIN, ...claudeArgs], { cwd: repo, env, timeoutMs: 120_000 })
        : await world.run(CLAUDE_BIN, claudeArgs, { cwd: repo, env, timeoutMs: 120_000 });
      const cpuMs = TIME && existsSync(cpuFile) ? readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').reduce((sum, seconds) => sum + Number(seconds) * 1000, 0) : NaN;
      const mainRequests = model.requests.slice(before).filter((request) => request.main).length;
      let output;
      try {
        output = JSON.parse(result.stdout);
      } catch {
        output = undefined;
      }
      const problems = [];
      if (result.code !== 0) problems.push(`exit ${result.code ?? result.signal}: ${result.stderr.trim().slice(-500)}`);
      if (!output || output.is_error) problems.push(`bad result: ${result.stdout.slice(0, 300)}`);
      if (mainRequests !== TOOL_CALLS + 1) problems.push(`expected ${TOOL_CALLS + 1} model requests, saw ${mainRequests}`);
      const spooled = readdirSync(spool).filter((file) => file.endsWith('.json')).length;
      if (name === 'recorder' && spooled !== 2 * TOOL_CALLS) problems.push(`recorder spooled ${spooled} events, expected ${2 * TOOL_CALLS}`);
      if (name === 'gate' && spooled !== TOOL_CALLS) problems.push(`the gate recorded ${spooled} events, expected ${TOOL_CALLS}`);
      // Every call's PreToolUse, and the turn's own events (prompt, Stop); no PostToolUse for Bash (see childSettings).
      if ((name === 'all' || name === 'turn' || name === 'allBash') && spooled < TOOL_CALLS + 2) problems.push(`all hooks spooled ${spooled} events, expected at least ${TOOL_CALLS + 2}`);
      if (problems.length) throw new Error(`hooks bench, settings "${name}": ${problems.join('; ')}`);
      return { ms: result.ms, cpuMs, spooled };
    };

    log('hooks: warm-up run');
    await runOnce('none');
    const names = Object.keys(settings);
    const times = Object.fromEntries(names.map((name) => [name, []]));
    const cpu = Object.fromEntries(names.map((name) => [name, []]));
    const spooled = {};
    for (let round_ = 0; round_ < RUNS; round_++) {
      const order = names.map((_, index) => names[(index + round_) % names.length]);
      for (const name of order) {
        const run = await runOnce(name);
        times[name].push(run.ms);
        cpu[name].push(run.cpuMs);
        spooled[name] = run.spooled;
      }
      log(`hooks: round ${round_ + 1}: ${names.map((name) => `${name} ${Math.round(times[name][round_])} ms`).join(', ')}`);
    }

    const stats = Object.fromEntries(names.map((name) => [name, summarize(times[name], 1)]));
    const cpuStats = Object.fromEntries(names.map((name) => [name, summarize(cpu[name], 1)]));
    const base = stats.none.median;
    const perCall = (name) => round((stats[name].median - base) / TOOL_CALLS, 2);
    return {
      toolCallsPerRun: TOOL_CALLS,
      runs: RUNS,
      wallMs: stats,
      overheadPerToolCallMs: Object.fromEntries(names.filter((name) => name !== 'none').map((name) => [name, perCall(name)])),
      recorderOverTrue: ratio(perCall('recorder'), perCall('true')),
      // The `true` setting runs two hooks per call, the gate one: compare per hook.
      gateOverTruePerHook: ratio(perCall('gate'), perCall('true') / 2),
      wallRatioAgainstNone: Object.fromEntries(names.filter((name) => name !== 'none').map((name) => [name, ratio(stats[name].median, base)])),
      cpuMs: TIME ? cpuStats : null,
      cpuRatioAgainstNone: TIME ? Object.fromEntries(names.filter((name) => name !== 'none').map((name) => [name, ratio(cpuStats[name].median, cpuStats.none.median)])) : null,
      eventsSpooledPerRun: { recorder: spooled.recorder, all: spooled.all },
      recorderHook: JSON.stringify(recorderHook).replaceAll(spool, '<spool>'),
      gateHook: JSON.stringify(gateHook).replaceAll(spool, '<spool>'),
      gateHelper: gateHelper ? 'compiled' : 'none (gate.sh)',
    };
  } finally {
    await model.close();
  }
}
