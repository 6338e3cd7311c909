import { ConflictError, describeError, NotFoundError, RingmasterError, UserInputError } from '../errors.js';

/**
 * Exit codes scripts can rely on; listed in `ringmaster --help` and the README.
 * 1 is any failure not listed here (git, tmux or an agent CLI failed, a doctor
 * check failed, an internal error).
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  /** Bad command line or bad input: unknown option, missing argument, an invalid value. */
  usage: 2,
  /** The named agent or permission request does not exist. */
  notFound: 3,
  /** Refused because of the current state: unsaved work, an agent mid-turn, a name taken, already decided. */
  conflict: 4,
  /** `wait` reached its timeout with no agent needing attention. */
  timeout: 5,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UserInputError) return EXIT.usage;
  if (error instanceof NotFoundError) return EXIT.notFound;
  if (error instanceof ConflictError) return EXIT.conflict;
  return EXIT.failed;
}

export { describeError, RingmasterError };

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb. */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout, env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], magenta: [35, 39], cyan: [36, 39], inverse: [7, 27] } as const;
export type Style = keyof typeof CODES;

export function paint(text: string, style: Style | undefined, enabled = colourEnabled()): string {
  if (!enabled || !style) return text;
  const [open, close] = CODES[style];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}

/** The colour of a status in tables and the watch view: what needs a human stands out. */
export function stateStyle(state: string): Style | undefined {
  switch (state) {
    case 'working':
    case 'starting':
      return 'green';
    case 'waiting_permission':
    case 'waiting_input':
    case 'stalled':
      return 'yellow';
    case 'idle':
      return 'cyan';
    case 'exited':
    case 'unreachable':
      return 'red';
    default:
      return 'dim';
  }
}

const ANSI = /\x1b\[[0-9;]*m/g;
export const visibleLength = (text: string) => text.replace(ANSI, '').length;

/** A table with a header row; cells may be painted, widths count visible characters. */
export function table(header: string[], rows: string[][], colour = colourEnabled()): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => visibleLength(row[column] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell + ' '.repeat(widths[column]! - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return `${[line(header.map((title) => paint(title, 'bold', colour))), ...rows.map(line)].join('\n')}\n`;
}

/** A list for humans: the table of its items, or one line saying there are none. */
export function tableOr<T>(items: T[], empty: string, header: string[], row: (item: T) => string[]): string {
  return items.length === 0 ? `${empty}\n` : table(header, items.map(row));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d${Math.floor((seconds % 86_400) / 3600)}h`;
}

export function firstLine(text: string | null | undefined, max = 100): string {
  const line = (text ?? '').split('\n')[0]!;
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function parseMinutes(text: string): number {
  const match = /^(\d+)\s*(m|min|h)?$/.exec(text.trim());
  if (!match) throw new UserInputError(`--for ${text}: give minutes or hours, e.g. 30m or 2h.`);
  return Number(match[1]) * (match[2] === 'h' ? 60 : 1);
}

export function parseWholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) throw new UserInputError(`${flag} ${value}: give a whole number from ${min} to ${max}.`);
    return number;
  };
}

/** `--env K=V`, repeatable. */
export function collectEnv(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new UserInputError(`--env ${value}: give KEY=VALUE.`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
