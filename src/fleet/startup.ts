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
}

/** Claude's "Quick safety check" trust dialog, in case the pre-written trust entry did not take. */
/** Claude's trust dialogs: for the folder it starts in, and for each --add-dir folder. Both preselect "No, exit". */
const TRUST_DIALOG = /Yes, I trust this folder|Yes, add it/;
const POLL_MS = 150;
/** A CLI that dies this fast did not start; one that lives this long is taken as up. */
// srt (the sandbox around non-Claude agents) takes about a second to set up and to tear down.
const SETTLE_MS = 3000;
/** Time for a TUI to redraw after a key before we look and press again. */
const KEY_INTERVAL_MS = 400;

/**
 * Watches a new agent until it has demonstrably taken its task, so that no
 * child sits at a dialog waiting for a keystroke nobody will send. Throws when
 * the agent dies during start-up (the caller rolls everything back).
 */
export async function watchStartup(watch: StartupWatch): Promise<{ taskSubmitted: boolean | null; notes: string[] }> {
  const notes: string[] = [];
  const deadline = Date.now() + Math.max(watch.timeoutMs, SETTLE_MS);
  let lastScreen = '';
  let stableSince = Date.now();
  let trustAnswered = false;
  let lastKeyAt = 0;
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
    if (watch.kind === 'claude') {
      if (watch.taskSubmitted()) return { taskSubmitted: true, notes };
      if (TRUST_DIALOG.test(screen) && Date.now() - lastKeyAt >= KEY_INTERVAL_MS) {
        if (!trustAnswered) {
          watch.progress('Answering the folder trust dialog');
          notes.push('Claude asked whether to trust the worktree; ringmaster answered yes.');
          trustAnswered = true;
        }
        await answerTrustDialog(watch.tmux, watch.session, screen);
        lastKeyAt = Date.now();
      }
    } else if (Date.now() - started >= SETTLE_MS) {
      if (watch.delivery === 'argv') return { taskSubmitted: null, notes };
      // A TUI that takes its task by paste: wait until its first screen has settled.
      if (screen.trim() !== '' && Date.now() - stableSince >= SETTLE_MS) {
        await watch.tmux.paste(watch.session, watch.task);
        await watch.tmux.sendKeys(watch.session, ['Enter']);
        notes.push('The task was pasted into the agent once its screen settled; this CLI gives no delivery confirmation.');
        return { taskSubmitted: null, notes };
      }
    }
    if (Date.now() >= deadline) {
      if (watch.kind === 'claude') {
        notes.push(
          `Claude had not confirmed the task after ${Math.round(watch.timeoutMs / 1000)} s; it is still running. Attach to look. Last screen:\n${tail(screen)}`,
        );
        return { taskSubmitted: false, notes };
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

/**
 * One key per look at the screen: "No, exit" is preselected, so a blind Enter
 * would quit, and keys sent before the dialog takes input are lost. Move the
 * cursor until it rests on "Yes", and only then confirm.
 */
async function answerTrustDialog(tmux: Tmux, session: string, screen: string): Promise<void> {
  const onYes = /❯\s*(\d\.\s*)?Yes, (I trust this folder|add it)/.test(screen);
  await tmux.sendKeys(session, [onYes ? 'Enter' : 'Down']);
}

/** The last non-blank lines of a screen: a TUI often leaves most of its 50 rows empty. */
function tail(screen: string, lines = 15): string {
  return screen
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .join('\n');
}
