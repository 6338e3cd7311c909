import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { ExternalToolError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { EgressPorts } from './gate.js';
import { egressPaths } from './paths.js';

/** Talks to the egress gate's process over its control socket, and starts it when it is not running. */

const START_TIMEOUT_MS = 20_000;

function call<T>(home: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: egressPaths(home).socket, method, path, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return reject(new Error(`bad answer from the egress gate: ${text.slice(0, 200)}`));
        }
        if ((res.statusCode ?? 500) >= 400) return reject(new Error((parsed as { error?: string }).error ?? `status ${res.statusCode}`));
        resolve(parsed as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error('the egress gate did not answer in time')));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export interface EgressHealth {
  pid: number;
  agents: number;
  /** Gate-hook calls the classifier service answered, by answer (absent from a process older than the service). */
  classified?: { allow: number; check: number };
}

export async function egressHealth(home: string): Promise<EgressHealth | undefined> {
  try {
    return await call<EgressHealth>(home, 'GET', '/health', undefined, 1000);
  } catch {
    return undefined;
  }
}

/** Starts the egress gate for this home unless it already runs; returns its pid. */
export async function ensureEgress(home: string, env: Record<string, string | undefined>): Promise<number> {
  const running = await egressHealth(home);
  if (running) return running.pid;
  const paths = egressPaths(home);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const out = openSync(paths.logFile.replace(/\.log$/, '.out'), 'a', 0o600);
  const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'src', 'gate', 'egress', 'main.js')], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...env, RINGMASTER_HOME: home } as NodeJS.ProcessEnv,
  });
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const health = await egressHealth(home);
    if (health) return health.pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new ExternalToolError(
    `ringmaster's egress gate did not start within ${START_TIMEOUT_MS / 1000} s (see ${paths.logFile} and ${paths.logFile.replace(/\.log$/, '.out')}). ` +
      'Run `ringmaster egress` in a terminal to see why; children cannot reach the network without it.',
  );
}

/** Records the agent's egress and opens its port pair in the gate process. */
export async function openEgress(
  store: Store,
  home: string,
  env: Record<string, string | undefined>,
  agent: { id: string; gitHosts: string[] },
): Promise<EgressPorts> {
  store.db
    .prepare(`INSERT OR REPLACE INTO agent_egress (agent_id, http_port, socks_port, sandboxed, git_hosts_json, created_at) VALUES (?, NULL, NULL, 1, ?, ?)`)
    .run(agent.id, JSON.stringify(agent.gitHosts), Date.now());
  await ensureEgress(home, env);
  try {
    const ports = await call<{ http_port: number; socks_port: number }>(home, 'POST', '/bind', { agent_id: agent.id }, 5000);
    return { httpPort: ports.http_port, socksPort: ports.socks_port };
  } catch (error) {
    throw new ExternalToolError(`ringmaster's egress gate could not open ports for the agent (${(error as Error).message}). Check ${egressPaths(home).logFile}.`);
  }
}

/** Closes the agent's ports; a gate that is down has nothing to close. */
export async function closeEgress(store: Store, home: string, agentId: string): Promise<void> {
  await call(home, 'POST', '/unbind', { agent_id: agentId }).catch(() => undefined);
  try {
    store.db.prepare(`UPDATE agent_egress SET http_port = NULL, socks_port = NULL WHERE agent_id = ?`).run(agentId);
  } catch {
    // The gate lets go of removed agents by itself; the ports are only a record.
  }
}

/** Records that an agent runs without the sandbox, so every view can say it is unenforced. */
export function recordUnenforced(store: Store, agentId: string): void {
  store.db
    .prepare(`INSERT OR REPLACE INTO agent_egress (agent_id, http_port, socks_port, sandboxed, git_hosts_json, created_at) VALUES (?, NULL, NULL, 0, '[]', ?)`)
    .run(agentId, Date.now());
}

export interface AgentEnforcement {
  sandboxed: boolean;
  httpPort: number | null;
  socksPort: number | null;
}

type EnforcementRow = { agent_id: string; sandboxed: number; http_port: number | null; socks_port: number | null };
const toEnforcement = (row: EnforcementRow): AgentEnforcement => ({ sandboxed: row.sandboxed === 1, httpPort: row.http_port, socksPort: row.socks_port });

/** How each agent is enforced (or one agent's); agents from before the sandbox have no row and count as unenforced. */
export function enforcementOf(store: Store): Map<string, AgentEnforcement>;
export function enforcementOf(store: Store, agentId: string): AgentEnforcement | undefined;
export function enforcementOf(store: Store, agentId?: string): Map<string, AgentEnforcement> | AgentEnforcement | undefined {
  if (agentId !== undefined) {
    const row = store.db.prepare(`SELECT agent_id, sandboxed, http_port, socks_port FROM agent_egress WHERE agent_id = ?`).get(agentId) as EnforcementRow | undefined;
    return row && toEnforcement(row);
  }
  const rows = store.db.prepare(`SELECT agent_id, sandboxed, http_port, socks_port FROM agent_egress`).all() as EnforcementRow[];
  return new Map(rows.map((row) => [row.agent_id, toEnforcement(row)]));
}
