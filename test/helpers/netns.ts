import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from './fixtures.js';

/**
 * "Remote" hosts for tests: a network namespace this test creates, joined to
 * the machine by a veth pair on a private /30, with logging servers inside.
 * Nothing leaves the machine, and /etc/hosts is never touched: the egress
 * gate resolves real host names to the namespace's address through its own
 * hosts file (RINGMASTER_EGRESS_HOSTS).
 */
export interface RemoteHosts {
  address: string;
  /** Every request line (HTTP) or connection (raw TCP) the servers saw, one per line. */
  seen: () => string;
  hostsFile: string;
  close: () => void;
}

const SERVER = `
const http = require('node:http'), net = require('node:net'), fs = require('node:fs');
const log = process.argv[1];
const note = (line) => fs.appendFileSync(log, line + '\\n');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => { note('HTTP ' + req.method + ' ' + req.headers.host + req.url + ' ' + body); res.end('remote says ok\\n'); });
}).listen(80, '0.0.0.0');
for (const port of [443, 5432]) net.createServer((socket) => { note('TCP ' + port); socket.destroy(); }).listen(port, '0.0.0.0');
note('READY');
`;

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function startRemoteHosts(dir: string, names: string[]): Promise<RemoteHosts> {
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 90 + 10)}`;
  const ns = `rmt${id}`;
  const outside = `rmo${id}`;
  const inside = `rmi${id}`;
  // A /30 in 10.0.0.0/8 chosen per run; only this namespace answers on it.
  const octet = 1 + Math.floor(Math.random() * 250);
  const third = Math.floor(Math.random() * 60) * 4;
  const host = `10.${octet}.${third}.1`;
  const address = `10.${octet}.${third}.2`;
  ip('netns', 'add', ns);
  let server: ChildProcess | undefined;
  const close = () => {
    server?.kill('SIGKILL');
    try {
      ip('link', 'del', outside);
    } catch {
      // Deleting the namespace takes its end of the pair with it.
    }
    try {
      ip('netns', 'del', ns);
    } catch {
      // Already gone.
    }
  };
  try {
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', ns);
    ip('addr', 'add', `${host}/30`, 'dev', outside);
    ip('link', 'set', outside, 'up');
    ip('-n', ns, 'addr', 'add', `${address}/30`, 'dev', inside);
    ip('-n', ns, 'link', 'set', inside, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    const log = join(dir, `remote-${id}.log`);
    writeFileSync(log, '');
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, log], { stdio: 'ignore' });
    await waitUntil(() => readFileSync(log, 'utf8').includes('READY'), 10_000, 'the remote servers');
    const hostsFile = join(dir, `hosts-${id}`);
    writeFileSync(hostsFile, `${address} ${names.join(' ')}\n`);
    return { address, hostsFile, seen: () => (existsSync(log) ? readFileSync(log, 'utf8').replace('READY\n', '') : ''), close };
  } catch (error) {
    close();
    throw error;
  }
}
