import { ExternalToolError } from '../errors.js';
import type { Tmux } from '../adapters/tmux.js';
import type { AgentKind } from '../store/store.js';
import type { ProgressReporter } from '../core/index.js';

export interface StartupWatch {
  tmux: Tmux;
  session: string;
  kind: AgentKind;
  delivery: 'argv' | 'paste';
  task: string;
  /** The exit status the launch script recorded, once the agent has ended. */
  exitStatus: () => number | null;
  /** True once the agent has demonstrably received its task (Claude: a UserPromptSubmit hook). */
  taskSubmitted: () => boolean;
  timeoutMs: number;
  progress: ProgressReporter;
  /**
   * When the agent's own process started, for an agent inside srt (which takes
   * a second or more to set up): the settle time counts from then, not from
   * the pane's start. Undefined for agents that start at once.
   */
  agentStartedAt?: () => number | null;
}

/**
 * Claude Code's start-up dialogs that ringmaster answers, recognized from the
 * screen. Each preselects the refusing answer ("No, exit"), so a blind Enter
 * quits: the cursor is moved to `accept` and only then confirmed.
 */
export const STARTUP_DIALOGS = [
  { name: 'folder trust', shows: /Yes, I trust this folder/, accept: /Yes, I trust this folder/, note: 'Claude asked whether to trust the worktree; ringmaster answered yes.' },
  { name: 'added directory', shows: /Yes, add it/, accept: /Yes, add it/, note: "Claude asked whether to add ringmaster's inbox folder (--add-dir); ringmaster answered yes." },
  { name: 'API key', shows: /Do you want to use this API key\?/, accept: /^Yes\b/, note: 'Claude asked whether to use the ANTHROPIC_API_KEY from the environment; ringmaster answered yes.' },
] as const;

/** A selection menu: a "❯ 1." style cursor line. Claude's own input box shows "❯" with no number. */
const MENU = /^\s*❯\s*\d+\.\s/m;
const POLL_MS = 100;
/** A CLI that dies this fast did not start; one that lives this long is taken as up. */
// Counted from when the agent itself began (agentStartedAt): srt then needs a moment more to tear down a CLI that dies.
const SETTLE_MS = 3000;
/**
 * Claude ignores keys sent the moment a dialog appears (FACTS.md: Down, then
 * Enter, each after a pause of at least 0.4 s starting 0.5 s after the dialog
 * shows, was accepted 7 of 7 times; keys every 400 ms from the first frame failed).
 */
const FIRST_KEY_DELAY_MS = 500;
const KEY_INTERVAL_MS = 450;
/** A menu that no known dialog explains, left on screen this long, is reported. */
const UNKNOWN_DIALOG_MS = 5_000;

/**
 * Watches a new agent until it has demonstrably taken its task, so that no
 * child sits at a dialog waiting for a keystroke nobody will send. Throws when
 * the agent dies during start-up, shows a dialog ringmaster does not know, or
 * (Claude) has not confirmed its task by the deadline; the caller rolls back.
 */
export async function watchStartup(watch: StartupWatch): Promise<{ taskSubmitted: boolean | null; notes: string[] }> {
  const notes: string[] = [];
  // Claude's deadline is its own; a CLI that cannot confirm gets at least the time to settle.
  const deadline = Date.now() + (watch.kind === 'claude' ? watch.timeoutMs : Math.max(watch.timeoutMs, SETTLE_MS));
  let lastScreen = '';
  let stableSince = Date.now();
  /** The dialog on screen, when it appeared, and when the last key went to it. */
  let dialog: { name: string; shownAt: number; lastKeyAt: number } | undefined;
  let unknownMenuSince: number | undefined;
  const answered = new Set<string>();
  const started = Date.now();
  for (;;) {
    const pane = await watch.tmux.pane(watch.session);
    const screen = (await watch.tmux.capturePane(watch.session)) ?? '';
    if (!pane || pane.paneDead) {
      const status = watch.exitStatus() ?? pane?.deadStatus ?? 'unknown';
      const finalScreen = (await watch.tmux.capturePane(watch.session, 200)) ?? screen;
      throw new ExternalToolError(
        `The ${watch.kind} agent exited during start-up (exit status ${status}). Its last screen was:\n${tail(finalScreen)}\nCheck the agent CLI works in that folder (run it by hand), then spawn again.`,
      );
    }
    if (screen !== lastScreen) {
      lastScreen = screen;
      stableSince = Date.now();
    }
    const now = Date.now();
    if (watch.kind === 'claude') {
      if (watch.taskSubmitted()) return { taskSubmitted: true, notes };
      const known = STARTUP_DIALOGS.find((candidate) => candidate.shows.test(screen));
      if (!known) {
        dialog = undefined;
        unknownMenuSince = MENU.test(screen) ? (unknownMenuSince ?? now) : undefined;
        if (unknownMenuSince !== undefined && now - unknownMenuSince >= UNKNOWN_DIALOG_MS && now - stableSince >= UNKNOWN_DIALOG_MS) {
          throw new ExternalToolError(
            `Claude stopped at a start-up dialog ringmaster does not know, so the task was never submitted. The screen was:\n${tail(screen)}\nAnswer it once in a terminal (run claude in that folder) so that Claude remembers the answer, then spawn again.`,
          );
        }
      } else {
        unknownMenuSince = undefined;
        if (dialog?.name !== known.name) {
          dialog = { name: known.name, shownAt: now, lastKeyAt: 0 };
          if (!answered.has(known.name)) {
            answered.add(known.name);
            watch.progress(`Answering the ${known.name} dialog`);
            notes.push(known.note);
          }
        }
        if (now - dialog.shownAt >= FIRST_KEY_DELAY_MS && now - dialog.lastKeyAt >= KEY_INTERVAL_MS) {
          await watch.tmux.sendKeys(watch.session, [cursorOn(screen, known.accept) ? 'Enter' : 'Down']);
          dialog.lastKeyAt = Date.now();
        }
      }
    } else if (now - (watch.agentStartedAt ? (watch.agentStartedAt() ?? now) : started) >= SETTLE_MS) {
      if (watch.delivery === 'argv') return { taskSubmitted: null, notes };
      // A TUI that takes its task by paste: wait until its first screen has settled.
      if (screen.trim() !== '' && now - stableSince >= SETTLE_MS) {
        await watch.tmux.paste(watch.session, watch.task);
        await watch.tmux.sendKeys(watch.session, ['Enter']);
        notes.push('The task was pasted into the agent once its screen settled; this CLI gives no delivery confirmation.');
        return { taskSubmitted: null, notes };
      }
    }
    if (Date.now() >= deadline) {
      if (watch.kind === 'claude') {
        throw new ExternalToolError(
          `Claude had not confirmed its task (no UserPromptSubmit) ${Math.round(watch.timeoutMs / 1000)} s after start, so the spawn was rolled back. Its last screen was:\n${tail(screen)}\nIf it is slow to start here, raise spawn.startupTimeoutMs (RINGMASTER_STARTUP_TIMEOUT_MS); if it waits at a dialog, answer it once by hand in a terminal.`,
        );
      }
      if (watch.delivery === 'paste') {
        await watch.tmux.paste(watch.session, watch.task);
        await watch.tmux.sendKeys(watch.session, ['Enter']);
        notes.push('The agent screen never settled; the task was pasted at the start-up deadline.');
      }
      return { taskSubmitted: null, notes };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** True when the menu's cursor line ("❯ 2. Yes, …") is the accepting answer. */
function cursorOn(screen: string, accept: RegExp): boolean {
  const cursorLine = screen.split('\n').find((line) => /^\s*❯\s*(\d+\.\s*)?\S/.test(line));
  if (!cursorLine) return false;
  return accept.test(cursorLine.replace(/^\s*❯\s*(\d+\.\s*)?/, ''));
}

/** The last non-blank lines of a screen: a TUI often leaves most of its 50 rows empty. */
function tail(screen: string, lines = 15): string {
  return screen
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .join('\n');
}
