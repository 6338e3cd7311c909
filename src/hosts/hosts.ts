import type { Context } from '../core/index.js';
import { shellQuote } from '../adapters/tmux.js';
import { ConflictError } from '../errors.js';
import { HostUnreachableError, SshHost } from './ssh.js';
import { remoteLoad } from './remote-agents.js';

export interface HostHealth {
  name: string;
  destination: string;
  reachable: boolean;
  /** One round trip to the host's ringmaster over the shared connection. */
  latencyMs: number | null;
  liveAgents: number;
  maxAgents: number;
  problem: string | null;
}

/** Every configured host, asked once each (in parallel) over its shared connection. */
export async function hostsHealth(context: Context): Promise<HostHealth[]> {
  return Promise.all(
    Object.entries(context.config.hosts).map(async ([name, host]) => {
      const started = Date.now();
      const base = { name, destination: host.destination, liveAgents: remoteLoad(context, name), maxAgents: host.maxAgents };
      try {
        await SshHost.of(context.config, name).hostExec('load', {}, 30_000);
        return { ...base, reachable: true, latencyMs: Date.now() - started, problem: null };
      } catch (error) {
        return { ...base, reachable: !(error instanceof HostUnreachableError), latencyMs: null, problem: (error as Error).message };
      }
    }),
  );
}

export interface HostCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix: string | null;
}

/** What a host needs to run agents, each with how to get it. */
const HOST_TOOLS: Array<{ name: string; probe: (ringmaster: string) => string; fix: string }> = [
  { name: 'git', probe: () => 'git --version', fix: 'apt-get install git' },
  { name: 'tmux', probe: () => 'tmux -V', fix: 'apt-get install tmux (3.0 or newer)' },
  { name: 'node', probe: () => 'node --version', fix: 'install Node.js 20.19 or newer' },
  { name: 'bwrap', probe: () => 'bwrap --version', fix: 'apt-get install bubblewrap (the sandbox)' },
  { name: 'socat', probe: () => 'socat -V | sed -n 2p', fix: 'apt-get install socat (the sandbox network bridge)' },
  { name: 'ringmaster', probe: (ringmaster) => `${shellQuote(ringmaster)} --version`, fix: 'npm install -g ringmaster on the host (or set hosts.<name>.ringmaster to its path)' },
  { name: 'agent CLI', probe: () => '"${RINGMASTER_CLAUDE:-claude}" --version', fix: 'npm install -g @anthropic-ai/claude-code on the host (or set RINGMASTER_CLAUDE there)' },
];

/** `ringmaster doctor --host NAME`: can we reach it, and does it have every tool an agent needs there. */
export async function doctorHost(context: Context, name: string): Promise<HostCheck[]> {
  const ssh = SshHost.of(context.config, name);
  const checks: HostCheck[] = [];
  const started = Date.now();
  try {
    await ssh.run('true', { timeoutMs: 30_000 });
    checks.push({ name: 'ssh', ok: true, detail: `${ssh.host.destination} answers (${Date.now() - started} ms, shared connection)`, fix: null });
  } catch (error) {
    checks.push({ name: 'ssh', ok: false, detail: (error as Error).message, fix: `make "ssh ${ssh.host.destination} true" work without a prompt (key in your ssh agent, host in known_hosts)` });
    return checks;
  }
  // One round trip for every probe: a line per tool, its exit status and first line of output.
  const script = HOST_TOOLS.map((tool, index) => `out=$( (${tool.probe(ssh.host.ringmaster)}) 2>&1 | head -n 1); printf '%s\\t%s\\t%s\\n' ${index} "$?" "$out"`).join('; ');
  const result = await ssh.run(`set -o pipefail 2>/dev/null; ${script}`, { timeoutMs: 60_000 });
  const lines = new Map(result.stdout.split('\n').filter(Boolean).map((line) => {
    const [index, status, ...rest] = line.split('\t');
    return [Number(index), { status: Number(status), output: rest.join('\t').trim() }] as const;
  }));
  HOST_TOOLS.forEach((tool, index) => {
    const line = lines.get(index);
    const ok = line !== undefined && line.status === 0 && line.output !== '';
    checks.push({ name: tool.name, ok, detail: ok ? line.output : `missing or broken${line?.output ? `: ${line.output}` : ''}`, fix: ok ? null : tool.fix });
  });
  return checks;
}

/**
 * Where an agent without a host goes: this machine while it runs fewer than
 * placement.localMaxAgents, else the host with the fewest live agents under
 * its own limit. With no hosts configured, always this machine.
 */
export function placeAgent(context: Context): string | null {
  const hosts = Object.entries(context.config.hosts);
  if (hosts.length === 0) return null;
  const localLive = context.store.listAgents().length;
  if (localLive < context.config.placement.localMaxAgents) return null;
  const candidates = hosts
    .map(([name, host]) => ({ name, load: remoteLoad(context, name), max: host.maxAgents }))
    .filter((candidate) => candidate.load < candidate.max)
    .sort((a, b) => a.load - b.load);
  if (candidates.length === 0) {
    throw new ConflictError(
      `This machine runs ${localLive} agents (placement.localMaxAgents is ${context.config.placement.localMaxAgents}) and every host is at its maxAgents. Clean an agent up, raise a limit in config.json, or pass host explicitly.`,
    );
  }
  return candidates[0]!.name;
}
