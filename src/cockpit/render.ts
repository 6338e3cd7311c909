import { formatDuration, paint, stateStyle, visibleLength, type Style } from '../cli/output.js';
import type { FleetSnapshot } from './fleet-view.js';

export interface ViewState {
  selected: number;
  /** Lines of the selected agent's screen, while peeking. */
  peek?: { name: string; lines: string[] };
  /** A one-line prompt being typed (the reason for a deny). */
  input?: { label: string; text: string };
  /** The last thing that happened, for the status line. */
  message?: { text: string; style?: Style };
}

const KEYS = '↑/↓ j/k select   a approve   d deny   enter attach   p peek   q quit';

/** The whole screen as lines, each cut to the width; pure, so it is tested without a terminal. */
export function renderFleet(snapshot: FleetSnapshot, view: ViewState, size: { columns: number; rows: number }, colour: boolean): string[] {
  const width = Math.max(40, size.columns);
  const cut = (text: string) => truncate(text, width);
  const waiting = snapshot.rows.filter((row) => row.status.state === 'waiting_permission' || row.status.state === 'waiting_input').length;
  const title = `ringmaster watch   ${snapshot.rows.length} agent${snapshot.rows.length === 1 ? '' : 's'}   ${snapshot.pending.length} pending approval${snapshot.pending.length === 1 ? '' : 's'}   ${waiting} waiting   ${new Date(snapshot.at).toTimeString().slice(0, 8)}`;
  const lines = [paint(cut(title), 'bold', colour), ''];

  const nameWidth = Math.max(4, ...snapshot.rows.map((row) => row.name.length));
  const header = `  ${'NAME'.padEnd(nameWidth)}  ${'STATUS'.padEnd(18)}  ${'AGE'.padStart(6)}  ${'COST'.padStart(7)}  LAST MESSAGE / WHY`;
  lines.push(paint(cut(header), 'bold', colour));
  if (snapshot.rows.length === 0) lines.push('  No agents. Start one with: ringmaster spawn --repo DIR --task TEXT');
  snapshot.rows.forEach((row, index) => {
    const selected = index === view.selected;
    const state = row.status.state + (row.status.exitStatus === null ? '' : ` (${row.status.exitStatus})`);
    const cost = row.costUsd === null ? '-' : `$${row.costUsd.toFixed(2)}`;
    const detail = row.heldAtBudget
      ? `HELD AT BUDGET: ${row.heldAtBudget} (ringmaster budget approve ${row.name})`
      : row.pending
      ? `needs approval: ${row.pending.category} ${oneLine(row.pending.summary)}`
      : row.status.state === 'working' || row.status.state === 'idle'
        ? oneLine(row.lastMessage ?? '')
        : row.status.reason;
    const fixed = `${selected ? '›' : ' '} ${row.name.padEnd(nameWidth)}  `;
    const rest = `  ${formatDuration(row.status.secondsInState).padStart(6)}  ${cost.padStart(7)}  `;
    const room = Math.max(0, width - fixed.length - 18 - rest.length);
    const line = `${fixed}${paint(state.padEnd(18), stateStyle(row.status.state), colour)}${rest}${truncate(detail, room)}`;
    lines.push(selected ? paint(line, 'inverse', colour) : line);
  });

  const queued = snapshot.queued ?? [];
  if (queued.length > 0) {
    lines.push('', paint(cut(`QUEUED (${queued.length})`), 'bold', colour));
    for (const spawn of queued.slice(0, 10)) lines.push(cut(`  ${(spawn.position === null ? spawn.state : `#${spawn.position}`).padEnd(9)} ${spawn.name.padEnd(nameWidth)}  ${oneLine(spawn.reason)}`));
    if (queued.length > 10) lines.push(`  … and ${queued.length - 10} more (ringmaster queue)`);
  }

  lines.push('', paint(cut(`PENDING APPROVALS (${snapshot.pending.length})`), 'bold', colour));
  if (snapshot.pending.length === 0) lines.push('  none');
  for (const request of snapshot.pending.slice(0, 10)) {
    const age = formatDuration(Math.max(0, Math.round((snapshot.at - request.createdAt) / 1000)));
    lines.push(cut(`  ${request.id}  ${(request.agentName ?? '?').padEnd(nameWidth)}  ${request.category.padEnd(14)} ${age.padStart(5)}  ${oneLine(request.summary)}`));
  }
  if (snapshot.pending.length > 10) lines.push(`  … and ${snapshot.pending.length - 10} more (ringmaster permissions)`);

  if (view.peek) {
    lines.push('', paint(cut(`── ${view.peek.name}: last screen (p or esc to close) ──`), 'bold', colour));
    const room = Math.max(3, size.rows - lines.length - 3);
    for (const line of view.peek.lines.slice(-room)) lines.push(cut(`  ${line}`));
  }

  const footer: string[] = [];
  if (view.input) footer.push(cut(`${view.input.label}${view.input.text}█`));
  else if (view.message) footer.push(paint(cut(view.message.text), view.message.style, colour));
  else footer.push('');
  footer.push(paint(cut(KEYS), 'dim', colour));
  // Keep the footer on the last rows; drop body lines that do not fit.
  const body = lines.slice(0, Math.max(1, size.rows - footer.length - 1));
  while (body.length < size.rows - footer.length) body.push('');
  return [...body, ...footer];
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (visibleLength(text) <= width) return text;
  return `${text.slice(0, Math.max(0, width - 1))}…`;
}
