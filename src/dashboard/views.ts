import { type PermissionRequest, UNKNOWN_HOST_CATEGORY } from '../gate/index.js';
import type { AgentRecord } from '../store/store.js';
import type { FleetSpend } from './costs.js';
import type { BranchDiff } from './diff.js';
import type { FleetAgent, PullRequestBadge } from './fleet.js';
import type { QueuedSpawn } from '../fleet/index.js';
import { highlightLine, languageOf } from './highlight.js';
import { count, html, raw, type Safe, shorten, usd } from './html.js';
import type { TranscriptEntry } from './transcript.js';

const agentHref = (name: string) => `/agents/${encodeURIComponent(name)}`;
const iso = (at: string | number) => new Date(at).toISOString();
/** A time the script keeps current ("12 s", "3 min") without asking the server. */
const ago = (since: string | number) => html`<time class="ago" datetime="${iso(since)}" title="${iso(since)}">${iso(since).slice(11, 19)}</time>`;

export function statusBadge(state: string): Safe {
  return html`<span class="status st-${state}">${state.replace(/_/g, ' ')}</span>`;
}

/** One row of the fleet table; the live feed sends it again whenever it changes. */
export function fleetRow(agent: FleetAgent, pr: PullRequestBadge | undefined): Safe {
  return html`<tr id="agent-${agent.id}" class="agent-row" data-name="${agent.name}" data-state="${agent.status.state}">
<td><a href="${agentHref(agent.name)}">${agent.name}</a> <span class="muted">${agent.agent}</span></td>
<td>${statusBadge(agent.status.state)}<div class="reason">${shorten(agent.status.reason, 160)}</div>${agent.pending.length ? html`<a class="needs" href="/approvals">${agent.pending.length} waiting for you</a>` : ''}</td>
<td>${ago(agent.status.since)}</td>
<td class="mono">${agent.branch}</td>
<td>${pr ? html`<a href="${pr.url}" rel="noreferrer">#${pr.number}</a> <span class="ci ci-${(pr.checks ?? 'none').toLowerCase()}" title="${pr.failing.length ? `failing: ${pr.failing.join(', ')}` : pr.state}">${pr.checks ?? pr.state}</span>` : html`<span class="muted">–</span>`}</td>
<td class="num">${usd(agent.costUsd)}</td>
<td class="num" title="input ${agent.tokens.input}, output ${agent.tokens.output}, cache ${agent.tokens.cache}">${count(agent.tokens.input + agent.tokens.output + agent.tokens.cache)}</td>
<td class="last">${shorten(agent.lastMessage, 180)}</td>
</tr>`;
}

export function fleetSummary(agents: FleetAgent[]): Safe {
  const states = new Map<string, number>();
  for (const agent of agents) states.set(agent.status.state, (states.get(agent.status.state) ?? 0) + 1);
  const cost = agents.reduce<number | null>((sum, agent) => (sum === null || agent.costUsd === null ? null : sum + agent.costUsd), 0);
  return html`<p id="fleet-summary" class="summary">${agents.length} agent${agents.length === 1 ? '' : 's'} · ${[...states].map(([state, n]) => html`${statusBadge(state)} ${n} `)} · ${usd(cost)} spent</p>`;
}

export function fleetPage(agents: FleetAgent[], prOf: (name: string) => PullRequestBadge | undefined, queued: QueuedSpawn[] = []): Safe {
  return html`<h1>Fleet</h1>
${fleetSummary(agents)}
<table class="fleet">
<thead><tr><th>Agent</th><th>Status</th><th>For</th><th>Branch</th><th>PR / CI</th><th>Cost</th><th>Tokens</th><th>Last message</th></tr></thead>
<tbody id="fleet-rows">${agents.map((agent) => fleetRow(agent, prOf(agent.name)))}</tbody>
</table>
${agents.length === 0 && queued.length === 0 ? html`<p class="empty">No agents yet. Spawn one from Claude (spawn_agent) or <code>ringmaster spawn --repo … --task …</code>.</p>` : ''}
${queuedSection(queued)}`;
}

/** Spawns past the live-agent cap or waiting for other agents (src/fleet/queue.ts), in order, as of the page's load. */
function queuedSection(queued: QueuedSpawn[]): Safe {
  if (queued.length === 0) return html``;
  return html`<h2>Queued</h2>
<table class="fleet queued" id="queued-spawns">
<thead><tr><th>Place</th><th>Agent</th><th>State</th><th>Waits for</th><th>Why</th><th>Since</th></tr></thead>
<tbody>${queued.map(
    (spawn) => html`<tr data-name="${spawn.name}"><td>${spawn.position === null ? '–' : String(spawn.position)}</td><td>${spawn.name}<div class="reason">${shorten(spawn.taskPreview, 120)}</div></td><td>${statusBadge(spawn.state)}</td><td>${spawn.after.join(', ') || '–'}</td><td>${shorten(spawn.reason, 160)}</td><td>${ago(spawn.createdAt)}</td></tr>`,
  )}</tbody>
</table>
<p class="hint">A queued spawn starts by itself when a slot frees; <code>ringmaster queue cancel NAME</code> (or cancel_spawn) takes it back.</p>`;
}

const DURATIONS: Array<[string, string]> = [['15', '15 min'], ['30', '30 min'], ['60', '1 h'], ['120', '2 h'], ['480', '8 h']];

function durationSelect(name: string): Safe {
  return html`<select name="${name}" aria-label="grant for">${DURATIONS.map(([value, label]) => html`<option value="${value}"${value === '30' ? raw(' selected') : ''}>${label}</option>`)}</select>`;
}

/** The inbox: one form, so a button says which request (or "selected") and what to do. */
export function approvalsSection(pending: PermissionRequest[], csrf: string): Safe {
  return html`<section id="approvals" data-ids="${pending.map((request) => request.id).join(' ')}">
${
  pending.length === 0
    ? html`<p class="empty">Nothing waits for approval.</p>`
    : html`<form method="post" action="/approvals" class="inbox">
<input type="hidden" name="csrf" value="${csrf}">
<div class="bulk"><label><input type="checkbox" id="select-all"> all</label>
<button name="action" value="approve-selected">Approve selected</button>
<button name="action" value="grant-selected">Approve selected for</button> ${durationSelect('for')}
<input name="note" placeholder="note / reason" aria-label="note for selected">
<button name="action" value="deny-selected" class="danger">Deny selected</button></div>
<table class="requests">
<thead><tr><th></th><th>Agent</th><th>Category</th><th>Action</th><th>Why held</th><th>Waiting</th><th>Decide</th></tr></thead>
<tbody>${pending.map(
        (request) => html`<tr id="request-${request.id}" class="request">
<td><input type="checkbox" name="ids" value="${request.id}" aria-label="select ${request.id}"></td>
<td>${request.agentName ? html`<a href="${agentHref(request.agentName)}">${request.agentName}</a>` : '?'}</td>
<td><span class="category">${request.category}</span></td>
<td><code class="command">${shorten(request.summary, 400)}</code><div class="muted">${request.tool} · ${request.id}</div></td>
<td>${shorten(request.reason, 240)}</td>
<td>${ago(request.createdAt)}</td>
<td class="decide">
<button name="action" value="approve:${request.id}">Approve once</button>
<span class="grant"><button name="action" value="grant:${request.id}">Approve for</button> ${durationSelect(`for:${request.id}`)}</span>
${request.category === UNKNOWN_HOST_CATEGORY && request.resource ? html`<span class="always"><button name="action" value="agent-always:${request.id}">Always, this agent</button> <button name="action" value="always:${request.id}">Always, every agent</button></span>` : ''}
<span class="deny"><input name="note:${request.id}" placeholder="note / reason" aria-label="note for ${request.id}"><button name="action" value="deny:${request.id}" class="danger">Deny</button></span>
</td></tr>`,
      )}</tbody>
</table>
</form>`
}
</section>`;
}

export function approvalsPage(pending: PermissionRequest[], csrf: string): Safe {
  return html`<h1>Approvals</h1>
<p class="muted">Held gated actions from every agent. Decisions go through the same flow and audit log as <code>ringmaster approve</code> / <code>deny</code>.</p>
${approvalsSection(pending, csrf)}`;
}

export function transcriptSection(entries: TranscriptEntry[]): Safe {
  return html`<section id="transcript" class="transcript">${
    entries.length === 0
      ? html`<p class="empty">No transcript yet.</p>`
      : entries.map(
          (entry) => html`<div class="entry ${entry.kind}${entry.sidechain ? ' sidechain' : ''}"><div class="meta"><span class="who">${entry.title}</span>${entry.at ? html` <time datetime="${entry.at}">${entry.at.slice(11, 19)}</time>` : ''}</div><pre>${entry.text}</pre></div>`,
        )
  }</section>`;
}

export function diffSection(diff: BranchDiff): Safe {
  if (diff.files.length === 0) return html`<p class="empty">No changes against ${diff.base}.</p>`;
  return html`<p class="muted">Against ${diff.base}: ${diff.files.length} file${diff.files.length === 1 ? '' : 's'}${diff.truncated ? ' (diff cut at 2 MB)' : ''}.</p>
${diff.files.map((file) => {
  const language = languageOf(file.path);
  return html`<details class="file" open><summary><span class="mono">${file.path}</span> <span class="fstatus">${file.status}</span> <span class="add">+${file.additions}</span> <span class="del">−${file.deletions}</span></summary>
<pre class="diff">${file.lines.map((line) => {
    if (line.startsWith('@@')) return html`<span class="hunk">${line}</span>\n`;
    const kind = line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'ctx';
    return html`<span class="line ${kind}"><span class="sign">${line.slice(0, 1) || ' '}</span>${raw(highlightLine(line.slice(1), language))}</span>\n`;
  })}</pre></details>`;
})}`;
}

export function diffPage(record: AgentRecord, diff: BranchDiff): Safe {
  return html`<h1><a href="${agentHref(record.name)}">${record.name}</a>: diff</h1>
<p class="muted">Branch <code>${record.branch}</code>, commits and uncommitted edits.</p>
${diffSection(diff)}`;
}

export function agentPage(options: { record: AgentRecord; row: Safe; transcript: Safe; csrf: string; tmuxAttach: string }): Safe {
  const { record, csrf } = options;
  const action = (verb: string, label: string, extra: Safe | string = '', kind = '') =>
    html`<form method="post" action="${agentHref(record.name)}/${verb}" class="inline"><input type="hidden" name="csrf" value="${csrf}">${extra}<button class="${kind}">${label}</button></form>`;
  return html`<h1>${record.name}</h1>
<table class="fleet single"><tbody id="fleet-rows">${options.row}</tbody></table>
<p class="muted">Branch <code>${record.branch}</code> from <code>${record.baseRef}</code> · worktree <code>${record.worktreePath}</code> · attach: <code>${options.tmuxAttach}</code></p>
<section class="controls" data-agent="${record.name}">
<form method="post" action="${agentHref(record.name)}/prompt" class="prompt"><input type="hidden" name="csrf" value="${csrf}">
<textarea name="text" rows="3" placeholder="Send a prompt to ${record.name}" aria-label="prompt" required></textarea>
<div><label><input type="radio" name="busy" value="refuse" checked> only if idle</label>
<label><input type="radio" name="busy" value="interrupt"> interrupt its turn</label>
<label><input type="radio" name="busy" value="queue"> queue for next idle</label>
<button>Send</button></div></form>
<div class="buttons">${action('interrupt', 'Interrupt')}${action('stop', 'Stop')}${action('restart', 'Restart')}
${action('cleanup', 'Clean up', '', 'danger')}${action('cleanup', 'Clean up, discarding work', html`<input type="hidden" name="force" value="1">`, 'danger')}</div>
</section>
<div class="columns">
<div><h2>Transcript</h2>${options.transcript}</div>
<div><h2>Diff</h2><p><a id="open-diff" href="${agentHref(record.name)}/diff">The branch diff against ${record.baseRef}</a></p></div>
</div>`;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7'];

/** Cumulative spend as an inline SVG line chart: the fleet in black, the eight costliest agents in colour. */
export function costChart(spend: FleetSpend): Safe {
  const width = 900;
  const height = 280;
  const pad = { left: 60, right: 16, top: 12, bottom: 28 };
  if (spend.fleet.length === 0) return html`<p class="empty">No spend recorded yet.</p>`;
  const first = spend.fleet[0]![0];
  const last = Math.max(spend.fleet.at(-1)![0], first + 60_000);
  const top = Math.max(spend.totalUsd, 0.01);
  const x = (at: number) => pad.left + ((at - first) / (last - first)) * (width - pad.left - pad.right);
  const y = (usdValue: number) => height - pad.bottom - (usdValue / top) * (height - pad.top - pad.bottom);
  const line = (series: Array<[number, number]>) => {
    const points: string[] = [`${x(series[0]![0]).toFixed(1)},${y(0).toFixed(1)}`];
    let previous = 0;
    for (const [at, value] of series) {
      points.push(`${x(at).toFixed(1)},${y(previous).toFixed(1)}`, `${x(at).toFixed(1)},${y(value).toFixed(1)}`);
      previous = value;
    }
    points.push(`${x(last).toFixed(1)},${y(previous).toFixed(1)}`);
    return points.join(' ');
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => fraction * top);
  const shown = spend.agents.slice(0, PALETTE.length);
  return html`<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="cumulative spend over time">
${ticks.map((value) => html`<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#ddd"/><text x="${pad.left - 6}" y="${(y(value) + 4).toFixed(1)}" text-anchor="end" font-size="11">${usd(value)}</text>`)}
<text x="${pad.left}" y="${height - 8}" font-size="11">${iso(first).replace('T', ' ').slice(0, 16)}</text>
<text x="${width - pad.right}" y="${height - 8}" font-size="11" text-anchor="end">${iso(last).replace('T', ' ').slice(0, 16)} UTC</text>
${shown.map((agent, index) => html`<polyline fill="none" stroke="${PALETTE[index]!}" stroke-width="1.5" points="${line(agent.series)}"><title>${agent.name}</title></polyline>`)}
<polyline class="fleet-line" fill="none" stroke="#222" stroke-width="2.5" points="${line(spend.fleet)}"><title>fleet</title></polyline>
</svg>
<p class="legend"><span class="swatch fleet-swatch"></span> fleet ${shown.map((agent, index) => html` <span class="swatch c${index}"></span> ${agent.name}`)}</p>`;
}

export function costsPage(spend: FleetSpend): Safe {
  return html`<h1>Costs</h1>
<p class="summary">Fleet total <strong id="fleet-total">${usd(spend.totalUsd)}</strong> over ${spend.agents.length} agent${spend.agents.length === 1 ? '' : 's'} (prices from config.json "prices").</p>
${costChart(spend)}
<table class="costs"><thead><tr><th>Agent</th><th>Cost</th><th>Tokens</th><th>API responses</th><th>Since</th></tr></thead>
<tbody>${spend.agents.map(
    (agent) =>
      html`<tr><td>${agent.removed ? agent.name : html`<a href="${agentHref(agent.name)}">${agent.name}</a>`}${agent.removed ? html` <span class="muted">(removed)</span>` : ''}</td><td class="num">${usd(agent.costUsd)}${agent.unpriced ? html` <span class="muted" title="a model has no price in config.json">+?</span>` : ''}</td><td class="num">${count(agent.tokens)}</td><td class="num">${agent.responses}</td><td>${iso(agent.series[0]![0]).replace('T', ' ').slice(0, 16)}</td></tr>`,
  )}</tbody></table>`;
}

export function loginPage(error?: string): Safe {
  return html`<div class="login"><h1>ringmaster</h1>
${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
<form method="post" action="/login">
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button>Log in</button>
</form>
<p class="muted">The token <code>ringmaster serve --http</code> printed (or $RINGMASTER_TOKEN). Or run <code>ringmaster dashboard</code> for a one-time link.</p></div>`;
}
