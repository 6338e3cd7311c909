import type { ClaudeSessionFile } from '../adapters/claude-session.js';
import type { PaneInfo } from '../adapters/tmux.js';
import type { StoredEvent } from '../store/store.js';

export const AGENT_STATES = ['spawning', 'starting', 'working', 'waiting_permission', 'waiting_input', 'idle', 'exited', 'unknown', 'stalled', 'unreachable'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

export interface DerivedStatus {
  state: AgentState;
  /** When this state began (ms since epoch), as far as the signals tell. */
  since: number;
  /**
   * False when the signals cannot date the start of this state (a dead pane
   * has no time; a run of events may start before the window that was read):
   * the caller then keeps the start it first saw.
   */
  sinceExact: boolean;
  /** Why ringmaster believes this, in words: which signal decided it. */
  reason: string;
  exitStatus: number | null;
  /** For working: the tool running now, if a hook says so. */
  currentTool?: string;
}

export interface StatusSignals {
  kind: string;
  /** The store row's lifecycle: 'spawning' until spawn_agent confirmed the task (or rolled back). */
  recordState?: 'spawning' | 'running' | 'removed';
  /** True when a spawning row is older than any spawn can take: its spawn process died. */
  spawnAbandoned?: boolean;
  /** undefined: the tmux session does not exist. */
  pane: PaneInfo | undefined;
  processAlive: boolean;
  /** How the agent process ended, when it has and it is known. */
  exitStatus?: number | null;
  /** Hook events, newest first. */
  events: StoredEvent[];
  /** True when `events` was cut at a limit, so older events exist. */
  eventsTruncated?: boolean;
  sessionFile?: ClaudeSessionFile;
  /** The hook events already folded (a cache kept by the caller); used instead of `events` when given. */
  fold?: HookFold;
  /**
   * True when the transcript already holds the result of the tool call the
   * hooks last saw start (fold.turn.toolUseId): children have no PostToolUse
   * hook for most tools, so this is how a finished call is told apart from a
   * running one (state.ts reads it).
   */
  toolFinished?: boolean;
  /** A pending ringmaster permission request holding a call (issue 4). */
  pendingPermission?: { since: number; what: string };
  createdAt: number;
  now: number;
}

/** How long a child may take to send its first hook before "starting" becomes "unknown". */
const FIRST_EVENT_GRACE_MS = 60_000;
/**
 * Between a background task's end and Claude's turn about it, the session file
 * reads idle for about 100 ms. Only an idle that lasts longer than this ends
 * background work the hooks still count.
 */
const BACKGROUND_IDLE_SETTLE_MS = 1_500;
/** A finished background task whose task-notification turn never came stops counting after this. */
const NOTIFICATION_GRACE_MS = 10_000;

/** Background work Claude runs past the end of a turn: Agent-tool subagents and backgrounded Bash commands. */
export interface BackgroundTask {
  id: string;
  type: 'subagent' | 'shell';
  description: string;
  /** Runs past the turn (Claude will send a task-notification when it ends), as opposed to a foreground subagent. */
  async: boolean;
  /** Set when the task ended (SubagentStop, or missing from a Stop's list) and Claude has yet to take its notification. */
  finishedAt?: number;
  /**
   * A command the PreToolUse asked to run in the background, before Claude
   * named its task (there is no PostToolUse hook for Bash: see spawn.ts);
   * keyed by the call's tool_use_id until a Stop lists the real task.
   */
  announced?: boolean;
}

/** What the hook events alone say, folded oldest to newest. */
export interface HookFold {
  /** The foreground turn: what the main conversation is doing. */
  turn: { state: AgentState; reason: string; currentTool?: string; pendingTool?: string; toolUseId?: string; toolAgentId?: string };
  background: Map<string, BackgroundTask>;
  /** The state shown (turn and background together) and the event time it began at. */
  shown: AgentState;
  since: number;
  /** False when `since` is just the oldest event read. */
  sinceExact: boolean;
  lastAt: number;
  prompted: boolean;
  events: number;
  /** The main transcript, as the newest hook payload that named it says. */
  transcriptPath?: string;
}

export function emptyFold(): HookFold {
  return { turn: { state: 'starting', reason: 'no hook event yet' }, background: new Map(), shown: 'starting', since: 0, sinceExact: false, lastAt: 0, prompted: false, events: 0 };
}

/**
 * One status from every signal, never a guess. Which signal wins, strongest first:
 * 1. spawn_agent still running: `spawning` (the row exists before its tmux session);
 * 2. the pane and the process: gone or dead is `exited`, whatever the hooks said;
 * 3. ringmaster's own gate holding a call: `waiting_permission`;
 * 4. Claude's live session file, when it is newer than the last hook and says
 *    idle: no hook fires on Esc (mid-turn, on a permission dialog or on a
 *    question), so its idle ends a turn the hooks still think runs;
 * 5. the hook events, folded in order, with background subagents and
 *    commands keeping the agent `working` after the turn's Stop.
 * Pure, so every rule is unit-tested.
 */
export function deriveStatus(signals: StatusSignals): DerivedStatus {
  const { pane, now } = signals;
  if (signals.recordState === 'spawning') {
    if (signals.spawnAbandoned) return { state: 'unknown', since: signals.createdAt, sinceExact: true, reason: 'spawn_agent never finished for this agent (the process that ran it ended); clean it up and spawn again', exitStatus: null };
    return { state: 'spawning', since: signals.createdAt, sinceExact: true, reason: 'spawn_agent is preparing the worktree and starting the agent', exitStatus: null };
  }
  if (!pane) return { state: 'exited', since: now, sinceExact: false, reason: 'the tmux session no longer exists (it was killed or the machine restarted)', exitStatus: signals.exitStatus ?? null };
  if (pane.paneDead || !signals.processAlive) {
    const status = signals.exitStatus ?? pane.deadStatus;
    return { state: 'exited', since: now, sinceExact: false, reason: `the agent process exited${status === null || status === undefined ? '' : ` with status ${status}`}`, exitStatus: status ?? null };
  }
  if (signals.pendingPermission) {
    return { state: 'waiting_permission', since: signals.pendingPermission.since, sinceExact: true, reason: `ringmaster's gate is holding ${signals.pendingPermission.what}`, exitStatus: null };
  }
  if (signals.kind !== 'claude') {
    return { state: 'unknown', since: signals.createdAt, sinceExact: true, reason: `${signals.kind} reports no status events; its process is alive, but whether it is working or waiting cannot be known`, exitStatus: null };
  }

  const fold = signals.fold ?? foldWindow(signals.events, signals.eventsTruncated ?? false);
  if (fold.events === 0) {
    if (now - signals.createdAt < FIRST_EVENT_GRACE_MS) return { state: 'starting', since: signals.createdAt, sinceExact: true, reason: 'the process is up; Claude has not started its session yet', exitStatus: null };
    return { state: 'unknown', since: signals.createdAt, sinceExact: true, reason: `no hook event arrived in ${Math.round((now - signals.createdAt) / 1000)} s; the child may be stuck at a dialog (attach to look)`, exitStatus: null };
  }
  return statusFromFold(fold, signals.sessionFile, now, signals.toolFinished);
}

/** Folds the newest events read (newest first); `truncated` says older ones exist, so an early start is not known. */
export function foldWindow(eventsNewestFirst: StoredEvent[], truncated: boolean): HookFold {
  const hookEvents = eventsNewestFirst.filter((event) => event.fromHook).reverse();
  const fold = foldEvents(emptyFold(), hookEvents);
  if (!truncated && hookEvents.length > 0 && fold.since === hookEvents[0]!.at) fold.sinceExact = true;
  return fold;
}

/** The fold's status, corrected by the live session file (the one signal that sees Esc). */
export function statusFromFold(fold: HookFold, file: ClaudeSessionFile | undefined, now: number, toolFinished = false): DerivedStatus {
  const waiting = fold.turn.state === 'waiting_permission' || fold.turn.state === 'waiting_input';
  if (waiting && fold.turn.pendingTool) {
    // No hook fires when Claude's own dialog is answered (children have no PostToolUse for most tools): the
    // session file turning busy after it says the turn goes on. Not the call's result in the transcript: Esc on
    // the dialog writes one too (a refusal), and the file turns idle a moment later.
    const fileBusy = file?.status === 'busy' && file.statusUpdatedAt !== undefined && file.statusUpdatedAt > fold.lastAt ? file.statusUpdatedAt : undefined;
    if (fileBusy !== undefined) {
      const reason = `${fold.turn.state === 'waiting_input' ? 'the question was answered' : 'the dialog was answered'}; the turn goes on (Claude reports busy)`;
      fold = { ...fold, turn: { ...fold.turn, state: 'working', reason, currentTool: undefined }, shown: 'working', since: fileBusy, sinceExact: true };
    }
  } else if (toolFinished && fold.turn.state === 'working' && fold.turn.currentTool) {
    fold = { ...fold, turn: { ...fold.turn, reason: `finished tool ${fold.turn.currentTool}; the turn continues`, currentTool: undefined } };
  }
  return statusFromSignals(fold, file, now);
}

function statusFromSignals(fold: HookFold, file: ClaudeSessionFile | undefined, now: number): DerivedStatus {
  const base = { exitStatus: null, sinceExact: fold.sinceExact };
  const active = activeBackground(fold, now);
  const fileIdle = file?.status === 'idle' && file.statusUpdatedAt !== undefined && file.statusUpdatedAt > fold.lastAt ? file.statusUpdatedAt : undefined;
  const turnRuns = fold.turn.state === 'working' || fold.turn.state === 'waiting_permission' || fold.turn.state === 'waiting_input';

  if (fileIdle !== undefined && turnRuns && active.length === 0) {
    const reason =
      fold.turn.state === 'working'
        ? 'the turn was interrupted (Claude reports idle with no Stop event)'
        : `the ${fold.turn.state === 'waiting_input' ? 'question' : 'permission dialog'} was dismissed (Claude reports idle with no hook event)`;
    return { state: 'idle', since: fileIdle, sinceExact: true, reason, exitStatus: null };
  }
  if (fileIdle !== undefined && active.length > 0 && now - fileIdle >= BACKGROUND_IDLE_SETTLE_MS) {
    return { state: 'idle', since: fileIdle, sinceExact: true, reason: 'the background work ended; Claude reports idle', exitStatus: null };
  }
  if (turnRuns) {
    const extra = active.length > 0 ? `; ${describeBackground(active)}` : '';
    return { ...base, state: fold.turn.state, since: fold.since, reason: `${fold.turn.reason}${extra}`, currentTool: fold.turn.currentTool };
  }
  if (active.length > 0) {
    return { ...base, state: 'working', since: fold.shown === 'working' ? fold.since : now, reason: describeBackground(active) };
  }
  if (fold.shown === 'working' && fold.turn.state !== 'working') {
    // The fold counted a finished task still waiting for its notification, and the grace ran out.
    return { ...base, state: fold.turn.state, since: now, sinceExact: false, reason: fold.turn.reason };
  }
  return { ...base, state: fold.turn.state, since: fold.since, reason: fold.turn.reason, currentTool: fold.turn.currentTool };
}

/** A tool event of a subagent that runs in the background: it tells nothing about the main turn. */
function fromBackgroundSubagent(fold: HookFold, detail: Record<string, unknown>): boolean {
  return typeof detail.agent_id === 'string' && fold.background.get(detail.agent_id)?.async === true;
}

function activeBackground(fold: HookFold, now: number): BackgroundTask[] {
  return [...fold.background.values()].filter((task) => task.finishedAt === undefined || now - task.finishedAt < NOTIFICATION_GRACE_MS);
}

function describeBackground(tasks: BackgroundTask[]): string {
  const running = tasks.filter((task) => task.finishedAt === undefined);
  const parts: string[] = [];
  const count = (type: BackgroundTask['type']) => running.filter((task) => task.type === type).length;
  const subagents = count('subagent');
  const shells = count('shell');
  if (subagents) parts.push(`${subagents} background subagent${subagents > 1 ? 's' : ''} running`);
  if (shells) parts.push(`${shells} background command${shells > 1 ? 's' : ''} running`);
  const finished = tasks.length - running.length;
  if (finished) parts.push(`${finished} background task${finished > 1 ? 's' : ''} finished; Claude is about to take the result`);
  return parts.join(', ');
}

/** Folds hook events (oldest first) into the fold, in place; returns it. */
export function foldEvents(fold: HookFold, events: StoredEvent[]): HookFold {
  for (const event of events) {
    if (!event.fromHook) continue;
    if (fold.events === 0) fold.since = event.at;
    fold.events++;
    fold.lastAt = Math.max(fold.lastAt, event.at);
    const transcript = event.detail?.transcript_path;
    if (typeof transcript === 'string' && transcript && event.detail?.agent_id === undefined) fold.transcriptPath = transcript;
    applyEvent(fold, event);
    const shown = fold.turn.state === 'idle' || fold.turn.state === 'starting' ? (fold.background.size > 0 ? 'working' : fold.turn.state) : fold.turn.state;
    if (shown !== fold.shown) {
      fold.shown = shown;
      fold.since = event.at;
      // The first event read may not be the first event there is: only a change seen within the events is a known start.
      fold.sinceExact = fold.events > 1;
    }
  }
  return fold;
}

const QUESTION = 'Claude asked the user a question (AskUserQuestion)';

/** The tool call in flight is over (its PostToolUse, a Stop, a new prompt). */
function endCall(fold: HookFold): void {
  fold.turn.pendingTool = undefined;
  fold.turn.toolUseId = undefined;
  fold.turn.toolAgentId = undefined;
}

function applyEvent(fold: HookFold, event: StoredEvent): void {
  const detail = event.detail ?? {};
  const tool = typeof detail.tool_name === 'string' ? detail.tool_name : undefined;
  const turn = fold.turn;
  const set = (state: AgentState, reason: string, currentTool?: string) => {
    fold.turn = { state, reason, currentTool, pendingTool: turn.pendingTool, toolUseId: turn.toolUseId, toolAgentId: turn.toolAgentId };
  };
  switch (event.kind) {
    case 'SessionStart':
      // Compaction starts a new session inside a running turn: the turn goes on.
      if (detail.source === 'compact') return;
      if (fold.prompted || detail.source !== 'startup') set('idle', `a new session started (${String(detail.source ?? 'unknown source')}) and waits for a prompt`);
      else set('starting', 'Claude started its session and is taking the task');
      if (detail.source === 'clear' || detail.source === 'startup') fold.background.clear();
      return;
    case 'UserPromptSubmit': {
      fold.prompted = true;
      endCall(fold);
      const prompt = typeof detail.prompt === 'string' ? detail.prompt : '';
      const notification = /^\s*<task-notification>/.test(prompt);
      if (notification) {
        const id = /<task-id>([^<]+)<\/task-id>/.exec(prompt)?.[1];
        if (id && fold.background.has(id)) fold.background.delete(id);
        else if (id) {
          // A task known only by its announcement (no Stop named it): the oldest such command is the one that ended.
          const announced = [...fold.background.values()].find((task) => task.announced);
          if (announced) fold.background.delete(announced.id);
        }
      }
      set('working', notification ? 'Claude is taking the result of a background task' : 'a prompt was submitted; the turn is running');
      return;
    }
    case 'PreToolUse': {
      if (fromBackgroundSubagent(fold, detail)) return;
      fold.turn.pendingTool = tool;
      // Which call it is, so that its tool result in the transcript can end it (see toolFinished in state.ts).
      fold.turn.toolUseId = typeof detail.tool_use_id === 'string' ? detail.tool_use_id : undefined;
      fold.turn.toolAgentId = typeof detail.agent_id === 'string' ? detail.agent_id : undefined;
      const input = (detail.tool_input ?? {}) as Record<string, unknown>;
      if (tool === 'Bash' && input.run_in_background === true && fold.turn.toolUseId && !fold.turn.toolAgentId) {
        const id = `announced:${fold.turn.toolUseId}`;
        fold.background.set(id, { id, type: 'shell', description: String(input.description ?? input.command ?? 'command'), async: true, announced: true });
      }
      if (tool === 'AskUserQuestion') set('waiting_input', QUESTION);
      else set('working', `running tool ${tool ?? 'unknown'}`, tool);
      return;
    }
    case 'PostToolUse': {
      if (fromBackgroundSubagent(fold, detail)) return;
      endCall(fold);
      const description = String((detail.tool_input as Record<string, unknown> | undefined)?.description ?? 'task');
      const shellId = typeof detail.background_task_id === 'string' ? detail.background_task_id : undefined;
      if (shellId) fold.background.set(shellId, { id: shellId, type: 'shell', description, async: true });
      const agentId = typeof detail.async_agent_id === 'string' ? detail.async_agent_id : undefined;
      if (agentId) fold.background.set(agentId, { ...(fold.background.get(agentId) ?? { id: agentId, type: 'subagent', description }), async: true });
      set('working', `finished tool ${tool ?? 'unknown'}; the turn continues`);
      return;
    }
    case 'SubagentStart': {
      const id = typeof detail.agent_id === 'string' ? detail.agent_id : undefined;
      if (id && !fold.background.has(id)) fold.background.set(id, { id, type: 'subagent', description: String(detail.agent_type ?? 'subagent'), async: false });
      return;
    }
    case 'SubagentStop': {
      const id = typeof detail.agent_id === 'string' ? detail.agent_id : undefined;
      const task = id ? fold.background.get(id) : undefined;
      // A background subagent's end is followed by a task-notification turn; until it comes, the work is not over.
      if (task?.async) task.finishedAt ??= event.at;
      else if (id) fold.background.delete(id);
      return;
    }
    case 'PermissionRequest':
      // AskUserQuestion shows its question through the permission dialog: that is a question, not a permission.
      if ((tool ?? turn.pendingTool) === 'AskUserQuestion') set('waiting_input', QUESTION);
      else set('waiting_permission', `Claude asks permission for ${tool ?? 'a tool'}`);
      return;
    case 'Notification': {
      const type = detail.notification_type;
      if (type === 'permission_prompt' || type === 'agent_needs_input') {
        if (turn.pendingTool === 'AskUserQuestion') set('waiting_input', QUESTION);
        else set('waiting_permission', `Claude waits for a decision${turn.pendingTool ? ` on ${turn.pendingTool}` : ''}: ${String(detail.message ?? type)}`);
      } else if (type === 'elicitation_dialog') set('waiting_input', 'an MCP server asks the user for input');
      else if (type === 'idle_prompt' && turn.state !== 'starting') set('idle', 'Claude has been waiting for a prompt');
      // Other notifications don't change what the agent is doing.
      return;
    }
    case 'Stop': {
      endCall(fold);
      set('idle', 'the turn finished');
      const listed = Array.isArray(detail.background_tasks) ? (detail.background_tasks as Array<Record<string, unknown>>) : undefined;
      if (!listed) return;
      // Claude's own list names every task: announcements made before it had an id are replaced by it.
      for (const [id, task] of fold.background) if (task.announced) fold.background.delete(id);
      const running = new Set<string>();
      for (const task of listed) {
        if (typeof task.id !== 'string') continue;
        running.add(task.id);
        const known = fold.background.get(task.id);
        const entry = known ?? { id: task.id, type: task.type === 'shell' ? 'shell' : 'subagent', description: String(task.description ?? task.type ?? 'task'), async: true };
        entry.async = true;
        // Listed but no longer running: its task-notification turn is still to come.
        if (task.status !== 'running') entry.finishedAt ??= event.at;
        fold.background.set(task.id, entry);
      }
      // The list is Claude's own account of what still runs; anything else it no longer runs.
      for (const [id, task] of fold.background) {
        if (running.has(id)) continue;
        if (listed.length === 0) fold.background.delete(id);
        else task.finishedAt ??= event.at;
      }
      return;
    }
    case 'SessionEnd':
      // /clear ends the conversation, not the process: Claude waits for a new prompt.
      fold.background.clear();
      if (detail.reason === 'clear') set('idle', 'the conversation was cleared (/clear) and waits for a prompt');
      else set('exited', `Claude ended its session (${String(detail.reason ?? 'no reason given')})`);
      return;
    default:
      set('unknown', `last event ${event.kind} is not one ringmaster understands`);
  }
}
