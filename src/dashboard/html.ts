/** HTML building blocks: every value that reaches a page goes through `escape` (or `html`'s interpolation, which escapes). */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escape(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

/** Already-safe markup, passed through `html` unescaped. */
export class Safe {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const raw = (text: string) => new Safe(text);

/** A tagged template that escapes every interpolated value except `Safe` markup; arrays are joined. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Safe {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return new Safe(out);
}

function render(value: unknown): string {
  if (value instanceof Safe) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escape(value);
}

export function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function usd(value: number | null): string {
  if (value === null) return '?';
  return value >= 100 ? `$${value.toFixed(0)}` : `$${value.toFixed(2)}`;
}

export function count(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return String(value);
}

export interface Page {
  title: string;
  active: 'fleet' | 'approvals' | 'costs' | 'agent' | 'login';
  csrf?: string;
  flash?: { kind: 'ok' | 'error'; text: string };
  pending?: number;
  body: Safe;
}

/** The whole document: no inline script or style (the CSP forbids them), the one script and stylesheet from /assets. */
export function layout(page: Page): string {
  const tab = (key: Page['active'], href: string, label: string, extra: Safe | string = '') =>
    html`<a href="${href}" class="${key === page.active ? 'tab active' : 'tab'}">${label}${extra}</a>`;
  const nav = page.csrf
    ? html`<nav>
  <span class="brand">ringmaster</span>
  ${tab('fleet', '/', 'Fleet')}
  ${tab('approvals', '/approvals', 'Approvals', html` <span id="pending-count" class="${page.pending ? 'badge hot' : 'badge'}">${page.pending ?? 0}</span>`)}
  ${tab('costs', '/costs', 'Costs')}
  <span id="live" class="live" title="live updates">●</span>
  <form method="post" action="/logout" class="logout"><input type="hidden" name="csrf" value="${page.csrf}"><button>Log out</button></form>
</nav>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${page.csrf ? `<meta name="csrf" content="${escape(page.csrf)}">` : ''}
<title>${escape(page.title)} · ringmaster</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
${nav}
<main>
${page.flash ? html`<p class="flash ${page.flash.kind}" role="status">${page.flash.text}</p>` : ''}
${page.body}
</main>
</body>
</html>
`;
}
