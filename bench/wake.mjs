/**
 * Benchmark: how soon wait_for_agents returns after the event that ends a turn.
 *
 * One agent row in a temp store, its pane a real tmux session on the private
 * socket (a bash with a child, so the agent process is alive), its hook spool
 * a real folder. Each repetition:
 *   1. spools a UserPromptSubmit through the real recorder (the agent is working);
 *   2. starts waitForAgents with a 5 s fallback poll, so that only the file
 *      watch can make it fast;
 *   3. fires a Stop through the real recorder (sh -c, as Claude runs it);
 *   4. measures from the event's own time (the microsecond stamp the recorder
 *      puts in the file name) to waitForAgents returning.
 * The baseline is the time to read and parse that event file, in the same run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../dist/src/config.js';
import { createContext } from '../dist/src/core/context.js';
import { agentDir } from '../dist/src/core/index.js';
import { childSettings } from '../dist/src/fleet/spawn.js';
import { spoolDir } from '../dist/src/state/events.js';
import { waitForAgents } from '../dist/src/state/wait.js';
import { round, summarize } from './stats.mjs';

const REPS = 30;

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function benchWake(world, log) {
  const context = createContext(world.env, loadConfig(world.env));
  const id = 'ag_benchwake0';
  const session = 'ringmaster-bench-wake';
  try {
    context.store.insertAgent({ id, name: 'bench-wake', repo: '/bench', baseRef: 'main', baseCommit: 'c', branch: 'agent/bench-wake', worktreePath: '/bench/wt', tmuxSocket: context.tmux.socket, tmuxSession: session, agentKind: 'claude', model: null, task: 't', taskPreview: 't' });
    context.store.markRunning(id, ['claude']);
    const spool = spoolDir(agentDir(context, id));
    mkdirSync(spool, { recursive: true });
    await context.tmux.newSession({ session, cwd: world.root ?? process.cwd(), command: ['bash', '-c', 'sleep 100000; exit 0'], env: {} });
    const command = childSettings(spool, '/bench').hooks.Stop[0].hooks[0].command;
    // Asynchronously, as Claude runs it: a synchronous call would block the waiter being measured.
    const fire = (payload) =>
      new Promise((resolve, reject) => {
        const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'ignore', 'ignore'] });
        child.on('error', reject);
        child.on('exit', resolve);
        child.stdin.end(JSON.stringify(payload));
      });
    // Warm up: the first status read opens tmux and prepares statements.
    await fire({ hook_event_name: 'UserPromptSubmit', session_id: 's', prompt: 'warm-up' });
    await waitForAgents(context, { names: ['bench-wake'], timeoutSec: 0 });
    const wakeMs = [];
    const readMs = [];
    for (let rep = 0; rep < REPS; rep++) {
      await fire({ hook_event_name: 'UserPromptSubmit', session_id: 's', prompt: `turn ${rep}` });
      const waiting = waitForAgents(context, { names: ['bench-wake'], timeoutSec: 10, onlyChanges: true, pollMs: 5_000 });
      // Let the wait take its first look (the agent is working) before the turn ends.
      await new Promise((resolve) => setTimeout(resolve, 300));
      void fire({ hook_event_name: 'Stop', session_id: 's', background_tasks: [] });
      const result = await waiting;
      const returnedAt = performance.timeOrigin + performance.now();
      if (result.timedOut || result.ready[0]?.status.state !== 'idle') throw new Error(`wait_for_agents did not see the Stop: ${JSON.stringify(result.agents)}`);
      const event = context.store.recentEvents(id, 1)[0];
      wakeMs.push(returnedAt - event.at);
      // The baseline: read and parse one event file of the same size.
      await fire({ hook_event_name: 'Stop', session_id: 's', background_tasks: [] });
      const again = readdirSync(spool).filter((name) => name.endsWith('.json')).sort().pop();
      const started = performance.now();
      JSON.parse(readFileSync(join(spool, again), 'utf8'));
      readMs.push(performance.now() - started);
      execFileSync('rm', ['-f', join(spool, again)]);
    }
    log(`wake: median ${round(summarize(wakeMs).median)} ms, p95 ${round(percentile(wakeMs, 95))} ms after the event; reading the event file ${round(summarize(readMs, 3).median, 3)} ms`);
    return { reps: REPS, wakeMs: summarize(wakeMs), wakeP95Ms: round(percentile(wakeMs, 95)), readEventFileMs: summarize(readMs, 3), fallbackPollMs: 5_000 };
  } finally {
    await context.tmux.killSession(session).catch(() => undefined);
    context.store.close();
  }
}
