import type { ClaudeSessionFile } from '../adapters/claude-session.js';
import type { PaneInfo } from '../adapters/tmux.js';
import type { StoredEvent } from '../store/store.js';

export const AGENT_STATES = ['starting', 'working', 'waiting_permission', 'waiting_input', 'idle', 'exited', 'unknown'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

export interface DerivedStatus {
  state: AgentState;
  /** When this state began (ms since epoch), as far as the signals tell. */
  since: number;
  /** Why ringmaster believes this, in words: which signal decided it. */
  reason: string;
  exitStatus: number | null;
  /** For working: the tool running now, if a hook says so. */
  currentTool?: string;
}

export interface StatusSignals {
  kind: string;
  /** undefined: the tmux session does not exist. */
  pane: PaneInfo | undefined;
  processAlive: boolean;
  /** How the agent process ended, when it has and it is known. */
  exitStatus?: number | null;
  /** Hook events, newest first. */
  events: StoredEvent[];
  sessionFile?: ClaudeSessionFile;
  /** A pending ringmaster permission request holding a call (issue 4). */
  pendingPermission?: { since: number; what: string };
  createdAt: number;
  now: number;
}

/** How long a child may take to send its first hook before "starting" becomes "unknown". */
const FIRST_EVENT_GRACE_MS = 60_000;

/**
 * One status from every signal, never a guess: process and pane liveness
 * first, then Claude's hook events, corrected by the live session file (the
 * only signal that sees an Esc interrupt). Pure, so every rule is unit-tested.
 */
export function deriveStatus(signals: StatusSignals): DerivedStatus {
  const { pane, events, now } = signals;
  if (!pane) return { state: 'exited', since: now, reason: 'the tmux session no longer exists (it was killed or the machine restarted)', exitStatus: signals.exitStatus ?? null };
  if (pane.paneDead || !signals.processAlive) {
    const status = signals.exitStatus ?? pane.deadStatus;
    return { state: 'exited', since: now, reason: `the agent process exited${status === null || status === undefined ? '' : ` with status ${status}`}`, exitStatus: status ?? null };
  }
  if (signals.pendingPermission) {
    return { state: 'waiting_permission', since: signals.pendingPermission.since, reason: `ringmaster's gate is holding ${signals.pendingPermission.what}`, exitStatus: null };
  }
  if (signals.kind !== 'claude') {
    return { state: 'unknown', since: signals.createdAt, reason: `${signals.kind} reports no status events; its process is alive, but whether it is working or waiting cannot be known`, exitStatus: null };
  }

  const hookEvents = events.filter((event) => event.fromHook);
  const last = hookEvents[0];
  if (!last) {
    if (now - signals.createdAt < FIRST_EVENT_GRACE_MS) return { state: 'starting', since: signals.createdAt, reason: 'the process is up; Claude has not started its session yet', exitStatus: null };
    return { state: 'unknown', since: signals.createdAt, reason: `no hook event arrived in ${Math.round((now - signals.createdAt) / 1000)} s; the child may be stuck at a dialog (attach to look)`, exitStatus: null };
  }

  const fromHooks = stateFromEvent(last, hookEvents);
  // No hook fires on Esc: the session file's idle, written after the last hook, is the truth then.
  const file = signals.sessionFile;
  if (fromHooks.state === 'working' && file?.status === 'idle' && file.statusUpdatedAt !== undefined && file.statusUpdatedAt > last.at) {
    return { state: 'idle', since: file.statusUpdatedAt, reason: 'the turn was interrupted (Claude reports idle with no Stop event)', exitStatus: null };
  }
  return fromHooks;
}

/** The tool of the newest PreToolUse that nothing has finished yet (no PostToolUse, Stop or new prompt since). */
function pendingTool(events: StoredEvent[]): string | undefined {
  for (const event of events) {
    if (event.kind === 'PostToolUse' || event.kind === 'Stop' || event.kind === 'UserPromptSubmit') return undefined;
    if (event.kind === 'PreToolUse') return typeof event.detail?.tool_name === 'string' ? event.detail.tool_name : undefined;
  }
  return undefined;
}

function stateFromEvent(last: StoredEvent, events: StoredEvent[]): DerivedStatus {
  const detail = last.detail ?? {};
  const tool = typeof detail.tool_name === 'string' ? detail.tool_name : undefined;
  const base = { since: last.at, exitStatus: null };
  switch (last.kind) {
    case 'SessionStart': {
      const prompted = events.some((event) => event.kind === 'UserPromptSubmit');
      return prompted || detail.source !== 'startup'
        ? { ...base, state: 'idle', reason: `a new session started (${String(detail.source ?? 'unknown source')}) and waits for a prompt` }
        : { ...base, state: 'starting', reason: 'Claude started its session and is taking the task' };
    }
    case 'UserPromptSubmit':
      return { ...base, state: 'working', reason: 'a prompt was submitted; the turn is running' };
    case 'PreToolUse':
      if (tool === 'AskUserQuestion') return { ...base, state: 'waiting_input', reason: 'Claude asked the user a question (AskUserQuestion)' };
      return { ...base, state: 'working', reason: `running tool ${tool ?? 'unknown'}`, currentTool: tool };
    case 'PostToolUse':
      return { ...base, state: 'working', reason: `finished tool ${tool ?? 'unknown'}; the turn continues` };
    case 'SubagentStop':
      return { ...base, state: 'working', reason: 'a subagent finished; the main turn continues' };
    case 'PermissionRequest':
      // AskUserQuestion shows its question through the permission dialog: that is a question, not a permission.
      if ((tool ?? pendingTool(events)) === 'AskUserQuestion') return { ...base, state: 'waiting_input', reason: 'Claude asked the user a question (AskUserQuestion)' };
      return { ...base, state: 'waiting_permission', reason: `Claude asks permission for ${tool ?? 'a tool'}` };
    case 'Notification': {
      const type = detail.notification_type;
      if ((type === 'permission_prompt' || type === 'agent_needs_input') && pendingTool(events) === 'AskUserQuestion') {
        return { ...base, state: 'waiting_input', reason: 'Claude asked the user a question (AskUserQuestion)' };
      }
      if (type === 'permission_prompt' || type === 'agent_needs_input') {
        const pending = pendingTool(events);
        return { ...base, state: 'waiting_permission', reason: `Claude waits for a decision${pending ? ` on ${pending}` : ''}: ${String(detail.message ?? type)}` };
      }
      if (type === 'elicitation_dialog') return { ...base, state: 'waiting_input', reason: 'an MCP server asks the user for input' };
      if (type === 'idle_prompt') return { ...base, state: 'idle', reason: 'Claude has been waiting for a prompt' };
      // Other notifications don't change what the agent is doing: look further back.
      const earlier = events.slice(events.indexOf(last) + 1);
      return earlier[0] ? stateFromEvent(earlier[0], earlier) : { ...base, state: 'starting', reason: 'only notifications so far' };
    }
    case 'Stop':
      return { ...base, state: 'idle', reason: 'the turn finished' };
    case 'SessionEnd':
      // /clear ends the conversation, not the process: Claude waits for a new prompt.
      if (detail.reason === 'clear') return { ...base, state: 'idle', reason: 'the conversation was cleared (/clear) and waits for a prompt' };
      return { ...base, state: 'exited', reason: `Claude ended its session (${String(detail.reason ?? 'no reason given')})` };
    default:
      return { ...base, state: 'unknown', reason: `last event ${last.kind} is not one ringmaster understands` };
  }
}
