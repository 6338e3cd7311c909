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
 *
 * Claude's own part, same run: the same text pasted with an Enter (one tmux
 * process, no ringmaster) straight into the child, timed to the hook's own
 * start (the microsecond time its spool file is named by) and to the moment
 * that file can be read. That is the floor of any verified delivery: what is
 * left of send_prompt's time above it is ringmaster's.
 *
 * The three are measured in turn within each run, so a change in the
 * machine's load hits them alike.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../dist/src/config.js';
import { agentDir, createContext } from '../dist/src/core/context.js';
import { spawnAgent } from '../dist/src/fleet/spawn.js';
import { sendPrompt, unwrapPaste } from '../dist/src/fleet/prompt.js';
import { spoolDir } from '../dist/src/state/events.js';
import { agentStatus, findLiveAgent } from '../dist/src/state/state.js';
import { sleep } from './world.mjs';
import { claudeEnv, startModelServer } from './model-server.mjs';
import { ratio, summarize } from './stats.mjs';

const RUNS = 7;
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

    const record = findLiveAgent(context, AGENT);
    const spool = spoolDir(agentDir(context, record.id));
    const pane = `=${record.tmuxSession}:`;
    world.tmuxSync('new-session', '-d', '-s', SCRATCH, '-x', '200', '-y', '50', 'cat > /dev/null');

    /** Bare paste + Enter into the child; resolves with the hook's own start and the time its file was read, both from `started`. */
    const claudeFloor = async (text) => {
      const seen = new Set(readdirSync(spool));
      let woken;
      const watcher = watch(spool, { persistent: false }, () => woken?.());
      try {
        const buffer = `bench-${randomBytes(6).toString('hex')}`;
        const startedEpoch = performance.timeOrigin + performance.now();
        const started = performance.now();
        const sent = await world.run('tmux', ['-L', world.socket, 'load-buffer', '-b', buffer, '-', ';', 'paste-buffer', '-p', '-d', '-b', buffer, '-t', pane, ';', 'send-keys', '-t', pane, 'Enter'], { input: text });
        if (sent.code !== 0) throw new Error(`tmux paste + Enter failed: ${sent.stderr}`);
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          for (const name of readdirSync(spool)) {
            if (seen.has(name) || !name.endsWith('.json')) continue;
            let payload;
            try {
              payload = JSON.parse(readFileSync(join(spool, name), 'utf8'));
            } catch {
              continue; // still being written
            }
            seen.add(name);
            if (payload.hook_event_name !== 'UserPromptSubmit') continue;
            const readMs = performance.now() - started;
            const prompt = String(payload.prompt).trim();
            if (prompt !== text.trim() && unwrapPaste(prompt)?.trim() !== text.trim()) throw new Error(`Claude received a different text (${prompt.length} characters)`);
            return { hookMs: Number(name.split('-')[0]) / 1000 - startedEpoch, readMs };
          }
          await new Promise((resolve) => {
            woken = resolve;
            setTimeout(resolve, 20);
          });
        }
        throw new Error('no UserPromptSubmit within 30 s of a bare paste + Enter');
      } finally {
        watcher.close();
      }
    };

    const results = {};
    for (const size of SIZES) {
      const times = { sendPrompt: [], bare: [], floorHook: [], floorRead: [] };
      for (let run = 0; run < RUNS; run++) {
        await waitIdle();
        const text = promptText(size.bytes, `${size.label}-${run}-${randomBytes(4).toString('hex')}`);
        if (Buffer.byteLength(text) !== size.bytes) throw new Error(`prompt is ${Buffer.byteLength(text)} bytes, wanted ${size.bytes}`);
        const started = performance.now();
        const sent = await sendPrompt(context, { name: AGENT, text, timeoutMs: 60_000 });
        const ms = performance.now() - started;
        if (sent.delivered !== true) throw new Error(`sendPrompt (${size.label}, run ${run + 1}) was not verified: ${JSON.stringify(sent)}`);
        if (sent.method !== 'paste') throw new Error(`sendPrompt (${size.label}) used ${sent.method}, expected paste`);
        times.sendPrompt.push(ms);

        await waitIdle();
        const floor = await claudeFloor(promptText(size.bytes, `${size.label}-floor-${run}-${randomBytes(4).toString('hex')}`));
        times.floorHook.push(floor.hookMs);
        times.floorRead.push(floor.readMs);

        // Baseline: bare load-buffer + paste-buffer into `cat > /dev/null` on the same tmux server.
        const bareText = promptText(size.bytes, `${size.label}-baseline-${run}`);
        const buffer = `bench-${randomBytes(6).toString('hex')}`;
        const bareStarted = performance.now();
        const load = await world.run('tmux', ['-L', world.socket, 'load-buffer', '-b', buffer, '-'], { input: bareText });
        const paste = await world.run('tmux', ['-L', world.socket, 'paste-buffer', '-p', '-d', '-b', buffer, '-t', `=${SCRATCH}:`]);
        const bareMs = performance.now() - bareStarted;
        if (load.code !== 0 || paste.code !== 0) throw new Error(`tmux baseline failed: ${load.stderr}${paste.stderr}`);
        times.bare.push(bareMs);
      }
      const entry = {
        bytes: size.bytes,
        sendPromptMs: summarize(times.sendPrompt, 1),
        barePasteMs: summarize(times.bare, 1),
        pasteEnterToHookMs: summarize(times.floorHook, 1),
        pasteEnterToHookFileReadMs: summarize(times.floorRead, 1),
      };
      entry.sendPromptOverBarePaste = ratio(entry.sendPromptMs.median, entry.barePasteMs.median);
      entry.claudeFloorOverBarePaste = ratio(entry.pasteEnterToHookFileReadMs.median, entry.barePasteMs.median);
      entry.sendPromptOverClaudeFloor = ratio(entry.sendPromptMs.median, entry.pasteEnterToHookFileReadMs.median);
      results[size.label] = entry;
      const list = (values) => values.map((ms) => Math.round(ms)).join(', ');
      log(`delivery: sendPrompt ${size.label}: ${list(times.sendPrompt)} ms`);
      log(`delivery: bare paste + Enter to Claude's hook ${size.label}: ${list(times.floorHook)} ms (its file read: ${list(times.floorRead)} ms)`);
      log(`delivery: bare paste ${size.label}: ${list(times.bare)} ms`);
    }
    return { runs: RUNS, spawnToTaskSubmittedMs: Math.round(spawnMs), sizes: results };
  } finally {
    // The idle child would otherwise keep running (and using CPU) through the next benchmark.
    world.killTmux();
    context.store.close();
    await model.close();
  }
}
