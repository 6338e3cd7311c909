import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { tmuxFor, type Context } from '../core/index.js';
import { decide } from '../gate/index.js';
import { peekAgent, type StatusChange } from '../fleet/index.js';
import { describeError } from '../errors.js';
import { Notifier } from '../notify/index.js';
import { loadFleet, type FleetSnapshot } from './fleet-view.js';
import { renderFleet, type ViewState } from './render.js';

export interface WatchOptions {
  intervalMs?: number;
  colour: boolean;
  /** Also send notifications from this process (deduplicated with any MCP server's). */
  notify?: boolean;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

/**
 * The live fleet view: a full-screen ANSI frame redrawn when anything in it
 * changes (checked every interval), with keys to approve, deny, attach and
 * peek. Resolves when the user quits.
 */
export async function watchFleet(context: Context, options: WatchOptions): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const view: ViewState = { selected: 0 };
  const notifier = options.notify === false ? undefined : new Notifier(context, (message) => (view.message = { text: message, style: 'red' }));
  const lastState = new Map<string, string>();
  let snapshot: FleetSnapshot = { rows: [], pending: [], at: Date.now() };
  let lastFrame = '';
  let busy = false;
  let stopped = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  const size = () => ({ columns: output.columns || 100, rows: output.rows || 30 });
  const draw = (force = false) => {
    const frame = renderFleet(snapshot, view, size(), options.colour).map((line) => `${line}\x1b[K`).join('\r\n');
    if (!force && frame === lastFrame) return;
    lastFrame = frame;
    output.write(`\x1b[H${frame}\x1b[J`);
  };
  const refresh = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      snapshot = await loadFleet(context);
      view.selected = Math.min(view.selected, Math.max(0, snapshot.rows.length - 1));
      for (const row of snapshot.rows) {
        const previous = lastState.get(row.id);
        if (previous !== row.status.state) {
          lastState.set(row.id, row.status.state);
          const change: StatusChange = { name: row.name, id: row.id, from: previous ?? null, to: row.status };
          if (notifier) void notifier.onChange(change);
        }
      }
      if (view.peek) view.peek = await peekLines(context, view.peek.name);
    } catch (error) {
      view.message = { text: `refresh failed: ${describeError(error)}`, style: 'red' };
    } finally {
      busy = false;
    }
    if (!stopped) draw();
  };

  const enterScreen = () => {
    output.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J');
    if (input.isTTY) input.setRawMode(true);
    input.resume();
  };
  const leaveScreen = () => {
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    output.write('\x1b[?25h\x1b[?1049l');
  };
  const selectedRow = () => snapshot.rows[view.selected];

  const onKey = async (key: string) => {
    if (view.input) return typeReason(key);
    const row = selectedRow();
    switch (key) {
      case 'q':
      case '\x03':
        return stop();
      case 'j':
      case '\x1b[B':
        view.selected = Math.min(view.selected + 1, Math.max(0, snapshot.rows.length - 1));
        break;
      case 'k':
      case '\x1b[A':
        view.selected = Math.max(0, view.selected - 1);
        break;
      case 'a': {
        const request = row?.pending ?? (snapshot.rows.length === 0 ? snapshot.pending[0] : undefined);
        if (!request) view.message = { text: `${row?.name ?? 'nobody'} has no pending request.`, style: 'yellow' };
        else act(() => decide(context.store, request.id, { approve: true, actor: humanActor() }), `Approved ${request.id} (${request.category}) for ${request.agentName ?? '?'}.`);
        break;
      }
      case 'd':
        if (!row?.pending) view.message = { text: `${row?.name ?? 'nobody'} has no pending request.`, style: 'yellow' };
        else view.input = { label: `Deny ${row.pending.id}: reason (enter to deny, esc to cancel): `, text: '' };
        break;
      case 'p':
        if (view.peek) view.peek = undefined;
        else if (row) view.peek = await peekLines(context, row.name);
        break;
      case '\x1b':
        view.peek = undefined;
        view.message = undefined;
        break;
      case '\r':
      case '\n':
        if (row) attach(row.name);
        break;
      default:
        return;
    }
    draw();
  };

  const typeReason = (key: string) => {
    const field = view.input!;
    if (key === '\x1b' || key === '\x03') {
      view.input = undefined;
      view.message = { text: 'Not denied.' };
    } else if (key === '\r' || key === '\n') {
      const request = selectedRow()?.pending;
      view.input = undefined;
      if (request) act(() => decide(context.store, request.id, { approve: false, actor: humanActor(), note: field.text.trim() || undefined }), `Denied ${request.id} (${request.category}) for ${request.agentName ?? '?'}${field.text.trim() ? `: ${field.text.trim()}` : ''}.`);
    } else if (key === '\x7f' || key === '\b') field.text = field.text.slice(0, -1);
    else if (!key.startsWith('\x1b')) field.text += key.replace(/[\x00-\x1f]/g, '');
    draw();
  };

  const act = (work: () => unknown, success: string) => {
    try {
      work();
      view.message = { text: success, style: 'green' };
    } catch (error) {
      view.message = { text: describeError(error), style: 'red' };
    }
    void refresh();
  };

  const attach = (name: string) => {
    const row = snapshot.rows.find((candidate) => candidate.name === name);
    const record = row && context.store.getAgent(row.id);
    if (!record) return;
    const tmux = tmuxFor(context, record.tmuxSocket);
    const socketArgs = record.tmuxSocket ? (record.tmuxSocket.includes('/') ? ['-S', record.tmuxSocket] : ['-L', record.tmuxSocket]) : [];
    if (insideSameServer(record.tmuxSocket)) {
      // Inside tmux on the agents' server: move this client there; come back with the last-session key.
      spawnSync(tmux.command, [...socketArgs, 'switch-client', '-t', `=${record.tmuxSession}`], { stdio: 'ignore' });
      view.message = { text: `Switched to ${record.tmuxSession}; come back with Ctrl-b L.` };
      return;
    }
    leaveScreen();
    const { TMUX: _nested, ...env } = process.env;
    spawnSync(tmux.command, [...socketArgs, 'attach', '-t', `=${record.tmuxSession}`], { stdio: 'inherit', env });
    enterScreen();
    lastFrame = '';
    draw(true);
  };

  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    // Arrow keys arrive as one escape sequence; anything else is taken key by key.
    const keys = /^\x1b\[[A-D]$/.test(text) ? [text] : text === '\x1b' ? [text] : [...text];
    void (async () => {
      for (const key of keys) await onKey(key);
    })();
  };
  const onResize = () => draw(true);
  const timer = setInterval(() => void refresh(), options.intervalMs ?? 1_000);

  function stop() {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    input.off('data', onData);
    output.off('resize', onResize);
    leaveScreen();
    finish();
  }

  enterScreen();
  input.on('data', onData);
  output.on('resize', onResize);
  process.once('SIGTERM', stop);
  await refresh();
  await done;
}

async function peekLines(context: Context, name: string): Promise<ViewState['peek']> {
  try {
    const result = await peekAgent(context, { name, lines: 40 });
    return { name, lines: result.lines.length ? result.lines : ['(nothing to show)'] };
  } catch (error) {
    return { name, lines: [describeError(error)] };
  }
}

function humanActor(): string {
  return `human (${process.env.USER ?? 'watch'})`;
}

/** $TMUX is "<socket path>,<pid>,<session>": the same server when its socket is the agents'. */
function insideSameServer(agentSocket: string | null): boolean {
  const current = process.env.TMUX?.split(',')[0];
  if (!current) return false;
  if (!agentSocket) return basename(current) === 'default';
  return agentSocket.includes('/') ? current === agentSocket : basename(current) === agentSocket;
}
