import { claudeConfigDir, readClaudeSessionFile } from '../adapters/claude-session.js';
import type { PaneInfo } from '../adapters/tmux.js';
import { NotFoundError } from '../errors.js';
import type { AgentRecord, AgentSnapshot, Store } from '../store/store.js';
import { agentDir, tmuxFor, type Context } from '../core/index.js';
import { eventsAfter, ingestEvents } from './events.js';
import { egressAlive, enforcementOf, pendingByAgent, pendingForAgent, withdrawRequest, type AgentEnforcement, type PermissionRequest } from '../gate/index.js';
import { livePanes, liveness } from './liveness.js';
import { gitSummaryCache, type GitSummary } from './git-summary.js';
import { deriveStatus, foldEvents, foldWindow, type AgentState, type DerivedStatus, type HookFold } from './status.js';
import { refreshFleetTranscripts, toolFinished, type TranscriptState } from './transcripts.js';
import { checkStall } from './stall.js';

export interface StatusReport {
  state: AgentState;
  since: string;
  secondsInState: number;
  reason: string;
  exitStatus: number | null;
  currentTool: string | null;
}

export interface AgentStateReport {
  id: string;
  name: string;
  agent: string;
  branch: string;
  worktreePath: string;
  tmuxSession: string;
  status: StatusReport;
  claudeSessionId: string | null;
  transcriptPath: string | null;
  transcript: Omit<TranscriptState, 'path'> | null;
  git: GitSummary | null;
  /** Only with verbose: the last screen of the pane. */
  screen?: string;
}

/** Hook events read per status: enough for a long turn's start; an older start is kept from the store. */
const EVENT_WINDOW = 300;

/**
 * A row still 'spawning' long after any spawn could have finished (setup and
 * start-up time outs plus ten minutes): the process running spawn_agent ended
 * half-way (a crash, a kill). It is not a live agent: it does not count
 * against the caps, and its status says to clean it up.
 */
export function spawnAbandoned(context: Context, record: Pick<AgentRecord, 'createdAt'>, now = Date.now()): boolean {
  const { setupTimeoutSec, startupTimeoutMs } = context.config.spawn;
  return now - record.createdAt > setupTimeoutSec * 1000 + startupTimeoutMs + 10 * 60_000;
}

/**
 * What a status read of many agents reads from the store once for all of them
 * (rows, pending requests, enforcement) instead of a few queries per agent.
 */
export interface FleetSnapshot {
  rows: Map<string, AgentSnapshot>;
  pending: Map<string, PermissionRequest>;
  enforcement: Map<string, AgentEnforcement>;
}

export function fleetSnapshot(store: Store): FleetSnapshot {
  return { rows: store.agentSnapshots(), pending: pendingByAgent(store), enforcement: enforcementOf(store) };
}

/** The live status of one agent from every signal. Cheap: no git, no transcript. */
export async function agentStatus(context: Context, record: AgentRecord, pane?: PaneInfo | null, snapshot?: FleetSnapshot): Promise<StatusReport> {
  ingestEvents(context.store, record.id, agentDir(context, record.id));
  // The caller's record may predate the end of its spawn: the lifecycle is read fresh.
  const row = snapshot?.rows.get(record.id);
  const recordState = (snapshot ? row?.state : context.store.getAgent(record.id)?.state) ?? record.state;
  const now = Date.now();
  let derived: DerivedStatus;
  if (recordState === 'spawning') {
    derived = deriveStatus({ kind: record.agentKind, recordState, spawnAbandoned: spawnAbandoned(context, record, now), pane: undefined, processAlive: false, events: [], createdAt: record.createdAt, now });
  } else {
    const paneInfo = pane === undefined ? await tmuxFor(context, record.tmuxSocket).pane(record.tmuxSession) : (pane ?? undefined);
    const live = await liveness(context, record, paneInfo);
    const fold = hookFold(context.store, record.id);
    // A call the hooks saw start: its result in the transcript says it is over (no PostToolUse for most tools).
    const transcriptPath = fold.turn.toolUseId ? (fold.transcriptPath ?? (row ? row.transcriptPath : context.store.claudeSession(record.id).transcriptPath)) : null;
    derived = deriveStatus({
      kind: record.agentKind,
      recordState,
      pane: paneInfo,
      processAlive: live.processAlive,
      exitStatus: live.exitStatus,
      events: [],
      fold,
      sessionFile: live.agentPid !== null && record.agentKind === 'claude' ? readClaudeSessionFile(claudeConfigDir(context.env), live.agentPid) : undefined,
      pendingPermission: pendingPermission(context, record.id, snapshot),
      toolFinished: transcriptPath && fold.turn.toolUseId ? toolFinished(transcriptPath, fold.turn.toolUseId, fold.turn.toolAgentId) : false,
      createdAt: record.createdAt,
      now,
    });
    derived = await checkStall(context, record, derived, fold, now);
  }
  // A state the signals cannot date (a dead pane; a turn that began before the events read) keeps the start first seen.
  const stored = context.store.noteStatus(record.id, derived.state, derived.since, row);
  const effectiveSince = derived.sinceExact ? derived.since : Math.min(stored, derived.since);
  return {
    state: derived.state,
    since: new Date(effectiveSince).toISOString(),
    secondsInState: Math.max(0, Math.round((now - effectiveSince) / 1000)),
    reason: derived.state === 'exited' || derived.state === 'spawning' ? derived.reason : `${derived.reason}${enforcementNote(context, record.id, snapshot)}`,
    exitStatus: derived.exitStatus,
    currentTool: derived.currentTool ?? null,
  };
}

/**
 * Each agent's hook events, folded once: a long-lived process keeps the fold
 * and adds only the events stored since, so a read costs a lookup however
 * long the agent has run. The first read folds the newest EVENT_WINDOW.
 */
const folds = new WeakMap<Store, Map<string, { lastId: number; fold: HookFold }>>();

function hookFold(store: Store, agentId: string): HookFold {
  let byAgent = folds.get(store);
  if (!byAgent) folds.set(store, (byAgent = new Map()));
  const cached = byAgent.get(agentId);
  if (cached) {
    const fresh = eventsAfter(store, agentId, cached.lastId);
    // Stored out of time order (two processes ingesting at once): fold the window again.
    if (!fresh.some((event) => event.fromHook && event.at < cached.fold.lastAt)) {
      foldEvents(cached.fold, fresh);
      cached.lastId = fresh.at(-1)?.id ?? cached.lastId;
      return cached.fold;
    }
  }
  const events = store.recentEvents(agentId, EVENT_WINDOW);
  const fold = foldWindow(events, events.length >= EVENT_WINDOW);
  byAgent.set(agentId, { lastId: events.reduce((max, event) => Math.max(max, event.id), 0), fold });
  return fold;
}

/** The newest hook event folded for the agent (0 before the first): a new one may mean a tool edited files. */
function latestEventId(store: Store, agentId: string): number {
  return folds.get(store)?.get(agentId)?.lastId ?? 0;
}

/** How long a read of all agents waits for git summaries that changed before it serves the cached ones, marked stale. */
const GIT_WAIT_MS = 150;

/**
 * The fleet's git summaries from the shared cache (src/state/git-summary.ts),
 * invalidated by the same signals as a status read: what other views built on
 * git (overlap warnings) use instead of asking git per agent.
 */
export function cachedGitSummaries(context: Context, records: AgentRecord[], options: { waitMs?: number; force?: boolean } = {}): Promise<Map<string, GitSummary | undefined>> {
  return gitSummaryCache(context.git).summaries(records, (record) => latestEventId(context.store, record.id), options.waitMs ?? GIT_WAIT_MS, { force: options.force });
}

/**
 * What the reason adds about the gate: a sandboxed agent whose egress gate is
 * down has no network (fail-closed) until `ringmaster doctor --fix` or the
 * next spawn starts it; an unenforced agent runs without the sandbox.
 */
function enforcementNote(context: Context, agentId: string, snapshot?: FleetSnapshot): string {
  const enforcement = snapshot ? snapshot.enforcement.get(agentId) : enforcementOf(context.store, agentId);
  if (!enforcement?.sandboxed) return '; UNENFORCED: no sandbox, only the hook gate';
  return egressAliveCached(context.config.home) ? '' : '; its network is closed: the egress gate is not running (ringmaster doctor --fix starts it)';
}

let egressProbe: { home: string; at: number; alive: boolean } | undefined;
/** One look per second is enough: a status read of 100 agents makes one. */
function egressAliveCached(home: string): boolean {
  if (!egressProbe || egressProbe.home !== home || Date.now() - egressProbe.at > 1000) egressProbe = { home, at: Date.now(), alive: egressAlive(home) };
  return egressProbe.alive;
}

function pendingPermission(context: Context, agentId: string, snapshot?: FleetSnapshot): { since: number; what: string } | undefined {
  let request = snapshot ? snapshot.pending.get(agentId) : pendingForAgent(context.store, agentId);
  // A connection held by an egress gate that is no longer running waits for nothing: it was refused when the gate died.
  if (request?.tool === 'network' && !egressAlive(context.config.home)) {
    context.store.whenWritable(() => withdrawRequest(context.store, request!.id, 'the egress gate stopped; the held connection was refused'));
    request = undefined;
  }
  return request && { since: request.createdAt, what: `${request.category} request ${request.id} (${request.summary.slice(0, 120)})` };
}

export function findLiveAgent(context: Context, name: string): AgentRecord {
  const record = context.store.findAgentByName(name);
  if (!record || record.state === 'removed') {
    throw new NotFoundError(`No agent named ${JSON.stringify(name)}. Run list_agents (or ringmaster status) to see the agents that exist.`);
  }
  return record;
}

/** Status for several agents, with one tmux call per server. */
export async function agentStatuses(context: Context, records: AgentRecord[], paneOf?: (record: AgentRecord) => PaneInfo | undefined): Promise<Map<string, StatusReport>> {
  const lookup = paneOf ?? (await livePanes(context, records));
  const statuses = new Map<string, StatusReport>();
  const snapshot = records.length > 1 ? fleetSnapshot(context.store) : undefined;
  for (const record of records) statuses.set(record.id, await agentStatus(context, record, lookup(record) ?? null, snapshot));
  return statuses;
}

export { limiter } from './limiter.js';

/** Everything ringmaster knows about agents: status, transcript summary, git summary, and with verbose the screen. */
export async function readAgentState(context: Context, options: { name?: string; verbose?: boolean } = {}): Promise<AgentStateReport[]> {
  const records = options.name ? [findLiveAgent(context, options.name)] : context.store.listAgents();
  const statuses = await agentStatuses(context, records);
  // Read after the statuses: ingesting their hook events may have named a session.
  const sessions = records.length > 1 ? context.store.agentSnapshots() : undefined;
  // Cached per worktree; a change is waited for briefly (fully for one agent), else served marked stale with its age.
  const gits = await gitSummaryCache(context.git).summaries(records, (record) => latestEventId(context.store, record.id), options.name ? 60_000 : GIT_WAIT_MS);
  const sessionOf = (record: AgentRecord) => {
    const row = sessions?.get(record.id);
    return row ? { sessionId: row.sessionId, transcriptPath: row.transcriptPath } : context.store.claudeSession(record.id);
  };
  const transcripts = refreshFleetTranscripts(
    context.store,
    context.config,
    records.flatMap((record) => {
      const path = sessionOf(record).transcriptPath;
      return path ? [[record.id, path] as [string, string]] : [];
    }),
  );
  return Promise.all(
    records.map(async (record) => {
      const session = sessionOf(record);
      let transcript: AgentStateReport['transcript'] = null;
      const state = transcripts.get(record.id);
      if (session.transcriptPath && state) {
        const summary = options.verbose ? state.summary : { ...state.summary, recentLines: [] };
        transcript = { summary, usage: state.usage, unpricedModels: state.unpricedModels };
      }
      const report: AgentStateReport = {
        id: record.id,
        name: record.name,
        agent: record.agentKind,
        branch: record.branch,
        worktreePath: record.worktreePath,
        tmuxSession: record.tmuxSession,
        status: statuses.get(record.id)!,
        claudeSessionId: session.sessionId,
        transcriptPath: session.transcriptPath,
        transcript,
        git: gits.get(record.id) ?? null,
      };
      if (options.verbose) report.screen = (await tmuxFor(context, record.tmuxSocket).capturePane(record.tmuxSession)) ?? '';
      return report;
    }),
  );
}
