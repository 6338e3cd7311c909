import { readFileSync, statfsSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '../adapters/process.js';
import { ConflictError, NotFoundError, UserInputError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import { tmuxFor, type Context, type ProgressReporter } from '../core/index.js';
import { audit } from '../gate/index.js';
import { agentStatus, livePanes, liveness, spawnAbandoned } from '../state/index.js';
import { nameFromTask, repoSlug, sessionName, validateName } from './names.js';
import { assertMaySpawn, setAgentBudget, type Limits } from './budget.js';
import { newAgentId, spawnAgent, validateSpawn, type SpawnInput, type SpawnResult } from './spawn.js';

/**
 * Fleet discipline before an agent starts: a cap on live agents (per machine
 * and per repository), a floor of free memory and disk, and agents that wait
 * for others (`after`). A spawn that cannot start now is kept in the store's
 * `spawn_queue`, so a server restart loses nothing, and is started in the
 * order it came by whoever notices a free slot first: the server's monitor
 * (every round), a spawn, a cleanup, or `ringmaster queue start`.
 */

export type QueueState = 'queued' | 'starting' | 'started' | 'cancelled' | 'failed';

export interface QueuedSpawn {
  queueId: number;
  /** The id the agent will have once it starts. */
  id: string;
  name: string;
  repo: string;
  branch: string;
  state: QueueState;
  /** 1-based place among the spawns still queued; null once it left the queue. */
  position: number | null;
  /** Agents this one waits for (their names). */
  after: string[];
  /** Start from the branch of the last agent in `after` rather than from `base`. */
  baseAfter: boolean;
  /** Why it waits, or why it failed. */
  reason: string;
  createdAt: string;
  taskPreview: string;
}

export interface SpawnRequest extends SpawnInput {
  /** Names of agents (live, or themselves queued) that must finish before this one starts. */
  after?: string[];
  /** Branch from the last agent in `after` once it finished. */
  baseAfter?: boolean;
  /** This agent's own spend limit, instead of budgets.perAgent. */
  budget?: Limits;
}

export type SpawnOutcome = (SpawnResult & { status: 'started'; queue: null }) | (QueuedResult & { status: 'queued' });

export interface QueuedResult {
  id: string;
  name: string;
  agent: string;
  repo: string;
  branch: string;
  base: string;
  baseCommit: null;
  worktreePath: string;
  tmuxSession: string;
  tmuxSocket: string | null;
  attachCommand: string;
  taskSubmitted: null;
  copiedFiles: string[];
  setup: null;
  linear: null;
  enforcement: 'sandboxed' | 'unenforced';
  notes: string[];
  queue: { position: number; after: string[]; reason: string };
}

interface QueueRow {
  id: number;
  agent_id: string;
  name: string;
  repo: string;
  request_json: string;
  after_json: string;
  base_after: number;
  state: QueueState;
  claimed_by: number | null;
  reason: string | null;
  created_at: number;
}

/** A status in which an agent counts as finished for those waiting on it. */
const FINISHED_STATES = new Set(['idle', 'exited']);

/**
 * spawn_agent's front door: starts the agent now when a slot is free and
 * nothing it waits for is still running; otherwise checks the request as far
 * as it can be checked now and queues it.
 */
export async function requestSpawn(context: Context, input: SpawnRequest, progress: ProgressReporter = () => {}): Promise<SpawnOutcome> {
  // First, before anything reads the store for other reasons: a spend that cannot be read refuses the spawn.
  assertMaySpawn(context, input.repo);
  const { store, config } = context;
  const after = [...new Set(input.after ?? [])];
  if (input.baseAfter && after.length === 0) throw new UserInputError('base_after needs `after`: name the agent whose branch this one starts from.');
  if (input.baseAfter && input.base) throw new UserInputError('Pass either base or base_after, not both: base_after starts from the branch of the last agent in `after`.');
  if (typeof input.task !== 'string' || input.task.trim() === '') throw new UserInputError('task is empty. Describe what the agent should do.');
  const name = input.name === undefined ? nameFromTask(input.task) : validateName(input.name);
  if (after.includes(name)) throw new UserInputError(`Agent "${name}" cannot wait for itself; drop it from after.`);
  refuseTakenName(context, name);
  checkResources(context);

  const request: SpawnInput & { budget?: Limits } = { ...input, name, id: input.id ?? newAgentId() };
  delete (request as SpawnRequest).after;
  delete (request as SpawnRequest).baseAfter;
  if (input.budget) setAgentBudget(context, '(check)', input.budget, { checkOnly: true });
  // Everything but the base that may not exist yet is checked now, not hours later when the slot frees.
  const checked = await validateSpawn(context, input.baseAfter ? { ...request, base: undefined } : request, request.agent ?? 'claude');
  request.repo = checked.repo;

  const progressOf = await dependencyProgress(context, after);
  if (progressOf.impossible) throw new UserInputError(`${progressOf.impossible}. Drop it from after, or spawn it first.`);
  const waitingFor = progressOf.waiting;
  const counts = await liveCounts(context);
  const slot = await freeSlot(context, checked.repo, counts);
  // First come, first served: a spawn waiting only for a slot keeps its place ahead of this one, if it
  // competes for the same one (same repository, or one that could start now); one held by another
  // repository's cap does not hold this one up.
  let ahead = false;
  for (const row of queuedRows(context)) {
    if (row.after_json !== '[]') continue;
    if (row.repo === checked.repo || (await freeSlot(context, row.repo, counts)).free) ahead = true;
  }
  if (waitingFor.length === 0 && slot.free && !ahead) {
    const base = input.baseAfter ? branchOf(context, after.at(-1)!) : input.base;
    const result = await spawnAgent(context, { ...request, base }, progress);
    if (input.budget) setAgentBudget(context, result.id, input.budget);
    return { ...result, status: 'started', queue: null };
  }

  const reason = waitingFor.length > 0 ? `waits for ${waitingFor.join(', ')} to finish` : slot.free ? 'behind earlier queued spawns' : slot.why;
  const now = Date.now();
  try {
    store.db
      .prepare(
        `INSERT INTO spawn_queue (agent_id, name, repo, request_json, after_json, base_after, state, reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
      )
      .run(request.id, name, checked.repo, JSON.stringify(request), JSON.stringify(after), input.baseAfter ? 1 : 0, reason, now, now);
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(`A spawn named "${name}" is already queued. Pick another name, or cancel it with cancel_spawn.`);
    throw error;
  }
  audit(store, { agentId: request.id!, agentName: name, requestId: null, category: 'fleet', tool: 'spawn_agent', summary: input.task.slice(0, 200), outcome: 'queued', actor: 'ringmaster', note: reason });
  const entry = listQueue(context).find((queued) => queued.id === request.id)!;
  progress(`Queued "${name}" at place ${entry.position}: ${reason}`);
  const worktreePath = join(config.worktreeRoot, repoSlug(checked.repo), name);
  return {
    status: 'queued',
    id: request.id!,
    name,
    agent: request.agent ?? 'claude',
    repo: checked.repo,
    branch: checked.branch,
    base: input.baseAfter ? `the branch of ${after.at(-1)} (when it finishes)` : checked.baseRef,
    baseCommit: null,
    worktreePath,
    tmuxSession: sessionName(name),
    tmuxSocket: context.tmux.socket,
    attachCommand: context.tmux.attachCommand(sessionName(name)),
    taskSubmitted: null,
    copiedFiles: [],
    setup: null,
    linear: null,
    enforcement: checked.policy.sandbox.enabled ? 'sandboxed' : 'unenforced',
    notes: [`Queued at place ${entry.position}: ${reason}. It starts by itself when it can (a running ringmaster server notices); cancel it with cancel_spawn.`],
    queue: { position: entry.position!, after, reason },
  };
}

/** A name is taken by a live agent or by a spawn still waiting in the queue. */
function refuseTakenName(context: Context, name: string): void {
  const live = context.store.findAgentByName(name);
  if (live && live.state !== 'removed') throw new ConflictError(`An agent named "${name}" already exists. Pick another name, or clean it up first with cleanup_worktree.`);
  const waiting = context.store.db.prepare(`SELECT 1 FROM spawn_queue WHERE name = ? AND state IN ('queued', 'starting')`).get(name);
  if (waiting) throw new ConflictError(`A spawn named "${name}" is already queued. Pick another name, or cancel it with cancel_spawn.`);
}

/** What a waiting spawn knows about an agent it waits for. */
type Dependency = { kind: 'agent'; record: AgentRecord } | { kind: 'queued'; row: QueueRow };

function dependencyOf(context: Context, name: string): Dependency {
  const record = context.store.findAgentByName(name);
  if (record && record.state !== 'removed') return { kind: 'agent', record };
  const row = context.store.db.prepare(`SELECT * FROM spawn_queue WHERE name = ? ORDER BY id DESC LIMIT 1`).get(name) as QueueRow | undefined;
  if (row && row.state !== 'started') return { kind: 'queued', row };
  if (record) return { kind: 'agent', record };
  throw new UserInputError(`after names "${name}", which is neither an agent nor a queued spawn. Run list_agents to see the names.`);
}

function branchOf(context: Context, name: string): string {
  const dependency = dependencyOf(context, name);
  return dependency.kind === 'agent' ? dependency.record.branch : (JSON.parse(dependency.row.request_json) as SpawnInput).branch ?? `agent/${dependency.row.name}`;
}

/** Refuses a spawn while the machine is short of memory or disk (the configured floors). */
export function checkResources(context: Context): void {
  const short = resourceShortage(context);
  if (short) throw new ConflictError(`${short} Free some, or lower fleet.minFreeMemoryMb / fleet.minFreeDiskMb in config.json, then spawn again.`);
}

function resourceShortage(context: Context): string | undefined {
  const { minFreeMemoryMb, minFreeDiskMb } = context.config.fleet;
  const memoryMb = Math.floor(availableMemoryBytes() / 2 ** 20);
  if (memoryMb < minFreeMemoryMb) return `Not starting an agent: this machine has ${memoryMb} MB of memory available, below the floor of ${minFreeMemoryMb} MB.`;
  const disk = freeDiskMb(context.config.worktreeRoot);
  if (disk !== undefined && disk < minFreeDiskMb) return `Not starting an agent: ${disk} MB of disk is free under ${context.config.worktreeRoot}, below the floor of ${minFreeDiskMb} MB.`;
  return undefined;
}

/** MemAvailable on Linux (what can be had without swapping); os.freemem elsewhere. */
function availableMemoryBytes(): number {
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

function freeDiskMb(path: string): number | undefined {
  // The worktree root may not exist yet: its nearest existing parent holds the space.
  for (let folder = path; ; folder = join(folder, '..')) {
    try {
      const stats = statfsSync(folder);
      return Math.floor((stats.bavail * stats.bsize) / 2 ** 20);
    } catch {
      if (folder === '/') return undefined;
    }
  }
}

interface SlotCheck {
  free: boolean;
  why: string;
}

/** Live agents now: a record still spawning (not abandoned), or one whose agent process runs; plus spawns the queue is starting. */
async function liveCounts(context: Context): Promise<{ total: number; byRepo: Map<string, number> }> {
  const records = context.store.listAgents();
  const paneOf = await livePanes(context, records);
  const byRepo = new Map<string, number>();
  let total = 0;
  const count = (repo: string) => {
    total++;
    byRepo.set(repo, (byRepo.get(repo) ?? 0) + 1);
  };
  for (const record of records) {
    // A spawn that died half-way holds no process: only a spawn still within its time counts.
    if (record.state === 'spawning' ? !spawnAbandoned(context, record) : (await liveness(context, record, paneOf(record))).processAlive) count(record.repo);
  }
  const known = new Set(records.map((record) => record.id));
  for (const row of context.store.db.prepare(`SELECT agent_id, repo FROM spawn_queue WHERE state = 'starting'`).all() as Array<{ agent_id: string; repo: string }>) {
    if (!known.has(row.agent_id)) count(row.repo);
  }
  return { total, byRepo };
}

/**
 * For spawns that start at once and cannot wait in the queue (the attempts of
 * one best-of-N run, a spawn from a Linear ticket): the budget, the machine's floors and room under the caps
 * for all `count` of them, ahead of any spawn already queued. Throws a clear
 * error otherwise, before anything is made.
 */
const need = (count: number) => (count === 1 ? 'This spawn cannot wait in the queue and needs a free slot' : `${count} attempts need ${count} free slots`);

export async function assertRoomFor(context: Context, repo: string, count: number): Promise<void> {
  assertMaySpawn(context, repo);
  checkResources(context);
  const { maxLiveAgents, maxLiveAgentsPerRepo } = context.config.fleet;
  const live = await liveCounts(context);
  const waiting = queuedRows(context).length;
  if (maxLiveAgents > 0 && live.total + waiting + count > maxLiveAgents) {
    throw new ConflictError(`${need(count)}, but ${live.total} agents are live${waiting > 0 ? ` and ${waiting} spawns are queued` : ''} under a cap of ${maxLiveAgents} (fleet.maxLiveAgents). Wait for agents to finish, clean some up, or raise the cap in config.json.`);
  }
  const inRepo = live.byRepo.get(repo) ?? 0;
  if (maxLiveAgentsPerRepo > 0 && inRepo + count > maxLiveAgentsPerRepo) {
    throw new ConflictError(`${need(count)} in ${repo}, but ${inRepo} agents are live there under a cap of ${maxLiveAgentsPerRepo} per repository (fleet.maxLiveAgentsPerRepo).`);
  }
}

async function freeSlot(context: Context, repo: string, counts?: { total: number; byRepo: Map<string, number> }): Promise<SlotCheck> {
  const { maxLiveAgents, maxLiveAgentsPerRepo } = context.config.fleet;
  const live = counts ?? (await liveCounts(context));
  if (maxLiveAgents > 0 && live.total >= maxLiveAgents) return { free: false, why: `${live.total} agents are live, the cap is ${maxLiveAgents} (fleet.maxLiveAgents)` };
  const inRepo = live.byRepo.get(repo) ?? 0;
  if (maxLiveAgentsPerRepo > 0 && inRepo >= maxLiveAgentsPerRepo) return { free: false, why: `${inRepo} agents are live in ${repo}, the cap per repository is ${maxLiveAgentsPerRepo} (fleet.maxLiveAgentsPerRepo)` };
  return { free: true, why: '' };
}

function queuedRows(context: Context): QueueRow[] {
  return context.store.db.prepare(`SELECT * FROM spawn_queue WHERE state = 'queued' ORDER BY id`).all() as QueueRow[];
}

/** Spawns still waiting (queued or being started) and those that failed to start, oldest first; or those of one name. */
export function listQueue(context: Context, name?: string): QueuedSpawn[] {
  const rows = context.store.db.prepare(`SELECT * FROM spawn_queue WHERE state IN ('queued', 'starting', 'failed') ORDER BY id`).all() as QueueRow[];
  let place = 0;
  const entries = rows.map((row): QueuedSpawn => {
    const request = JSON.parse(row.request_json) as SpawnInput;
    return {
      queueId: row.id,
      id: row.agent_id,
      name: row.name,
      repo: row.repo,
      branch: request.branch ?? `agent/${row.name}`,
      state: row.state,
      position: row.state === 'queued' ? ++place : null,
      after: JSON.parse(row.after_json) as string[],
      baseAfter: row.base_after === 1,
      reason: row.reason ?? '',
      createdAt: new Date(row.created_at).toISOString(),
      taskPreview: request.task.slice(0, 200),
    };
  });
  return name === undefined ? entries : entries.filter((entry) => entry.name === name);
}

/** Takes a spawn out of the queue (or drops a failed one from view); an agent that already started is not touched. */
export function cancelSpawn(context: Context, name: string): QueuedSpawn {
  const { store } = context;
  const entry = listQueue(context, name).find((queued) => queued.state !== 'starting') ?? listQueue(context, name)[0];
  if (!entry) {
    const record = store.findAgentByName(name);
    if (record && record.state !== 'removed') throw new ConflictError(`"${name}" is not queued: it already started. Stop it with cleanup_worktree.`);
    throw new NotFoundError(`No queued spawn named ${JSON.stringify(name)}. list_agents shows the queue under "queued".`);
  }
  if (entry.state === 'starting') throw new ConflictError(`"${name}" is starting right now; once it has, stop it with cleanup_worktree.`);
  const changed = store.db.prepare(`UPDATE spawn_queue SET state = 'cancelled', updated_at = ? WHERE id = ? AND state IN ('queued', 'failed')`).run(Date.now(), entry.queueId);
  if (changed.changes === 0) throw new ConflictError(`"${name}" left the queue while it was being cancelled; look again with list_agents.`);
  audit(store, { agentId: entry.id, agentName: name, requestId: null, category: 'fleet', tool: 'cancel_spawn', summary: entry.taskPreview, outcome: 'cancelled', actor: 'parent', note: entry.reason });
  return { ...entry, state: 'cancelled', position: null };
}

/** One start-up run per store at a time in this process; a call during a run asks for another right after. */
const running = new WeakMap<object, { again: boolean }>();

export interface StartedFromQueue {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Starts queued spawns, oldest first, while slots are free and what they wait
 * for has finished. One at a time: each spawn is a few seconds of work on the
 * machine. Safe to call from any process: each spawn is claimed in the store
 * before it starts, so two processes never start the same one.
 */
export async function startQueued(context: Context, progress: ProgressReporter = () => {}): Promise<StartedFromQueue[]> {
  const key = context.store;
  const run = running.get(key);
  if (run) {
    run.again = true;
    return [];
  }
  const state = { again: false };
  running.set(key, state);
  const started: StartedFromQueue[] = [];
  try {
    do {
      state.again = false;
      started.push(...(await startRound(context, progress)));
    } while (state.again);
  } finally {
    running.delete(key);
  }
  return started;
}

async function startRound(context: Context, progress: ProgressReporter): Promise<StartedFromQueue[]> {
  const { store } = context;
  recoverInterrupted(context);
  const rows = queuedRows(context);
  if (rows.length === 0) return [];
  const results: StartedFromQueue[] = [];
  const counts = await liveCounts(context);
  for (const row of rows) {
    const after = JSON.parse(row.after_json) as string[];
    const dependencies = await dependencyProgress(context, after);
    if (dependencies.impossible) {
      finish(context, row, 'failed', `will not start: ${dependencies.impossible}`);
      audit(store, { agentId: row.agent_id, agentName: row.name, requestId: null, category: 'fleet', tool: 'spawn_agent', summary: row.name, outcome: 'failed', actor: 'ringmaster', note: dependencies.impossible });
      continue;
    }
    if (dependencies.waiting.length > 0) {
      noteReason(context, row, `waits for ${dependencies.waiting.join(', ')} to finish`);
      continue;
    }
    const slot = await freeSlot(context, row.repo, counts);
    if (!slot.free) {
      noteReason(context, row, slot.why);
      // Later spawns for other repositories may still fit under their own cap, never past the machine's.
      if (context.config.fleet.maxLiveAgents > 0 && counts.total >= context.config.fleet.maxLiveAgents) break;
      continue;
    }
    const short = resourceShortage(context);
    if (short) {
      noteReason(context, row, short);
      break;
    }
    try {
      assertMaySpawn(context, row.repo);
    } catch (error) {
      noteReason(context, row, (error as Error).message);
      break;
    }
    const claimed = store.db.prepare(`UPDATE spawn_queue SET state = 'starting', claimed_by = ?, reason = 'a slot is free: starting now', updated_at = ? WHERE id = ? AND state = 'queued'`).run(process.pid, Date.now(), row.id);
    if (claimed.changes === 0) continue;
    counts.total++;
    counts.byRepo.set(row.repo, (counts.byRepo.get(row.repo) ?? 0) + 1);
    const request = JSON.parse(row.request_json) as SpawnInput & { budget?: Limits };
    const base = row.base_after === 1 ? branchOf(context, after.at(-1)!) : request.base;
    progress(`Starting queued spawn "${row.name}"`);
    try {
      const result = await spawnAgent(context, { ...request, base }, progress);
      if (request.budget) setAgentBudget(context, result.id, request.budget);
      finish(context, row, 'started', `started on ${result.branch}`);
      audit(store, { agentId: row.agent_id, agentName: row.name, requestId: null, category: 'fleet', tool: 'spawn_agent', summary: request.task.slice(0, 200), outcome: 'started', actor: 'ringmaster', note: 'from the queue' });
      results.push({ name: row.name, ok: true, detail: result.branch });
    } catch (error) {
      const message = context.store.explain(error)?.message ?? (error as Error).message;
      finish(context, row, 'failed', `could not start: ${message}`);
      counts.total--;
      counts.byRepo.set(row.repo, (counts.byRepo.get(row.repo) ?? 1) - 1);
      audit(store, { agentId: row.agent_id, agentName: row.name, requestId: null, category: 'fleet', tool: 'spawn_agent', summary: request.task.slice(0, 200), outcome: 'failed', actor: 'ringmaster', note: message.slice(0, 500) });
      results.push({ name: row.name, ok: false, detail: message });
    }
  }
  return results;
}

/** Which agents in `after` are still running, or why one of them never will finish. */
async function dependencyProgress(context: Context, after: string[]): Promise<{ waiting: string[]; impossible?: string }> {
  const waiting: string[] = [];
  for (const name of after) {
    let dependency: Dependency;
    try {
      dependency = dependencyOf(context, name);
    } catch {
      return { waiting, impossible: `after names "${name}", which is neither an agent nor a queued spawn (list_agents shows both)` };
    }
    if (dependency.kind === 'queued') {
      if (dependency.row.state === 'failed' || dependency.row.state === 'cancelled') {
        return { waiting, impossible: `after names "${name}", whose spawn ${dependency.row.state === 'failed' ? 'failed' : 'was cancelled'}` };
      }
      waiting.push(name);
      continue;
    }
    if (dependency.record.state === 'removed') continue;
    if (dependency.record.state === 'spawning') {
      waiting.push(name);
      continue;
    }
    const pane = await tmuxFor(context, dependency.record.tmuxSocket).pane(dependency.record.tmuxSession);
    const status = await agentStatus(context, dependency.record, pane ?? null);
    if (!FINISHED_STATES.has(status.state)) waiting.push(name);
  }
  return { waiting };
}

function noteReason(context: Context, row: QueueRow, reason: string): void {
  if (row.reason === reason) return;
  context.store.whenWritable(() => context.store.db.prepare(`UPDATE spawn_queue SET reason = ?, updated_at = ? WHERE id = ? AND state = 'queued'`).run(reason, Date.now(), row.id));
}

function finish(context: Context, row: QueueRow, state: 'started' | 'failed', reason: string): void {
  context.store.db.prepare(`UPDATE spawn_queue SET state = ?, reason = ?, updated_at = ? WHERE id = ?`).run(state, reason, Date.now(), row.id);
}

/**
 * A spawn claimed by a process that is gone (a server stopped mid-spawn): if
 * its agent runs, it started; if no row was made, it goes back to its place;
 * a row left half-made is reported as failed, for cleanup_worktree with force.
 */
function recoverInterrupted(context: Context): void {
  const { store } = context;
  const rows = store.db.prepare(`SELECT * FROM spawn_queue WHERE state = 'starting'`).all() as QueueRow[];
  for (const row of rows) {
    if (row.claimed_by !== null && (row.claimed_by === process.pid || isProcessAlive(row.claimed_by))) continue;
    const record = store.getAgent(row.agent_id);
    if (!record) store.db.prepare(`UPDATE spawn_queue SET state = 'queued', claimed_by = NULL, updated_at = ? WHERE id = ? AND state = 'starting'`).run(Date.now(), row.id);
    else if (record.state === 'spawning') finish(context, row, 'failed', 'the process starting it stopped half-way; run cleanup_worktree with force: true on it, then spawn again');
    else finish(context, row, 'started', `started on ${record.branch}`);
  }
}
