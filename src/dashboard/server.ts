import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { UserInputError } from '../errors.js';
import { explainError, packageRoot, tmuxFor, type Context } from '../core/index.js';
import { interruptAgent, listQueue, type Monitor, restartAgent, stopAgent } from '../fleet/index.js';
import { expireOverdue, listRequests } from '../gate/index.js';
import { cleanupAnywhere, decideAnywhere, listRequestsAnywhere, sendPromptAnywhere } from '../hosts/index.js';
import { findLiveAgent } from '../state/index.js';
import { CLEARED_COOKIE, DashboardAuth, dashboardDir, type Session } from './auth.js';
import { branchDiff } from './diff.js';
import { SpendHistory } from './costs.js';
import { LiveFeed } from './feed.js';
import { loadFleetView, PullRequestCache } from './fleet.js';
import { layout, type Page } from './html.js';
import { recentTranscript } from './transcript.js';
import { agentPage, approvalsPage, costsPage, diffPage, fleetPage, fleetRow, loginPage, transcriptSection } from './views.js';

const MAX_FORM_BYTES = 11 * 1024 * 1024;
const ASSETS: Record<string, string> = { '/assets/dashboard.js': 'text/javascript; charset=utf-8', '/assets/dashboard.css': 'text/css; charset=utf-8' };
/** Every path the dashboard answers; anything else is a 404 before any login. */
const ROUTES = /^\/(|login|logout|approvals|costs|events|agents\/[^/]+(\/(transcript|diff|prompt|interrupt|stop|restart|cleanup))?)$/;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // Not no-referrer: with it a browser sends "Origin: null" on the page's own form posts.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface DashboardOptions {
  token: string;
  /** The port the HTTP server listens on (known once it listens). */
  port: () => number;
  /** The process's shared status monitor; the live feed follows its rounds. */
  monitor: Monitor;
}

/**
 * The browser dashboard on `serve --http`: server-rendered pages, one small
 * script for live updates over server-sent events, and forms whose actions
 * call the same functions as the MCP tools and the CLI.
 *
 * Security: the transport has already refused a foreign Host or Origin. Here
 * every page needs a session (a cookie from the token's login form or a
 * one-time code), and every state-changing request must be a POST from this
 * server's own origin that carries the session's CSRF token.
 */
export class Dashboard {
  private readonly auth: DashboardAuth;
  private readonly prs: PullRequestCache;
  private readonly feed: LiveFeed;
  private readonly spend: SpendHistory;
  private readonly announcement: string;

  constructor(
    private readonly context: Context,
    private readonly options: DashboardOptions,
  ) {
    this.auth = new DashboardAuth(options.token, context.config.home);
    this.prs = new PullRequestCache(context);
    this.feed = new LiveFeed(context, options.monitor, this.prs);
    this.spend = new SpendHistory(context);
    // `ringmaster dashboard` finds the server here: its URL and pid, never the token.
    this.announcement = join(dashboardDir(context.config.home), 'server.json');
    try {
      mkdirSync(dashboardDir(context.config.home), { recursive: true, mode: 0o700 });
      writeFileSync(this.announcement, JSON.stringify({ url: `http://127.0.0.1:${options.port()}/`, pid: process.pid }), { mode: 0o600 });
    } catch {
      // A home that cannot be written: the login form still works.
    }
  }

  close(): void {
    this.feed.close();
    try {
      const written = JSON.parse(readFileSync(this.announcement, 'utf8')) as { pid: number };
      if (written.pid === process.pid) rmSync(this.announcement, { force: true });
    } catch {
      // Already gone, or another server's.
    }
  }

  /** One request; a fault (a store that cannot be read, a bad URL) is a page with its clear message, never a stack. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    try {
      await this.route(request, response, url);
    } catch (error) {
      if (response.headersSent) response.end();
      else sendText(response, error instanceof URIError ? 400 : 500, error instanceof URIError ? `bad URL: ${error.message}` : explainError(this.context, error));
    }
  }

  private async route(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = request.method ?? 'GET';
    if (method === 'GET' && ASSETS[path]) return this.asset(response, path);
    if (!ROUTES.test(path)) return sendText(response, 404, 'not found: the dashboard is at /, the MCP endpoint at /mcp');
    if (method === 'POST') {
      const refused = this.crossSite(request);
      if (refused) return sendText(response, 403, refused);
    } else if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('Allow', 'GET, POST');
      return sendText(response, 405, 'method not allowed');
    }

    if (path === '/login') return method === 'POST' ? this.login(request, response) : this.loginForm(response, url);
    const session = this.auth.sessionOf(request);
    if (!session) {
      if (method === 'GET' && path !== '/events' && !path.endsWith('/transcript')) return redirect(response, '/login');
      return sendText(response, 401, 'not logged in: open /login and enter the token that ringmaster serve --http printed, or run ringmaster dashboard');
    }

    if (method === 'POST') {
      const form = await readForm(request);
      if (!form) return sendText(response, 413, `form over ${MAX_FORM_BYTES} bytes`);
      if (!this.auth.csrfMatches(session, form.get('csrf') ?? undefined)) return sendText(response, 403, 'missing or wrong CSRF token: reload the page and try again');
      return this.act(session, path, form, response);
    }

    if (path === '/') return this.page(response, session, { title: 'Fleet', active: 'fleet', body: await this.fleetBody() });
    if (path === '/approvals') {
      expireOverdue(this.context.store);
      return this.page(response, session, { title: 'Approvals', active: 'approvals', body: approvalsPage(await listRequestsAnywhere(this.context, { pendingOnly: true }), session.csrf) });
    }
    if (path === '/costs') return this.page(response, session, { title: 'Costs', active: 'costs', body: costsPage(await this.spend.load()) });
    if (path === '/events') return this.feed.subscribe(response, session);
    const agentPath = /^\/agents\/([^/]+)(\/transcript|\/diff)?$/.exec(path);
    if (agentPath) return this.agent(response, session, decodeURIComponent(agentPath[1]!), agentPath[2]);
    return sendText(response, 404, 'not found');
  }

  private async fleetBody() {
    const view = await loadFleetView(this.context);
    this.prs.refresh();
    return fleetPage(view.agents, (name) => this.prs.get(name), listQueue(this.context));
  }

  private async agent(response: ServerResponse, session: Session, name: string, part: string | undefined): Promise<void> {
    let record;
    try {
      record = findLiveAgent(this.context, name);
    } catch (error) {
      return sendText(response, 404, explainError(this.context, error));
    }
    const transcriptPath = this.context.store.claudeSession(record.id).transcriptPath;
    const transcript = transcriptSection(transcriptPath ? recentTranscript(transcriptPath) : []);
    if (part === '/transcript') return sendHtml(response, 200, transcript.text);
    if (part === '/diff') {
      const diff = await branchDiff(this.context, record).catch((error: unknown) => error as Error);
      if (diff instanceof Error) return this.page(response, session, { title: `${name} diff`, active: 'agent', flash: { kind: 'error', text: explainError(this.context, diff) }, body: diffPage(record, { base: record.baseRef, files: [], truncated: false }) });
      return this.page(response, session, { title: `${name} diff`, active: 'agent', body: diffPage(record, diff) });
    }
    const view = await loadFleetView(this.context);
    const row = view.agents.find((agent) => agent.id === record.id);
    if (!row) return sendText(response, 404, `agent "${name}" is gone`);
    return this.page(response, session, {
      title: name,
      active: 'agent',
      body: agentPage({ record, row: fleetRow(row, this.prs.get(record.name)), transcript, csrf: session.csrf, tmuxAttach: tmuxFor(this.context, record.tmuxSocket).attachCommand(record.tmuxSession) }),
    });
  }

  /** Every state change: the same core functions as the tools and the CLI; the outcome or the error's message comes back as a flash. */
  private async act(session: Session, path: string, form: URLSearchParams, response: ServerResponse): Promise<void> {
    if (path === '/logout') {
      this.auth.close(session);
      response.setHeader('set-cookie', CLEARED_COOKIE);
      return redirect(response, '/login');
    }
    let back = '/';
    try {
      if (path === '/approvals') {
        back = '/approvals';
        session.flash = { kind: 'ok', text: await this.decideFromForm(form) };
        return redirect(response, back);
      }
      const match = /^\/agents\/([^/]+)\/(prompt|interrupt|stop|restart|cleanup)$/.exec(path);
      if (!match) return sendText(response, 404, 'not found');
      const name = decodeURIComponent(match[1]!);
      back = `/agents/${encodeURIComponent(name)}`;
      session.flash = { kind: 'ok', text: await this.agentAction(name, match[2]!, form) };
      if (match[2] === 'cleanup') back = '/';
    } catch (error) {
      session.flash = { kind: 'error', text: explainError(this.context, error) };
    }
    return redirect(response, back);
  }

  /** Approve or deny, here or on an agent's host (ids `<host>:<id>`), with the same audit as `ringmaster approve`. */
  private async decideFromForm(form: URLSearchParams): Promise<string> {
    const [verb, id] = (form.get('action') ?? '').split(/:(.*)/s) as [string, string | undefined];
    const actor = `human (${process.env.USER ? `${process.env.USER}, ` : ''}dashboard)`;
    const targets = id ? [id] : form.getAll('ids');
    if (targets.length === 0) throw new UserInputError('Select at least one request first.');
    const kind = verb.replace(/-selected$/, '');
    if (!['approve', 'grant', 'deny', 'agent-always', 'always'].includes(kind)) throw new UserInputError(`unknown action "${verb}"`);
    // An unknown host only, as `ringmaster approve --agent-always / --always`: a standing rule instead of one connection.
    const scope = kind === 'always' ? 'always' : kind === 'agent-always' ? 'agent' : 'once';
    const note = (id ? form.get(`note:${id}`) : form.get('note'))?.trim() || undefined;
    const minutes = kind === 'grant' ? Number((id ? form.get(`for:${id}`) : form.get('for')) ?? '30') : undefined;
    const done: string[] = [];
    const failed: string[] = [];
    for (const target of targets) {
      try {
        const request = await decideAnywhere(this.context, target, { approve: kind !== 'deny', actor, note, minutes, scope });
        done.push(`${request.id} ${request.state}${minutes ? ` for ${minutes} min (category ${request.category})` : ''}${scope === 'once' ? '' : scope === 'agent' ? ' (this host, this agent, from now on)' : ' (this host, every agent, from now on)'}: ${request.summary.slice(0, 80)}`);
      } catch (error) {
        failed.push(`${target}: ${explainError(this.context, error)}`);
      }
    }
    if (done.length === 0) throw new UserInputError(failed.join('; '));
    return [...done, ...failed.map((line) => `not decided: ${line}`)].join('; ');
  }

  private async agentAction(name: string, verb: string, form: URLSearchParams): Promise<string> {
    switch (verb) {
      case 'prompt': {
        const busy = form.get('busy');
        const result = await sendPromptAnywhere(this.context, { name, text: form.get('text') ?? '', interrupt: busy === 'interrupt', queue: busy === 'queue' });
        const verdict = result.method === 'queued' ? `queued (#${result.queueId}) for when it is idle` : result.delivered === true ? `delivered (verified by ${result.verifiedBy})` : result.delivered === null ? 'sent (this agent CLI cannot confirm delivery)' : 'NOT confirmed delivered';
        return `Prompt to ${name}: ${verdict}${result.interrupted ? ', after interrupting its turn' : ''}.${result.notes.length ? ` ${result.notes.join(' ')}` : ''}`;
      }
      case 'interrupt': {
        const result = await interruptAgent(this.context, { name });
        return result.interrupted ? `Interrupted ${name}; it is ${result.state}.` : `${name} was ${result.state}: nothing to interrupt.`;
      }
      case 'stop': {
        const result = await stopAgent(this.context, { name });
        return `${name}: ${result.outcome}${result.signal ? ` (${result.signal})` : ''}. Kept: ${result.kept.join(', ')}.`;
      }
      case 'restart': {
        const result = await restartAgent(this.context, { name });
        return `Restarted ${name} (${result.resumed === 'fresh' ? 'fresh start on its task' : `resumed by ${result.resumed}`}).${result.notes.length ? ` ${result.notes.join(' ')}` : ''}`;
      }
      default: {
        const result = await cleanupAnywhere(this.context, { name, force: form.get('force') === '1' });
        return `Cleaned up ${name}. Removed: ${result.removed.join(', ') || 'nothing'}. Kept: ${result.kept.join(', ') || 'nothing'}.`;
      }
    }
  }

  private loginForm(response: ServerResponse, url: URL): void {
    const code = url.searchParams.get('code');
    if (code !== null) {
      if (this.loginThrottled(response)) return;
      // A one-time link: claim the code, set the cookie, and leave this URL at once so the code is never reused or bookmarked.
      if (!this.auth.claimCode(code)) {
        this.auth.loginFailed();
        return sendHtml(response, 401, layout({ title: 'Log in', active: 'login', body: loginPage('That link was already used or has expired. Run ringmaster dashboard again, or enter the token.') }));
      }
      response.setHeader('set-cookie', this.auth.cookie(this.auth.open()));
      return redirect(response, '/');
    }
    return sendHtml(response, 200, layout({ title: 'Log in', active: 'login', body: loginPage() }));
  }

  private async login(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const form = await readForm(request);
    if (this.loginThrottled(response)) return;
    if (!form || !this.auth.tokenMatches(form.get('token') ?? '')) {
      this.auth.loginFailed();
      return sendHtml(response, 401, layout({ title: 'Log in', active: 'login', body: loginPage('Wrong token.') }));
    }
    response.setHeader('set-cookie', this.auth.cookie(this.auth.open()));
    return redirect(response, '/');
  }

  /** Too many wrong logins lately: a 429 that says how long to wait, and no secret is checked. */
  private loginThrottled(response: ServerResponse): boolean {
    const wait = this.auth.loginWait();
    if (wait === 0) return false;
    response.setHeader('retry-after', String(wait));
    sendHtml(response, 429, layout({ title: 'Log in', active: 'login', body: loginPage(`Too many wrong tokens or used links in the last minute: wait ${wait} s, then try again.`) }));
    return true;
  }

  /** Why a POST is not from this server's own page: it must say so in Origin (browsers always send it on POST). */
  private crossSite(request: IncomingMessage): string | undefined {
    const origin = request.headers.origin;
    const own = [`http://127.0.0.1:${this.options.port()}`, `http://localhost:${this.options.port()}`];
    if (!origin || !own.includes(origin.toLowerCase())) return `refused: a state-changing request must come from this dashboard's own page (Origin ${own[0]}), got ${origin ? JSON.stringify(origin) : 'no Origin'}.`;
    if (request.headers['sec-fetch-site'] && !['same-origin', 'none'].includes(String(request.headers['sec-fetch-site']))) return 'refused: a cross-site request.';
    return undefined;
  }

  private page(response: ServerResponse, session: Session, page: Omit<Page, 'csrf' | 'pending'>): void {
    const flash = session.flash;
    session.flash = undefined;
    let pending = 0;
    try {
      pending = listRequests(this.context.store, { pendingOnly: true }).length;
    } catch {
      // Shown as 0 until the store answers again.
    }
    sendHtml(response, 200, layout({ ...page, flash: page.flash ?? flash, csrf: session.csrf, pending }));
  }

  private asset(response: ServerResponse, path: string): void {
    const body = readFileSync(join(packageRoot(), 'src', 'dashboard', 'assets', path.slice('/assets/'.length)));
    response.writeHead(200, { 'content-type': ASSETS[path]!, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    response.end(body);
  }
}

function sendHtml(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS });
  response.end(body);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
  response.end(`${text}\n`);
}

/** 303: after a POST the browser GETs the page, so a reload never repeats an action. */
function redirect(response: ServerResponse, location: string): void {
  response.writeHead(303, { location, ...SECURITY_HEADERS });
  response.end();
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
