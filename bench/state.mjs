/**
 * Benchmark 1, state: what read_agent_state costs over 20 agents whose
 * transcripts are 20 MB each.
 *
 * No real agents: 20 rows go into a Store in the temp RINGMASTER_HOME and 20
 * synthetic transcripts (bench/transcript-gen.mjs) are written where Claude
 * Code keeps them. Measured, 3 repetitions each, medians reported:
 *   - first pass: refreshTranscripts for all 20 with no stored offsets (the
 *     transcripts/transcript_usage rows are deleted before each repetition);
 *   - baseline: fs.readFile of the same 20 files, in the same run;
 *   - incremental pass: ~10 KB appended to every file, refreshTranscripts for all 20;
 *   - extra: readAgentState over all 20 (status, transcript, git probes) with nothing new, each agent with a
 *     real worktree and a tmux session as a live one has, after one read that fills the caches.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../dist/src/config.js';
import { Store } from '../dist/src/store/store.js';
import { Git } from '../dist/src/adapters/git.js';
import { Tmux } from '../dist/src/adapters/tmux.js';
import { refreshTranscripts } from '../dist/src/state/transcripts.js';
import { readAgentState } from '../dist/src/state/state.js';
import { appendTranscript, writeTranscript } from './transcript-gen.mjs';
import { addSyntheticAgent } from './world.mjs';
import { MB, ratio, round, summarize } from './stats.mjs';

const AGENTS = 20;
const FILE_BYTES = 20 * MB;
const APPEND_BYTES = 10 * 1024;
const REPS = 3;

export async function benchState(world, log) {
  const config = loadConfig(world.env);
  const store = new Store(join(config.home, 'state.db'));
  const projectDir = join(world.home, '.claude', 'projects', '-bench-state');
  mkdirSync(projectDir, { recursive: true });
  const agents = [];
  try {
    log(`state: writing ${AGENTS} synthetic transcripts of ${FILE_BYTES / MB} MB`);
    // As live agents are: a worktree and a tmux session each (the pane runs a sleeping shell).
    const repo = world.makeRepo('state');
    const baseCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    const generated = performance.now();
    for (let index = 0; index < AGENTS; index++) {
      const { id, name, sessionId, worktreePath, transcriptPath: path } = addSyntheticAgent(world, store, { kind: 'state', tag: 'a000', index, repo, baseCommit, projectDir });
      world.tmuxSync('new-session', '-d', '-s', `ringmaster-${name}`, '-c', worktreePath, "bash -c 'sleep 100000; :'");
      const writer = writeTranscript(path, { sessionId, cwd: worktreePath, seed: 1000 + index }, FILE_BYTES);
      agents.push({ id, name, path, writer });
    }
    const sizes = agents.map((agent) => statSync(agent.path).size);
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    const mix = {};
    for (const agent of agents) for (const [type, bytes] of Object.entries(agent.writer.stats.bytesByType)) mix[type] = (mix[type] ?? 0) + bytes;
    const apiResponses = agents.reduce((sum, agent) => sum + agent.writer.stats.apiResponses, 0);
    log(`state: ${round(totalBytes / MB, 1)} MB written in ${Math.round(performance.now() - generated)} ms`);

    const clear = () => {
      store.db.exec('DELETE FROM transcript_usage; DELETE FROM transcript_totals; DELETE FROM transcripts;');
    };
    const readAllFiles = async () => {
      const started = performance.now();
      let bytes = 0;
      for (const agent of agents) bytes += (await readFile(agent.path)).length;
      return { ms: performance.now() - started, bytes };
    };
    const refreshAll = (handle = store) => {
      const started = performance.now();
      for (const agent of agents) refreshTranscripts(handle, config, agent.id, agent.path);
      return { ms: performance.now() - started };
    };
    // A first pass is a process that never read these files: a store handle of its own, so none of what this
    // process remembers of earlier folds (refreshTranscripts keeps the state of files that did not change) applies.
    const firstPass = () => {
      clear();
      const fresh = new Store(join(config.home, 'state.db'));
      try {
        return refreshAll(fresh);
      } finally {
        fresh.close();
      }
    };

    // Warm the page cache once so neither side pays for the disk.
    await readAllFiles();

    const firstMs = [];
    const readMs = [];
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate the order so neither side always runs second.
      if (rep % 2 === 0) {
        readMs.push((await readAllFiles()).ms);
        firstMs.push(firstPass().ms);
      } else {
        firstMs.push(firstPass().ms);
        readMs.push((await readAllFiles()).ms);
      }
      log(`state: rep ${rep + 1}: first pass ${Math.round(firstMs[rep])} ms, readFile ${Math.round(readMs[rep])} ms`);
    }
    // Sanity: every API response written is counted once (main + sidechain buckets), however many lines it took.
    const sanity = refreshTranscripts(store, config, agents[0].id, agents[0].path);
    const countedAll = sanity.usage.main.apiResponses + sanity.usage.sidechain.apiResponses;
    const writtenAgent0 = agents[0].writer.stats.apiResponses;

    const incrementalMs = [];
    const appended = [];
    for (let rep = 0; rep < REPS; rep++) {
      let bytes = 0;
      for (const agent of agents) bytes += appendTranscript(agent.path, agent.writer, APPEND_BYTES);
      appended.push(bytes);
      incrementalMs.push(refreshAll().ms);
    }
    log(`state: incremental ${incrementalMs.map((ms) => Math.round(ms)).join(', ')} ms`);

    // The whole read_agent_state tool path, nothing new to read (tmux and git probes included).
    const context = { config, store, git: new Git(), tmux: new Tmux(config.tmux.command, config.tmux.socket ?? null), env: world.env };
    // One read first: it asks git for every worktree and fills the caches that "nothing new" reads from.
    await readAgentState(context, {});
    const readStateMs = [];
    let reported = 0;
    for (let rep = 0; rep < REPS; rep++) {
      const started = performance.now();
      const states = await readAgentState(context, {});
      readStateMs.push(performance.now() - started);
      reported = states.filter((state) => state.transcript).length;
    }

    const first = summarize(firstMs, 1);
    const read = summarize(readMs, 1);
    const incremental = summarize(incrementalMs, 2);
    const totalMB = totalBytes / MB;
    return {
      agents: AGENTS,
      bytesPerFile: { median: summarize(sizes, 0).median, total: totalBytes },
      totalMB: round(totalMB, 1),
      recordMixPercentOfBytes: Object.fromEntries(Object.entries(mix).map(([type, bytes]) => [type, round((100 * bytes) / totalBytes, 1)])),
      apiResponsesWritten: apiResponses,
      // One usage row per API response however many lines it took: these two must match.
      apiResponsesWrittenAgent0: writtenAgent0,
      apiResponsesCountedAgent0: countedAll,
      firstPassMs: first,
      firstPassMBps: round(totalMB / (first.median / 1000), 1),
      readFileMs: read,
      readFileMBps: round(totalMB / (read.median / 1000), 1),
      firstPassOverReadFile: ratio(first.median, read.median),
      incrementalMs: incremental,
      incrementalAppendedBytesPerRep: appended,
      readAgentStateAll20Ms: summarize(readStateMs, 1),
      readAgentStateReportedTranscripts: reported,
      reps: REPS,
    };
  } finally {
    // Leave the world as it was for the benchmarks after this one: no sessions, no live rows.
    for (const agent of agents) {
      world.tmuxSync('kill-session', '-t', `=ringmaster-${agent.name}`);
      store.markRemoved(agent.id);
    }
    store.close();
    rmSync(projectDir, { recursive: true, force: true });
  }
}
