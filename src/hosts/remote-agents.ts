import { randomBytes } from 'node:crypto';
import type { Context, ProgressReporter } from '../core/index.js';
import { ConflictError, NotFoundError, UserInputError } from '../errors.js';
import { nameFromTask, validateName, type AgentSummary, type CleanupInput, type CleanupResult, type SendPromptInput, type SendPromptResult, type SpawnInput, type SpawnResult } from '../fleet/index.js';
import type { ApprovalScope, PermissionRequest } from '../gate/index.js';
import type { AgentStateReport, StatusReport } from '../state/index.js';
import { HostUnreachableError, SshHost } from './ssh.js';

/** What this server keeps about an agent on another host; the host's own ringmaster keeps the rest. */
export interface RemoteAgent {
  id: string;
  name: string;
  host: string;
  state: 'spawning' | 'running' | 'removed';
  agentKind: string;
  repo: string;
  branch: string;
  baseRef: string;
  worktreePath: string;
  tmuxSession: string;
  tmuxSocket: string | null;
  attachCommand: string;
  enforcement: 'sandboxed' | 'unenforced';
  taskPreview: string;
  createdAt: number;
}

const COLUMNS = `id, name, host, state, agent_kind AS agentKind, repo, branch, base_ref AS baseRef, worktree_path AS worktreePath,
  tmux_session AS tmuxSession, tmux_socket AS tmuxSocket, attach_command AS attachCommand, enforcement, task_preview AS taskPreview, created_at AS createdAt`;

export function listRemoteAgents(context: Context, host?: string): RemoteAgent[] {
  const where = host ? `WHERE state != 'removed' AND host = ?` : `WHERE state != 'removed'`;
  return context.store.db.prepare(`SELECT ${COLUMNS} FROM remote_agents ${where} ORDER BY created_at, name`).all(...(host ? [host] : [])) as RemoteAgent[];
}

export function findRemoteAgent(context: Context, name: string): RemoteAgent | undefined {
  return context.store.db.prepare(`SELECT ${COLUMNS} FROM remote_agents WHERE name = ? AND state != 'removed'`).get(name) as RemoteAgent | undefined;
}

/** Live agents per host, counted here: the server placed them, so it knows without asking. */
export function remoteLoad(context: Context, host: string): number {
  return (context.store.db.prepare(`SELECT count(*) AS n FROM remote_agents WHERE host = ? AND state != 'removed'`).get(host) as { n: number }).n;
}

/**
 * Spawns on a host: the name is reserved here first (unique across this
 * machine and every host), then the host's ringmaster runs the whole local
 * spawn there (checks, worktree, bootstrap, sandbox, egress gate, launch,
 * start-up), rolling back there on failure; the row here is dropped if the
 * host refused or could not be reached.
 */
export async function spawnRemote(context: Context, hostName: string, input: SpawnInput, progress: ProgressReporter = () => {}): Promise<SpawnResult & { host: string }> {
  const ssh = SshHost.of(context.config, hostName);
  const load = remoteLoad(context, hostName);
  if (load >= ssh.host.maxAgents) {
    throw new ConflictError(`Host ${hostName} already runs ${load} of its ${ssh.host.maxAgents} agents (maxAgents in config.json). Clean one up, raise the limit, or pick another host.`);
  }
  if (!input.task.trim()) throw new UserInputError('The task is empty. Give the agent something to do.');
  const name = input.name !== undefined ? validateName(input.name) : `${nameFromTask(input.task)}`;
  refuseTakenName(context, name);
  const reservedId = `rm_${randomBytes(6).toString('hex')}`;
  context.store.db
    .prepare(
      `INSERT INTO remote_agents (id, name, host, state, agent_kind, repo, branch, base_ref, worktree_path, tmux_session, attach_command, enforcement, task_preview, created_at)
       VALUES (?, ?, ?, 'spawning', ?, ?, '', '', '', '', '', 'sandboxed', ?, ?)`,
    )
    .run(reservedId, name, hostName, input.agent ?? 'claude', input.repo, input.task.slice(0, 200), Date.now());
  try {
    progress(`Spawning "${name}" on host ${hostName}`);
    const result = await ssh.hostExec<SpawnResult>('spawn', { ...input, name }, 30 * 60_000);
    const attachCommand = ssh.interactiveCommand(result.attachCommand);
    context.store.db
      .prepare(
        `UPDATE remote_agents SET id = ?, state = 'running', agent_kind = ?, repo = ?, branch = ?, base_ref = ?, worktree_path = ?, tmux_session = ?, tmux_socket = ?,
           attach_command = ?, enforcement = ? WHERE id = ?`,
      )
      .run(result.id, result.agent, result.repo, result.branch, result.base, result.worktreePath, result.tmuxSession, result.tmuxSocket, attachCommand, result.enforcement, reservedId);
    return { ...result, attachCommand, host: hostName };
  } catch (error) {
    if (error instanceof HostUnreachableError) {
      // The host may have finished the spawn after the connection went: keep the name reserved, and let
      // status (asked by name) and cleanup (which forgets it when the host never made it) settle it.
      error.message += ` The spawn of "${name}" may have completed there: read_agent_state shows it once the host answers, and cleanup_worktree "${name}" with force removes whatever it left.`;
      throw error;
    }
    context.store.db.prepare(`DELETE FROM remote_agents WHERE id = ?`).run(reservedId);
    throw error;
  }
}

/** A name is one agent's, wherever it runs. */
export function refuseTakenName(context: Context, name: string): void {
  const local = context.store.findAgentByName(name);
  if ((local && local.state !== 'removed') || findRemoteAgent(context, name)) {
    throw new ConflictError(`An agent named "${name}" already exists. Pick another name, or clean that agent up first.`);
  }
}

/** Since when each host has not answered, for an honest `since` on `unreachable`. */
const unreachableSince = new Map<string, number>();

function unreachableStatus(host: string, error: Error): StatusReport {
  const since = unreachableSince.get(host) ?? Date.now();
  unreachableSince.set(host, since);
  return {
    state: 'unreachable',
    since: new Date(since).toISOString(),
    secondsInState: Math.max(0, Math.round((Date.now() - since) / 1000)),
    reason: `${error.message}`,
    exitStatus: null,
    currentTool: null,
  };
}

function byHost(agents: RemoteAgent[]): Map<string, RemoteAgent[]> {
  const groups = new Map<string, RemoteAgent[]>();
  for (const agent of agents) groups.set(agent.host, [...(groups.get(agent.host) ?? []), agent]);
  return groups;
}

/** One ssh call per host for all its agents; a host that does not answer makes its agents `unreachable`, never `exited`. */
export async function remoteAgentStates(context: Context, agents: RemoteAgent[], verbose = false): Promise<Array<AgentStateReport & { host: string }>> {
  const groups = await Promise.all(
    [...byHost(agents)].map(async ([host, group]) => {
      try {
        const answer = await SshHost.of(context.config, host).hostExec<{ reports: AgentStateReport[]; missing: string[] }>('state', { names: group.map((agent) => agent.name), verbose }, 60_000);
        unreachableSince.delete(host);
        return group.map((agent) => {
          const report = answer.reports.find((candidate) => candidate.name === agent.name);
          if (report) return { ...report, host };
          // Still being spawned there: the host's spawn has not reserved the name yet.
          if (agent.state === 'spawning') return { ...stateWithout(agent), status: spawningStatus(agent) };
          return { ...stateWithout(agent), status: goneStatus(agent) };
        });
      } catch (error) {
        if (!(error instanceof HostUnreachableError)) throw error;
        return group.map((agent) => ({ ...stateWithout(agent), status: unreachableStatus(host, error) }));
      }
    }),
  );
  const order = new Map(agents.map((agent, index) => [agent.id, index]));
  return groups.flat().sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

function stateWithout(agent: RemoteAgent): Omit<AgentStateReport, 'status'> & { host: string } {
  return {
    id: agent.id,
    name: agent.name,
    agent: agent.agentKind,
    branch: agent.branch,
    worktreePath: agent.worktreePath,
    tmuxSession: agent.tmuxSession,
    claudeSessionId: null,
    transcriptPath: null,
    transcript: null,
    git: null,
    host: agent.host,
  };
}

function spawningStatus(agent: RemoteAgent): StatusReport {
  return {
    state: 'spawning',
    since: new Date(agent.createdAt).toISOString(),
    secondsInState: Math.max(0, Math.round((Date.now() - agent.createdAt) / 1000)),
    reason: `spawn_agent is starting it on host ${agent.host}`,
    exitStatus: null,
    currentTool: null,
  };
}

function goneStatus(agent: RemoteAgent): StatusReport {
  return {
    state: 'exited',
    since: new Date().toISOString(),
    secondsInState: 0,
    reason: `host ${agent.host} no longer has this agent (removed there); cleanup_worktree forgets it here`,
    exitStatus: null,
    currentTool: null,
  };
}

/** list_agents' rows for remote agents, from one ssh call per host; an unreachable host's agents show what is known here, nothing alive. */
export async function remoteAgentSummaries(context: Context, agents: RemoteAgent[]): Promise<Array<AgentSummary & { host: string }>> {
  const groups = await Promise.all(
    [...byHost(agents)].map(async ([host, group]) => {
      let live: AgentSummary[] = [];
      try {
        live = await SshHost.of(context.config, host).hostExec<AgentSummary[]>('list', { names: group.map((agent) => agent.name) }, 60_000);
      } catch (error) {
        if (!(error instanceof HostUnreachableError)) throw error;
      }
      return group.map((agent) => {
        const there = live.find((summary) => summary.name === agent.name);
        const known: AgentSummary = {
          id: agent.id,
          name: agent.name,
          agent: agent.agentKind,
          repo: agent.repo,
          branch: agent.branch,
          base: agent.baseRef,
          worktreePath: agent.worktreePath,
          worktreeExists: there?.worktreeExists ?? false,
          tmuxSession: agent.tmuxSession,
          tmuxSocket: agent.tmuxSocket,
          attachCommand: agent.attachCommand,
          sessionAlive: there?.sessionAlive ?? false,
          processAlive: there?.processAlive ?? false,
          exitStatus: there?.exitStatus ?? null,
          recordState: agent.state,
          enforcement: agent.enforcement,
          createdAt: new Date(agent.createdAt).toISOString(),
          taskPreview: agent.taskPreview,
        };
        return { ...known, host };
      });
    }),
  );
  const order = new Map(agents.map((agent, index) => [agent.id, index]));
  return groups.flat().sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

export async function sendRemotePrompt(context: Context, agent: RemoteAgent, input: SendPromptInput): Promise<SendPromptResult> {
  const timeoutMs = (input.timeoutMs ?? 20_000) + 60_000;
  return SshHost.of(context.config, agent.host).hostExec<SendPromptResult>('send', input, timeoutMs);
}

/**
 * Cleanup runs on the host with the same refusals (unsaved work stays unless
 * forced). An unreachable host refuses the call: nothing is forgotten here
 * until the host has removed the agent itself.
 */
export async function cleanupRemoteAgent(context: Context, agent: RemoteAgent, input: CleanupInput): Promise<CleanupResult> {
  const ssh = SshHost.of(context.config, agent.host);
  let result: CleanupResult;
  try {
    result = await ssh.hostExec<CleanupResult>('cleanup', input, 5 * 60_000);
  } catch (error) {
    if (error instanceof HostUnreachableError) {
      throw new HostUnreachableError(`${error.message} Nothing was cleaned up; run cleanup_worktree again once host ${agent.host} answers.`);
    }
    if (!(error instanceof NotFoundError)) throw error;
    // The host has no such agent any more: forget it here too.
    result = { name: agent.name, id: agent.id, tmuxSession: 'not running', worktree: 'already gone', branch: 'kept', removed: [], kept: [`nothing on host ${agent.host}: it no longer knew the agent`], alreadyRemoved: true };
  }
  context.store.db.prepare(`UPDATE remote_agents SET state = 'removed', removed_at = ? WHERE id = ?`).run(Date.now(), agent.id);
  return result;
}

/** Request ids from a host read `<host>:<id>` here, so one approval flow covers every machine. */
export function remoteRequestId(host: string, id: string): string {
  return `${host}:${id}`;
}

export function parseRemoteRequestId(context: Context, id: string): { host: string; id: string } | undefined {
  const colon = id.indexOf(':');
  if (colon <= 0) return undefined;
  const host = id.slice(0, colon);
  return context.config.hosts[host] ? { host, id: id.slice(colon + 1) } : undefined;
}

/** Permission requests held on every host that runs agents for this server, ids prefixed with the host. Unreachable hosts are skipped (their gates keep holding, then deny at expiry). */
export async function remoteRequests(context: Context, options: { pendingOnly?: boolean; limit?: number }): Promise<PermissionRequest[]> {
  const hosts = [...new Set(listRemoteAgents(context).map((agent) => agent.host))];
  const lists = await Promise.all(
    hosts.map(async (host) => {
      try {
        const requests = await SshHost.of(context.config, host).hostExec<PermissionRequest[]>('requests', options, 30_000);
        return requests.map((request) => ({ ...request, id: remoteRequestId(host, request.id) }));
      } catch (error) {
        if (error instanceof HostUnreachableError) return [];
        throw error;
      }
    }),
  );
  return lists.flat();
}

/** An approval or denial, written back to the host's store; the host's gate lets the call run (or refuses it) there. */
export async function decideRemote(
  context: Context,
  target: { host: string; id: string },
  decision: { approve: boolean; actor: string; note?: string; minutes?: number; scope?: ApprovalScope },
): Promise<PermissionRequest> {
  const request = await SshHost.of(context.config, target.host).hostExec<PermissionRequest>('decide', { id: target.id, ...decision }, 30_000);
  return { ...request, id: remoteRequestId(target.host, request.id) };
}
