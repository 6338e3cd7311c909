#!/usr/bin/env node
/**
 * The gate's hook process over the 222 ordinary calls of
 * test/fixtures/ordinary-calls.json, against a `true` hook with the same
 * stdin, in one run: `node bench/gate-fast-path.mjs [rounds] [old-gate.sh]`
 * after `npm run build`.
 *
 * Each call runs the hook exactly as spawn configures it and Claude starts it
 * (childSettings: with the compiled helper, `gate-fast <node> gate.js
 * <worktrees> <spool>` in exec form, no shell; without it `sh -c '/bin/bash
 * gate.sh …'`; it records the payload too, the Claude payload on stdin, the
 * real Node slow path); `gate` is that hook
 * with the compiled helper (built here if missing) and no classifier service,
 * `service` the same helper with the egress gate's process up for its home
 * (what it cannot decide goes to POST /classify there before Node), `bash`
 * the same without a helper (gate.sh, as on a machine with no C compiler),
 * with no service either; `true` runs as
 * `sh -c true`. Rounds interleave the variants so machine noise hits them
 * alike. An optional older gate.sh (e.g. `git show <rev>:src/hooks/gate.sh >
 * /tmp/old-gate.sh`) is measured like `bash`, with today's gate.js behind it.
 * Reports medians per call (ms), the share decided without Node, and the
 * ratio to `true`. Nothing is asserted.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellQuote } from '../dist/src/adapters/tmux.js';
import { childSettings } from '../dist/src/fleet/spawn.js';
import { ensureEgress } from '../dist/src/gate/egress/client.js';
import { ensureGateHelper } from '../dist/src/gate/gate-helper.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? 3);
const oldGate = process.argv[3];
const dir = mkdtempSync(join(tmpdir(), 'gate-bench-'));
const home = join(dir, 'ringmaster');
const worktreeRoot = join(home, 'worktrees');
const worktree = join(worktreeRoot, 'app', 'fix-login');
mkdirSync(worktree, { recursive: true });
const calls = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'ordinary-calls.json'), 'utf8').replaceAll('${WORKTREE}', worktree));
const env = { PATH: process.env.PATH, HOME: dir, RINGMASTER_HOME: home, RINGMASTER_WORKTREE_ROOT: worktreeRoot, RINGMASTER_AGENT_ID: 'ag_bench', RINGMASTER_AGENT_NAME: 'bench' };
// The variants without the service run with a home of their own, where no egress gate listens;
// the worktrees stay where they are (RINGMASTER_WORKTREE_ROOT), so every variant sees the same calls.
const quietHome = join(dir, 'ringmaster-no-service');
mkdirSync(quietHome, { recursive: true });
const quietEnv = { ...env, RINGMASTER_HOME: quietHome };
const servicePid = await ensureEgress(home, { PATH: process.env.PATH, HOME: dir });
// As spawn configures it: the gate also records the payload into the agent's spool folder.
const spool = join(dir, 'spool');
mkdirSync(spool, { recursive: true });
const helper = ensureGateHelper(home);
if (!helper) throw new Error('the compiled gate helper could not be built here (no C compiler?)');
/** The gate hook as childSettings writes it: `{ command, args }` (exec form) or `{ command }` (a shell command). */
const gateHook = (gateHelper) => {
  const { command, args } = childSettings(spool, worktreeRoot, {}, gateHelper).hooks.PreToolUse[0].hooks[0];
  return { command, args };
};
/** The hook with each word (the shell command, or the exec form's command and arguments) passed through `change`. */
const changed = (hook, change) => ({ command: change(hook.command), args: hook.args?.map(change) });
const gateShPath = join(ROOT, 'src', 'hooks', 'gate.sh');
const variants = { true: { command: 'true' }, gate: gateHook(helper), service: gateHook(helper), bash: gateHook(undefined) };
const envOf = (name) => (name === 'service' ? env : quietEnv);
if (oldGate) variants.old = changed(variants.bash, (text) => text.replaceAll(shellQuote(gateShPath), shellQuote(oldGate)));
// Node replaced by `false`: a call that reaches the full check prints a deny.
const fastOnly = (hook) => changed(hook, (text) => (text === process.execPath ? '/bin/false' : text.replaceAll(shellQuote(process.execPath), '/bin/false')));

/** Starts a hook as Claude does: the exec form directly, a command string with `sh -c`. */
function run(hook, stdin, runEnv = quietEnv) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = hook.args ? spawn(hook.command, hook.args, { env: runEnv, stdio: ['pipe', 'pipe', 'ignore'] }) : spawn('sh', ['-c', hook.command], { env: runEnv, stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, stdout }));
  });
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const round2 = (value) => Math.round(value * 100) / 100;

try {
  const payloads = calls.map((call) => JSON.stringify({ session_id: 'sess', transcript_path: join(dir, 't.jsonl'), cwd: worktree, prompt_id: 'p', permission_mode: 'acceptEdits', effort: 'medium', hook_event_name: 'PreToolUse', tool_name: call.tool_name, tool_input: call.tool_input, tool_use_id: 'toolu_1' }));
  // Which path decides each call, for each gate.
  const fastPath = {};
  for (const name of Object.keys(variants).filter((name) => name !== 'true')) {
    fastPath[name] = [];
    for (const payload of payloads) fastPath[name].push((await run(fastOnly(variants[name]), payload, envOf(name))).stdout === '');
  }
  const times = Object.fromEntries(Object.keys(variants).map((name) => [name, calls.map(() => [])]));
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < payloads.length; index++) {
      const names = Object.keys(variants);
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + round + index) % names.length];
        const result = await run(variants[name], payloads[index], envOf(name));
        if (name !== 'true' && result.stdout !== '') throw new Error(`${name} held an ordinary call: ${calls[index].tool_input.command ?? calls[index].tool_name}: ${result.stdout}`);
        times[name][index].push(result.ms);
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  const perCall = Object.fromEntries(Object.entries(times).map(([name, lists]) => [name, lists.map(median)]));
  const trueMedian = median(perCall.true);
  const report = { calls: calls.length, rounds, trueHookMs: round2(trueMedian) };
  for (const name of Object.keys(variants).filter((name) => name !== 'true')) {
    const fast = perCall[name].filter((_, index) => fastPath[name][index]);
    const slow = perCall[name].filter((_, index) => !fastPath[name][index]);
    const ratios = perCall[name].map((ms, index) => ms / perCall.true[index]);
    report[name] = {
      fastShare: round2(fast.length / calls.length),
      medianMs: round2(median(perCall[name])),
      fastMedianMs: fast.length ? round2(median(fast)) : null,
      slowMedianMs: slow.length ? round2(median(slow)) : null,
      medianRatioToTrue: round2(median(perCall[name]) / trueMedian),
      callsWithin2xOfTrue: round2(ratios.filter((ratio) => ratio <= 2).length / calls.length),
      slowCalls: calls.filter((_, index) => !fastPath[name][index]).map((call) => call.tool_input.command ?? call.tool_name),
    };
  }
  console.log(JSON.stringify(report, null, 2));
} finally {
  process.kill(servicePid, 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
