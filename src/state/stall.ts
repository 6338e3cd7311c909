import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import type { AgentRecord } from '../store/store.js';
import { tmuxFor, type Context } from '../core/index.js';
import type { DerivedStatus, HookFold } from './status.js';

/**
 * Stall detection: an agent that claims to work (`working`) but shows no
 * progress at all (no hook event, no new transcript record, and a screen
 * that does not change) for `notifications.stallAfterSec` is `stalled`, with
 * how long and what it was last doing. A silent model, a hung tool, a wedged
 * terminal all look like this; a long tool that prints, or a model that
 * streams, does not.
 *
 * The screen is only looked at once the events and the transcript have been
 * quiet for half the stall time, so ordinary reads start no tmux process.
 * Claude's live status zone (the spinner line with its clock, the hints and
 * the input box under it) changes on its own while a turn runs, so only the
 * conversation above it is compared (see `fingerprintOf`).
 */

/** Per process: each agent's last screen fingerprint and since when it has been the same. */
const screens = new Map<string, { fingerprint: string; since: number }>();

export async function checkStall(context: Context, record: AgentRecord, derived: DerivedStatus, fold: HookFold | undefined, now: number): Promise<DerivedStatus> {
  const limitMs = context.config.notifications.stallAfterSec * 1000;
  if (limitMs === 0 || derived.state !== 'working') {
    screens.delete(record.id);
    return derived;
  }
  const lastProgress = Math.max(fold?.lastAt ?? 0, transcriptWrittenAt(context, record), derived.since);
  const quietMs = now - lastProgress;
  if (quietMs < limitMs / 2) {
    screens.delete(record.id);
    return derived;
  }
  const screen = await tmuxFor(context, record.tmuxSocket).capturePane(record.tmuxSession);
  if (screen === undefined) return derived;
  const fingerprint = fingerprintOf(screen);
  const seen = screens.get(record.id);
  if (!seen || seen.fingerprint !== fingerprint) {
    screens.set(record.id, { fingerprint, since: now });
    return derived;
  }
  if (quietMs < limitMs || now - seen.since < limitMs / 2) return derived;
  const seconds = Math.round(quietMs / 1000);
  return {
    ...derived,
    state: 'stalled',
    since: lastProgress,
    sinceExact: true,
    reason: `claims to be working but shows no progress for ${seconds} s (no hook event, no transcript record, the screen unchanged); last doing: ${lastDoing(derived)}`,
  };
}

function lastDoing(derived: DerivedStatus): string {
  if (derived.currentTool) return `the tool ${derived.currentTool}`;
  return `${derived.reason} (waiting on the model, or on something it started)`;
}

function transcriptWrittenAt(context: Context, record: AgentRecord): number {
  const { transcriptPath } = context.store.claudeSession(record.id);
  if (!transcriptPath) return 0;
  try {
    return statSync(transcriptPath).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Times that tick by themselves ("12s", "1m 16s", "350ms", "07:23:38"): a running tool's own timer is not
 * progress. Other numbers are: a percentage, a line count or a subagent's tool uses that move are signs of life.
 */
const CLOCK = /\b\d{1,2}:\d{2}(?::\d{2})?\b|\b\d+(?:\.\d+)?\s?(?:ms|s|m|h)(?:\s\d+(?:\.\d+)?\s?(?:ms|s|m|h))*\b/g;
/** A rule line: the top and bottom edges of Claude's input box. */
const RULE = /^\s*[─━]{20,}\s*$/;
/** Claude's spinner line: an optional glyph, then one capitalised word and an ellipsis ("✽ Scurrying…", "Boondoggling… (1m 2s)"). */
const SPINNER = /^\s*(?:[^\p{L}\p{N}\s]\s*)?\p{Lu}[\p{Ll}'’-]+…/u;

/**
 * What changes only when the agent does something: the conversation above
 * Claude's live status zone. The zone (the spinner line and all under it:
 * the effort hint, the input box, the mode footer) changes on its own while
 * a turn runs: the clock starts after a few seconds, hints come and go. It is
 * cut at the spinner line, or else at the input box's top rule; a screen with
 * neither (another CLI) is kept whole. Times and spinner glyphs are blanked
 * in what is left, and runs of blanks count as one.
 */
export function fingerprintOf(screen: string): string {
  const lines = screen.split('\n');
  let end = lines.length;
  const rules = lines.flatMap((line, index) => (RULE.test(line) ? [index] : []));
  if (rules.length >= 2) end = rules.at(-2)!;
  for (let index = end - 1; index >= Math.max(0, end - 4); index--) {
    if (SPINNER.test(lines[index]!)) {
      end = index;
      break;
    }
  }
  const steady = lines
    .slice(0, end)
    .filter((line) => !/esc to interrupt/i.test(line))
    // A blinking glyph ("● Waiting" / "  Waiting") leaves only spacing behind: runs of blanks count as one.
    .map((line) => line.replace(CLOCK, '#').replace(/[✻✽✶✳✢·*●⏺◐◓◑◒⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g, ' ').replace(/\s+/g, ' ').trim())
    .join('\n');
  return createHash('sha1').update(steady).digest('hex');
}
