import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { sendPrompt } from '../../src/fleet/prompt.js';
import { createRequest, getRequest, hasHostRule, listAudit, pendingForAgent, type PermissionRequest } from '../../src/gate/permissions.js';
import { agentStatus, findLiveAgent } from '../../src/state/state.js';
import { CLI, git, makeRepo, makeWorld, tempDir, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';
import { startHttpServer, type HttpServerProcess } from '../helpers/mcp.js';
import { claudeEnv, isMainConversation, isToolResultTurn, lastToolResult, startModelServer, userTexts, type MessagesRequestBody, type ModelServer } from '../helpers/model-server.js';

const run = promisify(execFile);
const CHROMIUM = process.env.RINGMASTER_CHROMIUM ?? '/usr/bin/chromium';
/** Every screenshot the tests take; one of them is the README's docs/dashboard.png. */
const SHOTS = process.env.RINGMASTER_SCREENSHOTS ?? tempDir('dashboard-shots-');

let model: ModelServer;
let github: GitHubServer;
let world: TestWorld;
let server: HttpServerProcess;
let origin: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const shims = tempDir('shims-');
const shimLog = join(shims, 'ran.log');
const ran = () => (existsSync(shimLog) ? readFileSync(shimLog, 'utf8') : '');

function latestPrompt(body: MessagesRequestBody): string {
  return userTexts(body).filter((text) => !text.startsWith('<')).at(-1) ?? '';
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  for (const name of ['aws', 'terraform']) {
    writeFileSync(join(shims, name), `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> '${shimLog}'\n`);
    chmodSync(join(shims, name), 0o755);
  }
  // The scripted model: "RUN <command>" calls Bash with that command, then quotes the tool's answer; anything else is "ready".
  model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok' };
    if (isToolResultTurn(body)) return { text: `tool said: ${lastToolResult(body)!.text.slice(0, 300)}` };
    const prompt = latestPrompt(body);
    if (prompt.startsWith('RUN ')) return { toolUse: { name: 'Bash', input: { command: prompt.slice(4), description: 'a command' } } };
    if (prompt.startsWith('SLOW ')) return { delayMs: 60_000, text: 'finally' };
    return { text: `ready: ${prompt.slice(0, 60)}` };
  });
  // A loopback GitHub holds the agent's pull request, with a failing check.
  github = await startGitHubServer('ghp_dashboard');
  github.prs.set('acme/web', new Map([['agent/web', { number: 7, checks: [{ name: 'unit', conclusion: 'FAILURE' }] }]]));
  world = makeWorld({ ...claudeEnv(model), PATH: `${shims}:${process.env.PATH}`, GITHUB_TOKEN: 'ghp_dashboard', GITHUB_API_URL: github.url });
  writeFileSync(join(world.env.RINGMASTER_HOME!, 'policy.json'), JSON.stringify({ sandbox: { allowWrite: [shims] } }));
  const repo = makeRepo(world.dir, 'web-repo');
  git(repo, 'remote', 'add', 'origin', 'git@github.com:acme/web.git');
  await spawnAgent(world.context, { repo, task: 'say ready', name: 'web', extraArgs: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'] });
  server = await startHttpServer(world.env);
  origin = new URL(server.url).origin;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await world?.close();
  await model?.close();
  await github?.close();
});

const agent = () => findLiveAgent(world.context, 'web');
async function idle() {
  await waitUntil(async () => (await agentStatus(world.context, agent())).state === 'idle', 60_000, 'the agent to be idle');
}
async function held(command: string): Promise<PermissionRequest> {
  await idle();
  expect((await sendPrompt(world.context, { name: 'web', text: `RUN ${command}` })).delivered).toBe(true);
  return waitUntil(() => pendingForAgent(world.context.store, agent().id), 30_000, `the gate to hold "${command}"`);
}
const shot = (name: string, target: Page = page) => target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
/** The row as the page shows it now, without reloading: the live feed keeps it current. */
const rowState = () => page.locator('tr.agent-row[data-name="web"]').getAttribute('data-state');

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

describe('security of the dashboard', () => {
  it('without a session: pages send you to the login form, the event stream and actions answer 401', async () => {
    const home = await fetch(`${origin}/`, { redirect: 'manual' });
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/login');
    expect((await fetch(`${origin}/events`)).status).toBe(401);
    expect((await fetch(`${origin}/agents/web/transcript`)).status).toBe(401);
    const action = await fetch(`${origin}/agents/web/stop`, { method: 'POST', headers: { ...formHeaders, origin }, body: form({ csrf: 'x' }) });
    expect(action.status).toBe(401);
    expect((await agentStatus(world.context, agent())).state).not.toBe('exited');
  });

  it('refuses a wrong token, a login from a foreign Origin or with none, and any request from a foreign Origin', async () => {
    const wrong = await fetch(`${origin}/login`, { method: 'POST', headers: { ...formHeaders, origin }, body: form({ token: `${server.token}x` }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('Wrong token');
    const foreignLogin = await fetch(`${origin}/login`, { method: 'POST', headers: { ...formHeaders, origin: 'http://evil.example' }, body: form({ token: server.token }), redirect: 'manual' });
    expect(foreignLogin.status).toBe(403);
    expect(foreignLogin.headers.get('set-cookie')).toBeNull();
    const noOrigin = await fetch(`${origin}/login`, { method: 'POST', headers: formHeaders, body: form({ token: server.token }), redirect: 'manual' });
    expect(noOrigin.status).toBe(403);
    const foreignGet = await fetch(`${origin}/login`, { headers: { origin: 'http://evil.example' } });
    expect(foreignGet.status).toBe(403);
    // A DNS-rebound name: fetch cannot set Host, a raw request can.
    const rebound = await new Promise<number>((resolve, reject) =>
      httpRequest({ host: '127.0.0.1', port: new URL(origin).port, path: '/login', headers: { host: 'evil.example' } }, (response) => {
        response.resume();
        resolve(response.statusCode!);
      })
        .on('error', reject)
        .end(),
    );
    expect(rebound).toBe(403);
  });

  it('logs in with the token through the form; the cookie is HttpOnly and SameSite=Strict; no page carries the token', async () => {
    await page.goto(`${origin}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name="token"]', server.token);
    await page.click('button:has-text("Log in")');
    await page.waitForSelector('h1:has-text("Fleet")');
    const cookie = (await context.cookies()).find((entry) => entry.name === 'ringmaster_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    for (const path of ['/', '/approvals', '/costs', '/agents/web']) {
      const response = await page.request.get(`${origin}${path}`);
      expect(response.status()).toBe(200);
      expect(await response.text()).not.toContain(server.token);
    }
    const unknown = await page.request.get(`${origin}/agents/nobody`);
    expect(unknown.status()).toBe(404);
    expect(await unknown.text()).toContain('nobody');
    const malformed = await page.request.get(`${origin}/agents/%E0%A4%A`);
    expect(malformed.status()).toBe(400);
    expect(await malformed.text()).toMatch(/^bad URL/);
  });

  it('a one-time link from `ringmaster dashboard` logs in once and leaves the URL without its code', async () => {
    const env = Object.fromEntries(Object.entries(world.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const { stdout } = await run(process.execPath, [CLI, 'dashboard', '--no-open', '--json'], { env });
    const { url } = JSON.parse(stdout) as { url: string };
    expect(url).toMatch(new RegExp(`^${origin}/login\\?code=[\\w-]{20,}$`));
    expect(url).not.toContain(server.token);
    const fresh = await browser.newContext();
    try {
      const other = await fresh.newPage();
      await other.goto(url);
      await other.waitForSelector('h1:has-text("Fleet")');
      expect(other.url()).toBe(`${origin}/`);
      const again = await (await browser.newContext()).newPage();
      const response = await again.goto(url);
      expect(response!.status()).toBe(401);
      expect(await again.textContent('body')).toContain('already used or has expired');
    } finally {
      await fresh.close();
    }
  });

  it('a cross-site form post carries no session and is refused; a same-origin post without the CSRF token is refused too', async () => {
    const request = createRequest(world.context.store, { agentId: agent().id, agentName: 'web', tool: 'Bash', summary: 'aws s3 rb s3://prod', category: 'aws', reason: 'aws: aws s3 rb', waitSeconds: 600 });
    // A page on another origin that posts to the dashboard the moment it loads.
    const evil: Server = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<form id="f" method="post" action="${origin}/approvals"><input name="action" value="approve:${request.id}"><input name="csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const posted = new Promise<number>((resolve) => page.on('response', (response) => response.url().endsWith('/approvals') && response.request().method() === 'POST' && resolve(response.status())));
    try {
      await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
      expect(await posted).toBe(403);
    } finally {
      page.removeAllListeners('response');
      evil.close();
    }
    // The browser's own session, its own Origin, but no CSRF token.
    const noCsrf = await page.request.post(`${origin}/approvals`, { headers: { origin }, form: { action: `approve:${request.id}` } });
    expect(noCsrf.status()).toBe(403);
    expect(getRequest(world.context.store, request.id).state).toBe('pending');
    // Tidy: deny it through the inbox so the real agent's requests are the only pending ones later.
    await page.goto(`${origin}/approvals`);
    await page.click(`button[value="deny:${request.id}"]`);
    await page.waitForSelector('.flash.ok');
    expect(getRequest(world.context.store, request.id)).toMatchObject({ state: 'denied', decidedBy: expect.stringContaining('dashboard') });
  });
});

describe('running the fleet from the browser', () => {
  it('shows the fleet and a status change arrives live, without a reload', async () => {
    await idle();
    await page.goto(`${origin}/`);
    await page.waitForSelector('#live.on');
    await waitUntil(async () => (await rowState()) === 'idle', 20_000, 'the row to show idle');
    // The pull request and its CI come from GitHub (the same listPrs as list_prs) once the page is open.
    await page.waitForSelector('tr.agent-row[data-name="web"] a[href="https://github.com/acme/web/pull/7"]', { timeout: 20_000 });
    expect(await page.textContent('tr.agent-row[data-name="web"] .ci')).toBe('FAILURE');
    expect(await page.getAttribute('tr.agent-row[data-name="web"] .ci', 'title')).toBe('failing: unit');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    await shot('fleet-idle');
    const request = await held('aws s3 ls');
    await waitUntil(async () => (await rowState()) === 'waiting_permission', 20_000, 'the row to turn waiting_permission live');
    expect(await page.locator('tr.agent-row[data-name="web"] .reason').textContent()).toContain(request.id);
    expect(await page.textContent('#pending-count')).toBe('1');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    await shot('fleet-waiting');
  });

  it('approves the held command in the inbox, and the command then runs', async () => {
    const request = pendingForAgent(world.context.store, agent().id)!;
    await page.goto(`${origin}/approvals`);
    await page.waitForSelector(`#request-${request.id}`);
    expect(await page.textContent(`#request-${request.id} .command`)).toBe('aws s3 ls');
    await shot('approvals');
    expect(ran()).not.toContain('aws s3 ls');
    await page.click(`button[value="approve:${request.id}"]`);
    await page.waitForSelector('.flash.ok');
    expect(await page.textContent('.flash.ok')).toContain(`${request.id} approved`);
    await waitUntil(() => ran().includes('aws s3 ls'), 30_000, 'aws s3 ls to run after approval');
    expect(listAudit(world.context.store, { agentName: 'web' }).find((entry) => entry.requestId === request.id)).toMatchObject({ outcome: 'approved once', actor: expect.stringContaining('dashboard') });
  });

  it('denies another with a note, live in the open inbox; the model is told why and the command never runs', async () => {
    await idle();
    await page.goto(`${origin}/approvals`);
    await page.waitForSelector('#live.on');
    const request = await held('terraform destroy -auto-approve');
    // The inbox was open before the request existed: it arrives by the event stream.
    await page.waitForSelector(`#request-${request.id}`, { timeout: 20_000 });
    await page.fill(`input[name="note:${request.id}"]`, 'not in this sprint');
    await page.click(`button[value="deny:${request.id}"]`);
    await page.waitForSelector('.flash.ok');
    const answer = await model.waitFor((entry) => Boolean(lastToolResult(entry.body as MessagesRequestBody)?.text.includes('not in this sprint')), 30_000);
    expect(lastToolResult(answer.body as MessagesRequestBody)!.isError).toBe(true);
    expect(ran()).not.toContain('terraform destroy');
  });

  it('sends a prompt from the agent page with verified delivery, and the transcript shows it', async () => {
    await idle();
    await page.goto(`${origin}/agents/web`);
    await page.fill('textarea[name="text"]', 'hello from the browser');
    await page.click('form.prompt button');
    await page.waitForSelector('.flash');
    expect(await page.textContent('.flash')).toContain('delivered (verified by UserPromptSubmit)');
    await model.waitFor((entry) => latestPrompt(entry.body as MessagesRequestBody) === 'hello from the browser', 30_000);
    await page.waitForSelector('#live.on');
    await page.waitForSelector('.entry.text pre:has-text("ready: hello from the browser")', { timeout: 30_000 });
    expect(await page.locator('.entry.prompt pre', { hasText: 'hello from the browser' }).count()).toBeGreaterThan(0);
    await shot('agent');
  });

  it('opens the branch diff, highlighted: a commit on the branch and a file not yet tracked', async () => {
    await idle();
    await sendPrompt(world.context, {
      name: 'web',
      text: `RUN printf 'export const answer = 42; // the answer\\n' > answer.ts && git add answer.ts && git commit -qm 'add the answer' && printf '# notes\\n' > notes.md`,
    });
    await waitUntil(() => existsSync(join(agent().worktreePath, 'notes.md')), 30_000, 'the agent to commit answer.ts and write notes.md');
    await page.goto(`${origin}/agents/web`);
    await page.click('#open-diff');
    await page.waitForSelector('details.file summary:has-text("answer.ts")');
    expect(await page.textContent('details.file:has-text("answer.ts") .fstatus')).toBe('added');
    expect(await page.textContent('details.file:has-text("notes.md") .fstatus')).toBe('untracked');
    const added = page.locator('details.file:has-text("answer.ts") pre.diff .line.add');
    expect(await added.locator('.tok-kw').allTextContents()).toEqual(['export', 'const']);
    expect(await added.locator('.tok-com').textContent()).toBe('// the answer');
    expect(await added.locator('.tok-num').textContent()).toBe('42');
    expect(await page.textContent('pre.diff .hunk')).toMatch(/^@@ -0,0 \+1 @@/);
    await shot('diff');
  });

  it('refuses to clean up unsaved work and says why', async () => {
    await page.goto(`${origin}/agents/web`);
    await page.click('button:text-is("Clean up")');
    await page.waitForSelector('.flash.error');
    const why = await page.textContent('.flash.error');
    expect(why).toContain('Refusing to clean up "web"');
    expect(why).toContain('notes.md');
    expect(why).toContain('1 commit(s) on agent/web');
    expect(existsSync(join(agent().worktreePath, 'notes.md'))).toBe(true);
  });

  it('decides in bulk, and allows an unknown host from now on', async () => {
    const requests = ['aws iam list-users', 'aws iam list-roles'].map((summary) =>
      createRequest(world.context.store, { agentId: null, agentName: 'parent', tool: 'parent', summary, category: 'aws', reason: 'the parent asks', waitSeconds: 600 }),
    );
    await page.goto(`${origin}/approvals`);
    await page.check('#select-all');
    await page.fill('.bulk input[name="note"]', 'not today');
    await page.click('button[value="deny-selected"]');
    await page.waitForSelector('.flash.ok');
    for (const request of requests) expect(getRequest(world.context.store, request.id)).toMatchObject({ state: 'denied', note: 'not today' });

    // A connection request as the egress gate files it, for an agent other than web (whose real gate would withdraw a request it does not hold).
    const host = createRequest(world.context.store, { agentId: 'ag_elsewhere', agentName: 'elsewhere', tool: 'network', summary: 'connect to pypi.example.org:443', category: 'network', reason: 'no policy covers this host', waitSeconds: 600, resource: 'pypi.example.org:443' });
    await page.goto(`${origin}/approvals`);
    await page.waitForSelector(`#request-${host.id}`);
    expect(await page.locator(`#request-${host.id} button[value="always:${host.id}"]`).count()).toBe(1);
    await page.click(`button[value="agent-always:${host.id}"]`);
    await page.waitForSelector('.flash.ok');
    expect(await page.textContent('.flash.ok')).toContain('this host, this agent, from now on');
    expect(hasHostRule(world.context.store, 'ag_elsewhere', 'pypi.example.org:443')).toBe(true);
    expect(hasHostRule(world.context.store, agent().id, 'pypi.example.org:443')).toBe(false);
  });

  it('charts the costs', async () => {
    await page.goto(`${origin}/costs`);
    await page.waitForSelector('svg.chart polyline.fleet-line');
    expect(await page.textContent('#fleet-total')).toMatch(/^\$\d+\.\d\d$/);
    expect(await page.locator('table.costs td a', { hasText: 'web' }).count()).toBe(1);
    await shot('costs');
    // Two reckonings agree: the chart's (every response's timestamp and usage) and the fleet's (the stored running totals).
    const charted = await page.textContent('#fleet-total');
    await page.goto(`${origin}/`);
    expect(await page.textContent('#fleet-summary')).toContain(`${charted} spent`);
  });

  it('interrupts a long turn, stops the agent and restarts it from its page, each seen live in the fleet', async () => {
    await idle();
    await page.goto(`${origin}/`);
    await page.waitForSelector('#live.on');
    const other = await context.newPage();
    await other.goto(`${origin}/agents/web`);
    await sendPrompt(world.context, { name: 'web', text: 'SLOW think for a minute' });
    await waitUntil(async () => (await rowState()) === 'working', 20_000, 'the fleet row to show working');
    await other.click('button:text-is("Interrupt")');
    await other.waitForSelector('.flash');
    expect(await other.textContent('.flash')).toContain('Interrupted web; it is idle');
    await waitUntil(async () => (await rowState()) === 'idle', 20_000, 'the fleet row to show idle after the interrupt');

    await other.click('button:text-is("Stop")');
    await other.waitForSelector('.flash');
    expect(await other.textContent('.flash')).toContain('web: stopped');
    await waitUntil(async () => (await rowState()) === 'exited', 20_000, 'the fleet row to show exited');

    await other.click('button:text-is("Restart")');
    await other.waitForSelector('.flash');
    expect(await other.textContent('.flash')).toContain('Restarted web (resumed by session)');
    await waitUntil(async () => (await rowState()) === 'idle', 60_000, 'the fleet row to show the restarted agent idle');
    await other.close();
  });

  // Last: it leaves the login refusing for a minute.
  it('stops checking tokens after ten wrong ones in a minute, and says how long to wait', async () => {
    const login = (token: string) => fetch(`${origin}/login`, { method: 'POST', headers: { ...formHeaders, origin }, body: form({ token }), redirect: 'manual' });
    // Wrong tries of the tests above (a wrong token, a used link) count too: guess until the login stops checking.
    const statuses: number[] = [];
    while (statuses.length < 12 && statuses.at(-1) !== 429) statuses.push((await login(`guess-${statuses.length}`)).status);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((status) => status === 401)).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(7);
    const throttled = await login(server.token);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('set-cookie')).toBeNull();
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(throttled.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await throttled.text()).toMatch(/Too many wrong tokens or used links in the last minute: wait \d+ s/);
    const link = await fetch(`${origin}/login?code=${'a'.repeat(24)}`, { redirect: 'manual' });
    expect(link.status).toBe(429);
  });
});
