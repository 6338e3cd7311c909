import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressGate } from '../../src/gate/egress/gate.js';
import { decide, listAudit, listRequests } from '../../src/gate/permissions.js';
import { Store } from '../../src/store/store.js';
import { tempDir, waitUntil } from '../helpers/fixtures.js';

/** Real proxies on loopback, a real store, real HTTP and SOCKS clients (curl): the egress gate without a sandbox around it. */

let dir: string;
let store: Store;
let gate: EgressGate;
let target: Server;
let targetPort: number;
const arrived: string[] = [];
let ports: { httpPort: number; socksPort: number };

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return import('execa').then(({ execa }) => execa('curl', ['-sS', '--max-time', '20', ...args], { reject: false })).then((r) => ({ code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }));
}

beforeAll(async () => {
  dir = tempDir();
  const home = join(dir, 'ringmaster');
  mkdirSync(home);
  store = new Store(join(home, 'state.db'));
  store.insertAgent({ id: 'ag_one', name: 'one', repo: dir, baseRef: 'main', baseCommit: 'x', branch: 'agent/one', worktreePath: join(dir, 'wt'), tmuxSocket: null, tmuxSession: 'ringmaster-one', agentKind: 'claude', model: null, task: 't', taskPreview: 't' });
  store.db.prepare(`INSERT INTO agent_egress (agent_id, sandboxed, git_hosts_json, created_at) VALUES ('ag_one', 1, '["github.com"]', 0)`).run();
  target = createServer((req, res) => {
    arrived.push(`${req.method} ${req.headers.host} ${req.url}`);
    res.end('hello from the target');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetPort = (target.address() as AddressInfo).port;
  // The test resolver: real-looking names, our own server.
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, `127.0.0.1 hooks.slack.com s3.amazonaws.com sqs.us-east-1.amazonaws.com unknown.example registry.npmjs.org\n`);
  writeFileSync(join(home, 'policy.json'), JSON.stringify({ waitSeconds: 30, network: { allow: [`127.0.0.1:${targetPort}`] } }));
  gate = new EgressGate({ home, store, hostsFile: hosts });
  ports = await gate.bind('ag_one');
});

afterAll(async () => {
  gate?.close();
  target?.close();
  store?.close();
});

describe('the egress gate', () => {
  it('lets allowed hosts through at once, over HTTP and SOCKS5', async () => {
    const viaHttp = await curl(['-x', `http://127.0.0.1:${ports.httpPort}`, `http://127.0.0.1:${targetPort}/allowed`]);
    expect(viaHttp.stdout).toBe('hello from the target');
    const viaSocks = await curl(['--socks5-hostname', `127.0.0.1:${ports.socksPort}`, `http://127.0.0.1:${targetPort}/socks`]);
    expect(viaSocks.stdout).toBe('hello from the target');
    // A built-in registry name on a port other than 80/443 is not the registry.
    expect(arrived).toEqual([`GET 127.0.0.1:${targetPort} /allowed`, `GET 127.0.0.1:${targetPort} /socks`]);
  });

  it('holds a gated host until a human approves, and nothing arrives before', async () => {
    arrived.length = 0;
    const pending = curl(['-x', `http://127.0.0.1:${ports.httpPort}`, `http://s3.amazonaws.com:${targetPort}/bucket`]);
    const request = await waitUntil(() => listRequests(store, { pendingOnly: true })[0], 10_000, 'a pending request');
    expect(request).toMatchObject({ agentName: 'one', tool: 'network', category: 'aws', resource: `s3.amazonaws.com:${targetPort}` });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(arrived).toEqual([]);
    decide(store, request.id, { approve: true, actor: 'human:test' });
    expect((await pending).stdout).toBe('hello from the target');
    expect(arrived).toEqual([`GET s3.amazonaws.com:${targetPort} /bucket`]);
  });

  it('refuses a denied connection with the reason in words, and the target never sees it', async () => {
    arrived.length = 0;
    const pending = curl(['-x', `http://127.0.0.1:${ports.httpPort}`, `http://hooks.slack.com:${targetPort}/services/T/B/X`, '-d', 'payload={}']);
    const request = await waitUntil(() => listRequests(store, { pendingOnly: true })[0], 10_000, 'a pending request');
    expect(request.category).toBe('slack');
    decide(store, request.id, { approve: false, actor: 'human:test', note: 'no posting to Slack from agents' });
    const result = await pending;
    expect(result.stdout).toMatch(/ringmaster egress gate refused hooks\.slack\.com:\d+: request pr_\w+ was denied by human:test: no posting to Slack from agents/);
    expect(arrived).toEqual([]);
    expect(listAudit(store).find((entry) => entry.requestId === request.id && entry.outcome === 'denied')?.note).toBe('no posting to Slack from agents');
  });

  it('holds an unknown host over CONNECT and SOCKS; "always" allows it from then on', async () => {
    const tunnel = curl(['-x', `http://127.0.0.1:${ports.httpPort}`, '-p', `http://unknown.example:${targetPort}/tunnelled`]);
    const request = await waitUntil(() => listRequests(store, { pendingOnly: true })[0], 10_000, 'a pending request');
    expect(request).toMatchObject({ category: 'network', resource: `unknown.example:${targetPort}` });
    decide(store, request.id, { approve: true, actor: 'human:test', scope: 'always' });
    expect((await tunnel).stdout).toBe('hello from the target');
    // A new gate process (a restart) still honours the standing rule: no request this time.
    const before = listRequests(store).length;
    const again = await curl(['--socks5-hostname', `127.0.0.1:${ports.socksPort}`, `http://unknown.example:${targetPort}/again`]);
    expect(again.stdout).toBe('hello from the target');
    expect(listRequests(store).length).toBe(before);
  });

  it('refuses when the wait runs out, and when the policy is broken (fail closed)', async () => {
    writeFileSync(join(dir, 'ringmaster', 'policy.json'), JSON.stringify({ waitSeconds: 1, network: { allow: [] } }));
    const expired = await curl(['-x', `http://127.0.0.1:${ports.httpPort}`, `http://sqs.us-east-1.amazonaws.com:${targetPort}/late`]);
    expect(expired.stdout).toMatch(/got no decision within 1 s/);
    writeFileSync(join(dir, 'ringmaster', 'policy.json'), '{ not json');
    const broken = await curl(['-x', `http://127.0.0.1:${ports.httpPort}`, `http://registry.npmjs.org/`]);
    expect(broken.stdout).toMatch(/policy\.json is not valid JSON/);
  });

  it('withdraws a held request when the agent gives up the connection, so nobody is asked about nothing', async () => {
    writeFileSync(join(dir, 'ringmaster', 'policy.json'), JSON.stringify({ waitSeconds: 60 }));
    const givingUp = curl(['--max-time', '2', '-x', `http://127.0.0.1:${ports.httpPort}`, `http://unknown.example:${targetPort + 1}/gives-up`]);
    const request = await waitUntil(() => listRequests(store, { pendingOnly: true })[0], 10_000, 'a pending request');
    expect((await givingUp).code).not.toBe(0);
    await waitUntil(() => listRequests(store).find((entry) => entry.id === request.id)?.state === 'expired', 5_000, 'the request to be withdrawn');
    expect(listAudit(store).find((entry) => entry.requestId === request.id && entry.outcome === 'withdrawn')?.note).toMatch(/closed the connection/);
  });

  it('refuses a SOCKS5 connection with "not allowed" when denied by policy', async () => {
    writeFileSync(join(dir, 'ringmaster', 'policy.json'), JSON.stringify({ network: { unknown: 'deny' } }));
    const socket = connect(ports.socksPort, '127.0.0.1');
    const replies: Buffer[] = [];
    socket.on('data', (chunk) => replies.push(chunk));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.from([5, 1, 0]));
    await waitUntil(() => Buffer.concat(replies).length >= 2, 5000, 'method reply');
    const name = Buffer.from('elsewhere.example');
    socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([0, 80])]));
    await waitUntil(() => Buffer.concat(replies).length >= 4, 5000, 'connect reply');
    expect(Buffer.concat(replies)[3]).toBe(2); // X'02' connection not allowed by ruleset
    socket.destroy();
  });
});

describe('twenty agents at once', () => {
  it('gives each agent its own port pair, and each approval reaches only the agent it was for', async () => {
    const home = join(dir, 'ringmaster');
    const ids = Array.from({ length: 20 }, (_, index) => `ag_many${index}`);
    for (const [index, id] of ids.entries()) {
      store.insertAgent({ id, name: `many${index}`, repo: dir, baseRef: 'main', baseCommit: 'x', branch: `agent/many${index}`, worktreePath: join(dir, `wt${index}`), tmuxSocket: null, tmuxSession: `ringmaster-many${index}`, agentKind: 'codex', model: null, task: 't', taskPreview: 't' });
      store.db.prepare(`INSERT INTO agent_egress (agent_id, sandboxed, git_hosts_json, created_at) VALUES (?, 1, '[]', 0)`).run(id);
    }
    writeFileSync(join(home, 'policy.json'), JSON.stringify({ waitSeconds: 60 }));
    const many = new EgressGate({ home, store, hostsFile: join(dir, 'hosts') });
    try {
      const portsOf = await Promise.all(ids.map((id) => many.bind(id)));
      expect(new Set(portsOf.flatMap((ports) => [ports.httpPort, ports.socksPort])).size).toBe(40);
      arrived.length = 0;
      const results = ids.map((id, index) => curl(['-x', `http://127.0.0.1:${portsOf[index]!.httpPort}`, `http://hooks.slack.com:${targetPort}/from/${id}`]));
      const pending = await waitUntil(() => {
        const open = listRequests(store, { pendingOnly: true, limit: 100 }).filter((request) => request.agentId?.startsWith('ag_many'));
        return open.length === 20 && open;
      }, 20_000, '20 held requests');
      // Approve the even agents, deny the odd ones: each answer must reach exactly its own agent.
      for (const request of pending) {
        const index = Number(request.agentId!.replace('ag_many', ''));
        decide(store, request.id, { approve: index % 2 === 0, actor: 'human:test', note: `for ${request.agentId}` });
      }
      const outputs = await Promise.all(results);
      for (const [index, id] of ids.entries()) {
        if (index % 2 === 0) expect(outputs[index]!.stdout).toBe('hello from the target');
        else expect(outputs[index]!.stdout).toMatch(new RegExp(`denied by human:test: for ${id}$`));
      }
      expect(arrived.sort()).toEqual(ids.filter((_, index) => index % 2 === 0).map((id) => `GET hooks.slack.com:${targetPort} /from/${id}`).sort());
    } finally {
      many.close();
    }
  });
});
