/**
 * Benchmark 2, delivery: how long send_prompt takes to a verified delivery.
 *
 * One real Claude Code child is spawned with spawnAgent (in a temp repo, on
 * the private tmux socket, against the scripted model, which answers every
 * prompt with a short text at once). Once it is idle, sendPrompt is timed
 * until it returns with `delivered === true` (Claude's UserPromptSubmit hook
 * showed the very text), for a 1 KB and a ~100 KB prompt (just under the
 * 100,000-byte threshold past which the text goes through a file), RUNS
 * times each, waiting for idle between runs.
 *
 * Baseline, same run and tmux server: a bare `tmux load-buffer` +
 * `paste-buffer -p` of the same text into a scratch pane running
 * `cat > /dev/null`.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../dist/src/config.js';
import { createContext } from '../dist/src/core/context.js';
import { spawnAgent } from '../dist/src/fleet/spawn.js';
import { sendPrompt } from '../dist/src/fleet/prompt.js';
import { agentStatus, findLiveAgent } from '../dist/src/state/state.js';
import { sleep } from './world.mjs';
import { claudeEnv, startModelServer } from './model-server.mjs';
import { ratio, summarize } from './stats.mjs';

const RUNS = 5;
const SIZES = [
  { label: '1KB', bytes: 1024 },
  { label: '100KB', bytes: 99_900 },
];
const AGENT = 'bench-delivery';
const SCRATCH = 'bench-scratch';

/**
 * Printable multi-line text of exactly `bytes` bytes (ASCII), unique per call,
 * not a slash command. No tabs: Claude Code 2.1.329 turns a pasted tab into 4
 * spaces, so a prompt with tabs is never verified as delivered.
 */
function promptText(bytes, tag) {
  const head = `Benchmark prompt ${tag}. Please answer briefly.\n`;
  const words = ['alpha', 'beta', 'gamma', 'delta', 'quote"d', "it's", '$HOME', '`tick`', 'back\\slash', 'end.'];
  let body = '';
  let line = '';
  let index = 0;
  while (head.length + body.length < bytes) {
    line += `${words[index++ % words.length]} `;
    if (line.length > 70) {
      body += `${line.trimEnd()}\n`;
      line = '';
    }
  }
  const text = `${head}${body}${line}`.slice(0, bytes - 1);
  return `${text.trimEnd().padEnd(bytes - 1, 'x')}z`;
}

export async function benchDelivery(world, log) {
  const model = await startModelServer(() => ({ text: 'ok, noted.' }));
  const env = { ...world.env, ...claudeEnv(model) };
  const context = createContext(env, loadConfig(env));
  try {
    const repo = world.makeRepo('delivery');
    log('delivery: spawning one Claude child');
    const spawnStarted = performance.now();
    const spawned = await spawnAgent(context, { repo, task: 'Say ok.', name: AGENT, extraArgs: ['--permission-mode', 'acceptEdits'] });
    const spawnMs = performance.now() - spawnStarted;
    if (spawned.taskSubmitted !== true) throw new Error(`the child did not confirm its task: ${spawned.notes.join(' | ')}`);

    const waitIdle = async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      let last;
      while (Date.now() < deadline) {
        last = await agentStatus(context, findLiveAgent(context, AGENT));
        if (last.state === 'idle') return last;
        if (last.state === 'exited') throw new Error(`the child exited: ${last.reason}`);
        await sleep(100);
      }
      throw new Error(`the child was not idle within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    };
    await waitIdle();
    log(`delivery: child idle ${Math.round(performance.now() - spawnStarted)} ms after spawn started`);

    const results = {};
    for (const size of SIZES) {
      const times = [];
      for (let run = 0; run < RUNS; run++) {
        await waitIdle();
        const text = promptText(size.bytes, `${size.label}-${run}-${randomBytes(4).toString('hex')}`);
        if (Buffer.byteLength(text) !== size.bytes) throw new Error(`prompt is ${Buffer.byteLength(text)} bytes, wanted ${size.bytes}`);
        const started = performance.now();
        const sent = await sendPrompt(context, { name: AGENT, text, timeoutMs: 60_000 });
        const ms = performance.now() - started;
        if (sent.delivered !== true) throw new Error(`sendPrompt (${size.label}, run ${run + 1}) was not verified: ${JSON.stringify(sent)}`);
        if (sent.method !== 'paste') throw new Error(`sendPrompt (${size.label}) used ${sent.method}, expected paste`);
        times.push(ms);
      }
      results[size.label] = { bytes: size.bytes, sendPromptMs: summarize(times, 1) };
      log(`delivery: sendPrompt ${size.label}: ${times.map((ms) => Math.round(ms)).join(', ')} ms`);
    }

    // Baseline: bare load-buffer + paste-buffer into `cat > /dev/null` on the same tmux server.
    world.tmuxSync('new-session', '-d', '-s', SCRATCH, '-x', '200', '-y', '50', 'cat > /dev/null');
    for (const size of SIZES) {
      const times = [];
      for (let run = 0; run < RUNS; run++) {
        const text = promptText(size.bytes, `${size.label}-baseline-${run}`);
        const buffer = `bench-${randomBytes(6).toString('hex')}`;
        const started = performance.now();
        const load = await world.run('tmux', ['-L', world.socket, 'load-buffer', '-b', buffer, '-'], { input: text });
        const paste = await world.run('tmux', ['-L', world.socket, 'paste-buffer', '-p', '-d', '-b', buffer, '-t', `=${SCRATCH}:`]);
        const ms = performance.now() - started;
        if (load.code !== 0 || paste.code !== 0) throw new Error(`tmux baseline failed: ${load.stderr}${paste.stderr}`);
        times.push(ms);
        await sleep(50);
      }
      results[size.label].barePasteMs = summarize(times, 1);
      results[size.label].sendPromptOverBarePaste = ratio(results[size.label].sendPromptMs.median, results[size.label].barePasteMs.median);
      log(`delivery: bare paste ${size.label}: ${times.map((ms) => Math.round(ms)).join(', ')} ms`);
    }
    return { runs: RUNS, spawnToTaskSubmittedMs: Math.round(spawnMs), sizes: results };
  } finally {
    // The idle child would otherwise keep running (and using CPU) through the next benchmark.
    world.killTmux();
    context.store.close();
    await model.close();
  }
}
