import { mkdirSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { MAX_TASK_ARG_BYTES } from '../adapters/agent-cli.js';
import { ConflictError, UserInputError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import { agentDir, tmuxFor, type Context, inboxDir } from '../core/index.js';
import { ingestEvents, agentStatus, eventsAfter, findLiveAgent, spoolDir } from '../state/index.js';
import { assertMayPrompt } from './budget.js';

export interface SendPromptInput {
  name: string;
  text: string;
  /** Mid-turn: press Esc first and wait for the agent to be idle. */
  interrupt?: boolean;
  /** Mid-turn: deliver at the agent's next idle instead. */
  queue?: boolean;
  /** How long to wait for proof of delivery. */
  timeoutMs?: number;
}

export interface SendPromptResult {
  name: string;
  /** true: proven (Claude's UserPromptSubmit showed the text); false: not proven; null: this CLI cannot tell. */
  delivered: boolean | null;
  method: 'paste' | 'typed' | 'file' | 'queued';
  verifiedBy: 'UserPromptSubmit' | null;
  queueId: number | null;
  interrupted: boolean;
  notes: string[];
}

const BUSY: ReadonlySet<string> = new Set(['spawning', 'starting', 'working', 'waiting_permission', 'waiting_input']);
const MAX_PROMPT_BYTES = 10 * 1024 * 1024;
/** Slash commands are typed key by key: pasted, Claude takes them as plain text. */
const SLASH_COMMAND = /^\/[A-Za-z][\w:-]*( [^\n]*)?$/;

/**
 * Delivers text into an agent's terminal as one bracketed paste and a separate
 * Enter, and proves it arrived: only the UserPromptSubmit event carrying the
 * same text makes `delivered` true.
 */
export async function sendPrompt(context: Context, input: SendPromptInput): Promise<SendPromptResult> {
  if (input.text.trim() === '') throw new UserInputError('text is empty. Pass the prompt to send.');
  if (input.text.includes('\0')) throw new UserInputError('text contains a NUL byte, which a terminal cannot carry. Remove it.');
  if (Buffer.byteLength(input.text) > MAX_PROMPT_BYTES) throw new UserInputError(`text is over ${MAX_PROMPT_BYTES} bytes. Put it in a file in the worktree and send a prompt that points at it.`);
  if (input.interrupt && input.queue) throw new UserInputError('Pass interrupt or queue, not both.');
  const record = findLiveAgent(context, input.name);
  assertMayPrompt(context, record);
  // One tmux process gives the pane for the status and the screen the delivery starts from.
  const look = await tmuxFor(context, record.tmuxSocket).paneAndScreen(record.tmuxSession);
  const status = await agentStatus(context, record, look?.pane ?? null);
  const notes: string[] = [];
  if (status.state === 'exited') throw new ConflictError(`Agent "${record.name}" has exited (${status.reason}); it cannot take prompts. Read its work, then clean it up or spawn a new agent.`);

  let interrupted = false;
  if (BUSY.has(status.state)) {
    if (input.queue) {
      const now = Date.now();
      const row = context.store.db
        .prepare(`INSERT INTO prompt_queue (agent_id, text, state, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?)`)
        .run(record.id, input.text, now, now);
      return { name: record.name, delivered: false, method: 'queued', verifiedBy: null, queueId: Number(row.lastInsertRowid), interrupted: false, notes: [`Queued: the agent is ${status.state}; ringmaster delivers it when the agent is next idle.`] };
    }
    if (!input.interrupt) {
      throw new ConflictError(
        `Agent "${record.name}" is ${status.state} (${status.reason}) for ${status.secondsInState} s. Pass interrupt: true to stop its turn first (Esc), or queue: true to deliver when it is idle.`,
      );
    }
    await interruptTurn(context, record);
    interrupted = true;
    notes.push('The running turn was interrupted with Esc before sending.');
  }
  // After an interrupt the screen has changed: deliver looks again.
  return { ...(await deliver(context, record, input.text, input.timeoutMs ?? 20_000, notes, interrupted ? undefined : look?.screen)), interrupted };
}

/** Ends an agent's running turn with Esc (as send_prompt's interrupt does) without sending anything; false when it was not busy. */
export async function interruptAgent(context: Context, input: { name: string }): Promise<{ name: string; interrupted: boolean; state: string }> {
  const record = findLiveAgent(context, input.name);
  const status = await agentStatus(context, record);
  if (status.state === 'exited') throw new ConflictError(`Agent "${record.name}" has exited (${status.reason}); there is no turn to interrupt.`);
  if (!BUSY.has(status.state)) return { name: record.name, interrupted: false, state: status.state };
  await interruptTurn(context, record);
  return { name: record.name, interrupted: true, state: (await agentStatus(context, record)).state };
}

async function interruptTurn(context: Context, record: AgentRecord): Promise<void> {
  const tmux = tmuxFor(context, record.tmuxSocket);
  const deadline = Date.now() + 15_000;
  let lastEsc = 0;
  for (;;) {
    const status = await agentStatus(context, record);
    if (!BUSY.has(status.state)) return;
    if (Date.now() > deadline) throw new ConflictError(`Agent "${record.name}" did not become idle within 15 s of Esc (still ${status.state}: ${status.reason}). Attach to look: ${tmux.attachCommand(record.tmuxSession)}`);
    if (Date.now() - lastEsc > 3_000) {
      await tmux.sendKeys(record.tmuxSession, ['Escape']);
      lastEsc = Date.now();
    }
    await sleep(200);
  }
}

/**
 * Pastes (or types) the text and waits for proof. Exported for the queue,
 * which has already checked the state. `screen`: the pane as just captured,
 * if the caller has it.
 */
export async function deliver(context: Context, record: AgentRecord, text: string, timeoutMs: number, notes: string[] = [], screen?: string): Promise<Omit<SendPromptResult, 'interrupted'>> {
  // The proof is a hook's spool file: watched from before the paste, so the wait wakes the moment it lands.
  const proof = spoolSignal(spoolDir(agentDir(context, record.id)));
  try {
    return await deliverWatched(context, record, text, timeoutMs, notes, proof, screen);
  } finally {
    proof.close();
  }
}

/** Wakes a waiter when a file lands in the folder (or one landed since the last wait); a timer stands in if watching fails. */
function spoolSignal(folder: string): { next: (timeoutMs: number) => Promise<void>; close: () => void } {
  let pending = false;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(folder, { persistent: false }, () => {
      pending = true;
      wake?.();
    });
    watcher.on('error', () => undefined);
  } catch {
    // No spool folder to watch: the fallback timer alone.
  }
  return {
    next: (timeoutMs) =>
      new Promise<void>((resolve) => {
        if (pending) {
          pending = false;
          resolve();
          return;
        }
        const timer = setTimeout(() => done(), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          wake = undefined;
          pending = false;
          resolve();
        };
        wake = done;
      }),
    close: () => watcher?.close(),
  };
}

async function deliverWatched(
  context: Context,
  record: AgentRecord,
  text: string,
  timeoutMs: number,
  notes: string[],
  proof: ReturnType<typeof spoolSignal>,
  screenNow: string | undefined,
): Promise<Omit<SendPromptResult, 'interrupted'>> {
  const tmux = tmuxFor(context, record.tmuxSocket);
  const session = record.tmuxSession;
  // Only events after this one can prove this delivery.
  ingestEvents(context.store, record.id, agentDir(context, record.id));
  const lastEventId = context.store.recentEvents(record.id, 1)[0]?.id ?? 0;

  // One look at the screen: is there unsent text to clear (and, for a typed command or another CLI, what the keys must change).
  let screenBefore = screenNow ?? (await tmux.capturePane(session)) ?? '';
  if (record.agentKind === 'claude') {
    const cleared = await clearClaudeInput(tmux, session, screenBefore);
    if (cleared) {
      notes.push(`Cleared unsent text from the input box first: ${JSON.stringify(cleared.slice(0, 200))}.`);
      screenBefore = (await tmux.capturePane(session)) ?? '';
    }
  }

  let method: SendPromptResult['method'] = 'paste';
  let sent = text;
  if (SLASH_COMMAND.test(text)) {
    method = 'typed';
    await tmux.sendKeys(session, ['-l', text]);
  } else {
    if (Buffer.byteLength(text) > MAX_TASK_ARG_BYTES) {
      const inbox = inboxDir(agentDir(context, record.id));
      mkdirSync(inbox, { recursive: true, mode: 0o700 });
      const file = join(inbox, `prompt-${Date.now()}.md`);
      writeFileSync(file, text, { mode: 0o600 });
      sent = `This prompt is too long to type, so it is in the file ${file} (${Buffer.byteLength(text)} bytes). Read the whole file, then do what it says.`;
      method = 'file';
      notes.push(`The text is over ${MAX_TASK_ARG_BYTES} bytes; it was saved to ${file} and the agent was told to read it.`);
    }
  }
  if (method !== 'typed' && record.agentKind === 'claude') {
    // Claude Code takes an Enter that follows the paste's closing bracket in
    // the same write, so one tmux process pastes and submits. If the Enter is
    // ever lost, the proof loop below presses it again.
    await tmux.pasteAndEnter(session, sent);
  } else {
    if (method !== 'typed') await tmux.paste(session, sent);
    // Other CLIs submit only once the TUI shows it has taken the text in: an
    // Enter that arrives first is lost, and the text sits in the input box unsent.
    // A typed slash command opens Claude's command menu, which needs a moment to settle before Enter runs it.
    await waitForScreenChange(tmux, session, screenBefore, 3_000, method === 'typed' ? 400 : 50);
    await tmux.sendKeys(session, ['Enter']);
  }

  if (record.agentKind !== 'claude') {
    notes.push(`${record.agentKind} gives no delivery confirmation; the text was pasted and submitted.`);
    return { name: record.name, delivered: null, method, verifiedBy: null, queueId: null, notes };
  }
  const deadline = Date.now() + timeoutMs;
  const expected = normalize(sent);
  let lastEnter = Date.now();
  let extraEnters = 0;
  while (Date.now() < deadline) {
    ingestEvents(context.store, record.id, agentDir(context, record.id));
    // Only the events since the paste: older ones (earlier prompts, maybe 100 kB each) are not parsed again on every wake.
    const fresh = eventsAfter(context.store, record.id, lastEventId);
    // Oldest first: the first prompt Claude took after the paste is this one (a later one is someone else's).
    const submitted = fresh.find((event) => event.kind === 'UserPromptSubmit' && typeof event.detail?.prompt === 'string');
    if (submitted) {
      const prompt = submitted.detail!.prompt as string;
      if (normalize(prompt) === expected) return { name: record.name, delivered: true, method, verifiedBy: 'UserPromptSubmit', queueId: null, notes };
      if (expected.includes('\t') && normalize(prompt) === expected.replace(/\t/g, '    ')) {
        notes.push('Claude Code turned each tab of the pasted text into four spaces; everything else arrived as sent.');
        return { name: record.name, delivered: true, method, verifiedBy: 'UserPromptSubmit', queueId: null, notes };
      }
      const unwrapped = unwrapPaste(prompt);
      if (unwrapped !== undefined && normalize(unwrapped) === expected) {
        notes.push('Claude received the text intact, wrapped as one <pasted_content> block (how it marks large pastes for the model).');
        return { name: record.name, delivered: true, method, verifiedBy: 'UserPromptSubmit', queueId: null, notes };
      }
      notes.push(`Claude received a different text than was sent (${prompt.length} characters instead of ${sent.length}); not counted as delivered.`);
      return { name: record.name, delivered: false, method, verifiedBy: null, queueId: null, notes };
    }
    if (method === 'typed' && fresh.length > 0) {
      // A built-in slash command runs inside Claude Code and submits no prompt: its own events are the evidence.
      notes.push(`Claude handled the command (events: ${[...new Set(fresh.map((event) => event.kind))].join(', ')}); built-in commands submit no prompt to confirm.`);
      return { name: record.name, delivered: null, method, verifiedBy: null, queueId: null, notes };
    }
    // Still sitting in the input box: the Enter was lost; press it again (an Enter on an empty box does nothing).
    if (Date.now() - lastEnter > 2_000 && extraEnters < 3) {
      await tmux.sendKeys(session, ['Enter']);
      lastEnter = Date.now();
      extraEnters++;
    }
    // Woken by the hook's file; the timer only paces the lost-Enter check above.
    await proof.next(250);
  }
  const screen = (await tmux.capturePane(session)) ?? '';
  notes.push(`No UserPromptSubmit with this text within ${Math.round(timeoutMs / 1000)} s. Last screen:\n${screen.split('\n').filter((line) => line.trim()).slice(-12).join('\n')}`);
  return { name: record.name, delivered: false, method, verifiedBy: null, queueId: null, notes };
}

/**
 * The text in Claude's input box: the lines between the last two horizontal
 * rules of the screen, without the "❯" prompt. Undefined when no box is seen.
 */
export function claudeInputBox(screen: string): string | undefined {
  const lines = screen.split('\n');
  const rules = lines.flatMap((line, index) => (/^─{20,}/.test(line.trim()) ? [index] : []));
  if (rules.length < 2) return undefined;
  const [top, bottom] = rules.slice(-2) as [number, number];
  return lines
    .slice(top + 1, bottom)
    .map((line) => line.replace(/^\s*❯\s?/, '').trimEnd())
    .join('\n')
    .trim();
}

/**
 * Empties Claude's input box before a paste. After an Esc interrupt Claude
 * puts the interrupted prompt back there, and a paste would be appended to
 * it. Returns the text that was removed, if any.
 */
async function clearClaudeInput(tmux: ReturnType<typeof tmuxFor>, session: string, screen: string): Promise<string | undefined> {
  const initial = claudeInputBox(screen);
  if (!initial) return undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    // Ctrl-U empties the current line; Backspace then joins it to the line above.
    await tmux.sendKeys(session, ['C-u']);
    await sleep(60);
    if (!claudeInputBox((await tmux.capturePane(session)) ?? '')) return initial;
    await tmux.sendKeys(session, ['BSpace']);
    await sleep(40);
  }
  return initial;
}

async function waitForScreenChange(tmux: ReturnType<typeof tmuxFor>, session: string, before: string, timeoutMs: number, settleMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(30);
    if (((await tmux.capturePane(session)) ?? '') !== before) {
      // Let the TUI finish taking in the text before the Enter arrives.
      await sleep(settleMs);
      return;
    }
  }
}

/** The content of a prompt that is exactly one `<pasted_content id="…">` block, as Claude Code marks large pastes. */
export function unwrapPaste(prompt: string): string | undefined {
  const match = /^\s*<pasted_content id="([^"]+)">\n([\s\S]*)\n<\/pasted_content id="\1">\s*$/.exec(prompt);
  return match?.[2];
}

/** Claude stores the prompt with line endings unified and outer whitespace trimmed. */
function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
