import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Config } from '../../config.js';
import { Store } from '../../store/store.js';
import { EgressGate } from './gate.js';
import { egressPaths, processAlive } from './paths.js';

/**
 * The egress gate's own process: it outlives any one MCP server, so children
 * keep their network (and their held connections) when the parent session
 * restarts. One per RINGMASTER_HOME, found through its control socket.
 * Control API (HTTP on a unix socket): GET /health, POST /bind and POST /unbind
 * with {"agent_id": …}, and POST /classify for the gate hook (see `classify`).
 */
const SYNC_MS = 2000;
/** With no sandboxed agent to serve for this long, the process ends; the next spawn starts it again. */
const IDLE_EXIT_MS = 10 * 60_000;

export async function runEgressDaemon(config: Config): Promise<void> {
  const paths = egressPaths(config.home);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  if (!claimPidFile(paths.pidFile)) {
    process.stderr.write(`ringmaster egress: another egress gate already runs for ${config.home}.\n`);
    return;
  }
  const logFd = openSync(paths.logFile, 'a', 0o600);
  const log = (line: string) => {
    try {
      writeSync(logFd, `${new Date().toISOString()} ${line}\n`);
    } catch {
      // Logging must never take the gate down.
    }
  };
  const store = new Store(join(config.home, 'state.db'));
  const gate = new EgressGate({ home: config.home, store, hostsFile: config.egress.hostsFile, log });
  // Requests held by a gate process that died: their connections are gone.
  gate.withdrawHeld('the egress gate restarted; the connection held for this request was lost');
  await gate.sync();

  const control = createServer((req, res) => void handle(gate, config.home, req, res));
  rmSync(paths.socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(paths.socket, () => resolve());
  });
  log(`egress gate ${process.pid} up with ${gate.agents.length} agent(s)`);

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    clearInterval(timer);
    gate.close();
    control.close();
    rmSync(paths.socket, { force: true });
    if (readPid(paths.pidFile) === process.pid) rmSync(paths.pidFile, { force: true });
    closeSync(logFd);
    process.exit(0);
  };
  let busySince = Date.now();
  const timer = setInterval(() => {
    // A home that was removed (a finished test, a user's rm -rf) takes its gate with it.
    if (!existsSync(paths.socket) || readPid(paths.pidFile) !== process.pid) return stop('control socket or pid file gone');
    if (gate.agents.length > 0) busySince = Date.now();
    else if (Date.now() - busySince > IDLE_EXIT_MS) return stop(`no sandboxed agent for ${IDLE_EXIT_MS / 60_000} minutes`);
    gate.sync().catch((error: unknown) => log(`sync failed: ${(error as Error).message}`));
  }, SYNC_MS);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (error) => log(`uncaught: ${error.stack ?? error.message}`));
}

async function handle(gate: EgressGate, home: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  try {
    if (req.method === 'GET' && req.url === '/health') return reply(200, { pid: process.pid, agents: gate.agents.length, classified });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === 'POST' && req.url === '/classify') return classify(home, Buffer.concat(chunks), res);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { agent_id?: string };
    if (typeof body.agent_id !== 'string') return reply(400, { error: 'agent_id is required' });
    if (req.method === 'POST' && req.url === '/bind') {
      const ports = await gate.bind(body.agent_id);
      return reply(200, { http_port: ports.httpPort, socks_port: ports.socksPort });
    }
    if (req.method === 'POST' && req.url === '/unbind') {
      gate.unbind(body.agent_id);
      return reply(200, {});
    }
    return reply(404, { error: 'unknown endpoint' });
  } catch (error) {
    return reply(500, { error: (error as Error).message });
  }
}

/**
 * POST /classify, for the compiled gate hook: what gate.js would find in one
 * PreToolUse payload (gate/hook-call.ts). The classifier loads on the first
 * request, so a gate that serves no Claude child never holds it. The hook
 * takes only the exact answer {"decision":"allow"}.
 */
let service: Promise<typeof import('../hook-call.js')> | undefined;
/** How many calls the service answered, by answer (in /health). */
const classified = { allow: 0, check: 0 };
async function classify(home: string, raw: Buffer, res: ServerResponse): Promise<void> {
  let answer: unknown;
  try {
    service ??= import('../hook-call.js');
    answer = (await service).classifyForService(home, JSON.parse(raw.toString('utf8')));
  } catch (error) {
    answer = { decision: 'check', why: (error as Error).message };
  }
  classified[(answer as { decision: string }).decision === 'allow' ? 'allow' : 'check']++;
  const text = JSON.stringify(answer);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' }).end(text);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the pid file unless a live gate holds it. */
function claimPidFile(file: string): boolean {
  const holder = readPid(file);
  if (holder !== undefined && holder !== process.pid && processAlive(holder)) return false;
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
  return readPid(file) === process.pid;
}
