/**
 * Benchmark: what the egress gate costs a sandboxed child.
 *
 *   latency     one HTTP request on a fresh connection to a loopback server:
 *               through the agent's HTTP proxy (plain request and CONNECT
 *               tunnel) against a direct connection, in the same run;
 *   throughput  a 100 MB download through a CONNECT tunnel against a direct one;
 *   spawn       spawn_agent to a started agent (a custom CLI that just waits):
 *               sandboxed (srt plus the egress gate) against the sandbox off.
 *
 * The gate runs in-process (the same EgressGate the long-lived process uses)
 * over a temp store; the target is a node HTTP server on 127.0.0.1 that the
 * policy allows.
 */
import { request } from 'node:http';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../dist/src/config.js';
import { createContext } from '../dist/src/core/context.js';
import { EgressGate } from '../dist/src/gate/egress/gate.js';
import { Store } from '../dist/src/store/store.js';
import { spawnAgent } from '../dist/src/fleet/spawn.js';
import { cleanupAgent } from '../dist/src/fleet/cleanup.js';
import { ratio, summarize } from './stats.mjs';

const REPS = 30;
const DOWNLOAD_BYTES = 100 * 1024 * 1024;
const chunk = Buffer.alloc(1024 * 1024, 7);

function getVia({ proxyPort, targetPort, path }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const options = proxyPort
      ? { host: '127.0.0.1', port: proxyPort, path: `http://127.0.0.1:${targetPort}${path}`, headers: { host: `127.0.0.1:${targetPort}` }, agent: false }
      : { host: '127.0.0.1', port: targetPort, path, agent: false };
    request(options, (res) => {
      let bytes = 0;
      res.on('data', (data) => (bytes += data.length));
      res.on('end', () => resolve({ ms: performance.now() - started, bytes }));
    })
      .on('error', reject)
      .end();
  });
}

/** A raw HTTP GET over a socket (direct, or a CONNECT tunnel through the proxy), counting body bytes. */
function tunnelGet({ proxyPort, targetPort, path }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(proxyPort ?? targetPort, '127.0.0.1');
    let phase = proxyPort ? 'connect' : 'http';
    let received = 0;
    let head = Buffer.alloc(0);
    const sendGet = () => socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${targetPort}\r\nconnection: close\r\n\r\n`);
    socket.on('connect', () => (proxyPort ? socket.write(`CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\nhost: 127.0.0.1:${targetPort}\r\n\r\n`) : sendGet()));
    socket.on('data', (data) => {
      if (phase === 'connect') {
        head = Buffer.concat([head, data]);
        if (head.includes('\r\n\r\n')) {
          if (!head.toString().startsWith('HTTP/1.1 200')) return reject(new Error(`tunnel refused: ${head.toString().split('\r\n')[0]}`));
          phase = 'http';
          sendGet();
        }
        return;
      }
      received += data.length;
    });
    socket.on('end', () => resolve({ ms: performance.now() - started, bytes: received }));
    socket.on('error', reject);
  });
}

export async function benchEgress(world, log) {
  const home = join(world.root, 'egress-bench');
  mkdirSync(home, { recursive: true });
  const target = createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-length': DOWNLOAD_BYTES });
      let sent = 0;
      const pump = () => {
        while (sent < DOWNLOAD_BYTES) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else res.end('ok');
  });
  await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetPort = target.address().port;
  writeFileSync(join(home, 'policy.json'), JSON.stringify({ network: { allow: [`127.0.0.1:${targetPort}`] } }));
  const store = new Store(join(home, 'state.db'));
  store.insertAgent({ id: 'ag_benchegress', name: 'bench-egress', repo: '/bench', baseRef: 'main', baseCommit: 'c', branch: 'agent/bench-egress', worktreePath: '/bench/wt', tmuxSocket: null, tmuxSession: 'x', agentKind: 'codex', model: null, task: 't', taskPreview: 't' });
  store.db.prepare(`INSERT INTO agent_egress (agent_id, sandboxed, git_hosts_json, created_at) VALUES ('ag_benchegress', 1, '[]', 0)`).run();
  const gate = new EgressGate({ home, store });
  const ports = await gate.bind('ag_benchegress');
  const results = {};
  try {
    log(`egress: ${REPS} requests each way`);
    const direct = [];
    const viaHttp = [];
    const viaTunnel = [];
    const directRaw = [];
    for (let rep = 0; rep < REPS; rep++) {
      direct.push((await getVia({ targetPort, path: '/' })).ms);
      viaHttp.push((await getVia({ proxyPort: ports.httpPort, targetPort, path: '/' })).ms);
      directRaw.push((await tunnelGet({ targetPort, path: '/' })).ms);
      viaTunnel.push((await tunnelGet({ proxyPort: ports.httpPort, targetPort, path: '/' })).ms);
    }
    results.requestMs = { direct: summarize(direct, 3), viaProxy: summarize(viaHttp, 3), directRaw: summarize(directRaw, 3), viaTunnel: summarize(viaTunnel, 3) };
    results.addedLatencyMs = { proxy: results.requestMs.viaProxy.median - results.requestMs.direct.median, tunnel: results.requestMs.viaTunnel.median - results.requestMs.directRaw.median };
    log('egress: 100 MB downloads');
    const directMBps = [];
    const tunnelMBps = [];
    for (let rep = 0; rep < 5; rep++) {
      const plain = await tunnelGet({ targetPort, path: '/big' });
      directMBps.push(plain.bytes / 1024 / 1024 / (plain.ms / 1000));
      const tunnelled = await tunnelGet({ proxyPort: ports.httpPort, targetPort, path: '/big' });
      tunnelMBps.push(tunnelled.bytes / 1024 / 1024 / (tunnelled.ms / 1000));
    }
    results.downloadMBps = { direct: summarize(directMBps, 0), viaTunnel: summarize(tunnelMBps, 0) };
    results.throughputRatio = ratio(results.downloadMBps.viaTunnel.median, results.downloadMBps.direct.median);
  } finally {
    gate.close();
    store.close();
    target.close();
  }

  log('egress: spawn sandboxed vs unenforced');
  const context = createContext(world.env, loadConfig(world.env));
  const repo = world.makeRepo('egress-bench-repo');
  const sandboxed = [];
  const unenforced = [];
  const policyFile = join(world.ringmasterHome, 'policy.json');
  try {
    for (let rep = 0; rep < 4; rep++) {
      for (const [label, times, policy] of [['on', sandboxed, {}], ['off', unenforced, { sandbox: { enabled: false } }]]) {
        writeFileSync(policyFile, JSON.stringify(policy));
        const name = `bench-spawn-${label}-${rep}`;
        const started = performance.now();
        await spawnAgent(context, { repo, task: '600', name, agent: 'custom', command: ['sleep'] });
        times.push(performance.now() - started);
        await cleanupAgent(context, { name, force: true, deleteBranch: true });
      }
    }
  } finally {
    writeFileSync(policyFile, '{}');
    context.store.close();
  }
  results.spawnMs = { sandboxed: summarize(sandboxed, 0), unenforced: summarize(unenforced, 0) };
  results.spawnRatio = ratio(results.spawnMs.sandboxed.median, results.spawnMs.unenforced.median);
  return results;
}
