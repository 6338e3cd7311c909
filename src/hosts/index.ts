/**
 * Agents on other machines over SSH: hosts in the config, one shared
 * connection per host, the host's own ringmaster doing the host-side work
 * (`_host-exec`), and the functions the tools call for an agent wherever it runs.
 */
import type { Context, ProgressReporter } from '../core/index.js';
import { assertMaySpawn, cleanupAgent, listAgents, requestSpawn, sendPrompt, type AgentSummary, type CleanupInput, type SendPromptInput, type SpawnOutcome, type SpawnRequest } from '../fleet/index.js';
import { decide, listRequests, type ApprovalScope, type PermissionRequest } from '../gate/index.js';
import { readAgentState, type AgentStateReport } from '../state/index.js';
import { NotFoundError, UserInputError } from '../errors.js';
import {
  cleanupRemoteAgent,
  decideRemote,
  findRemoteAgent,
  listRemoteAgents,
  parseRemoteRequestId,
  refuseTakenName,
  remoteAgentStates,
  remoteAgentSummaries,
  remoteRequests,
  sendRemotePrompt,
  spawnRemote,
} from './remote-agents.js';
import { placeAgent } from './hosts.js';

export * from './ssh.js';
export * from './hosts.js';
export * from './host-exec.js';
export * from './wait.js';
export * from './prs.js';
export { findRemoteAgent, listRemoteAgents, remoteAgentStates, remoteAgentSummaries, type RemoteAgent } from './remote-agents.js';

/** spawn_agent: on the named host, or where placement puts it (this machine first). */
export async function spawnAnywhere(context: Context, input: SpawnRequest & { host?: string }, progress?: ProgressReporter): Promise<SpawnOutcome & { host: string | null }> {
  const { host: requested, ...request } = input;
  const waits = (request.after?.length ?? 0) > 0 || request.baseAfter === true;
  // An agent that waits for others waits in this machine's queue, next to them.
  const host = requested ?? (waits ? null : placeAgent(context));
  if (host) {
    if (waits) throw new UserInputError('after and base_after work for agents on this machine only; leave out host, or spawn on the host once those agents finished.');
    if (request.budget) throw new UserInputError("A budget per agent works for agents on this machine only; set budgets in the host's own config.json, or leave out host.");
    return { ...(await spawnRemote(context, host, request, progress)), status: 'started', queue: null };
  }
  // The budget first, as requestSpawn does: a spend that cannot be read refuses new work before anything else reads the store.
  assertMaySpawn(context, request.repo);
  if (request.name) refuseTakenName(context, request.name);
  return { ...(await requestSpawn(context, request, progress)), host: null };
}

export async function listAgentsAnywhere(context: Context): Promise<Array<AgentSummary & { host: string | null }>> {
  const local = (await listAgents(context)).map((agent) => ({ ...agent, host: null }));
  const remote = listRemoteAgents(context);
  return remote.length ? [...local, ...(await remoteAgentSummaries(context, remote))] : local;
}

export async function readAgentStateAnywhere(context: Context, options: { name?: string; verbose?: boolean } = {}): Promise<Array<AgentStateReport & { host: string | null }>> {
  if (options.name) {
    const remote = findRemoteAgent(context, options.name);
    if (remote) return remoteAgentStates(context, [remote], options.verbose);
    return (await readAgentState(context, options)).map((report) => ({ ...report, host: null }));
  }
  const local = (await readAgentState(context, options)).map((report) => ({ ...report, host: null }));
  const remote = listRemoteAgents(context);
  return remote.length ? [...local, ...(await remoteAgentStates(context, remote, options.verbose))] : local;
}

export async function sendPromptAnywhere(context: Context, input: SendPromptInput) {
  const remote = findRemoteAgent(context, input.name);
  return remote ? sendRemotePrompt(context, remote, input) : sendPrompt(context, input);
}

export async function cleanupAnywhere(context: Context, input: CleanupInput) {
  const remote = findRemoteAgent(context, input.name);
  return remote ? cleanupRemoteAgent(context, remote, input) : cleanupAgent(context, input);
}

/** This machine's requests and every host's, one list, newest first. */
export async function listRequestsAnywhere(context: Context, options: { pendingOnly?: boolean; limit?: number } = {}): Promise<PermissionRequest[]> {
  const local = listRequests(context.store, options);
  const remote = await remoteRequests(context, options);
  if (remote.length === 0) return local;
  return [...local, ...remote].sort((a, b) => b.createdAt - a.createdAt).slice(0, options.limit ?? 50);
}

/** approve / deny by id; `<host>:<id>` goes to that host's gate. */
export async function decideAnywhere(
  context: Context,
  id: string,
  decision: { approve: boolean; actor: string; note?: string; minutes?: number; scope?: ApprovalScope },
): Promise<PermissionRequest> {
  const remote = parseRemoteRequestId(context, id);
  if (remote) return decideRemote(context, remote, decision);
  return decide(context.store, id, decision);
}

/** The host an agent runs on, or null for this machine; NotFoundError for no such agent. */
export function hostOf(context: Context, name: string): string | null {
  const remote = findRemoteAgent(context, name);
  if (remote) return remote.host;
  const local = context.store.findAgentByName(name);
  if (!local || local.state === 'removed') throw new NotFoundError(`No agent named ${JSON.stringify(name)}. Run list_agents (or ringmaster ls) to see the agents that exist.`);
  return null;
}
