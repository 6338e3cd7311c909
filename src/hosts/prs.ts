import type { Context } from '../core/index.js';
import { githubClient } from '../adapters/github.js';
import type { PrListing } from '../forge/index.js';
import { findRemoteAgent, listRemoteAgents, type RemoteAgent } from './remote-agents.js';
import { HostUnreachableError, SshHost } from './ssh.js';

/**
 * list_prs for agents wherever they run: a remote agent's host says where its
 * clone's origin points (one ssh call per host), and the GitHub query runs
 * here with this machine's token, batched with the local agents' branches.
 */
export async function listPrsAnywhere(context: Context, options: { names?: string[]; repos?: string[] } = {}): Promise<PrListing> {
  // The forge loads only for the commands that use it (the CLI starts fast).
  const { listBranchPrs, listPrs } = await import('../forge/index.js');
  let remote: RemoteAgent[];
  let localNames: string[] | undefined;
  if (options.names?.length) {
    remote = options.names.map((name) => findRemoteAgent(context, name)).filter((agent): agent is RemoteAgent => agent !== undefined);
    localNames = options.names.filter((name) => !remote.some((agent) => agent.name === name));
  } else {
    remote = listRemoteAgents(context);
  }
  if (options.repos?.length) remote = remote.filter((agent) => options.repos!.some((repo) => agent.repo === repo || agent.repo.endsWith(`/${repo}`)));
  if (remote.length === 0) return listPrs(context, options);
  const local = localNames?.length === 0 ? { agents: [], rateLimit: null, requests: 0 } : await listPrs(context, { ...options, names: localNames });

  const items: Array<{ agent: string; branch: string; repo: string; originUrl: string | null }> = [];
  const unreachable: PrListing['agents'] = [];
  const hosts = new Map<string, RemoteAgent[]>();
  for (const agent of remote) hosts.set(agent.host, [...(hosts.get(agent.host) ?? []), agent]);
  for (const [host, agents] of hosts) {
    try {
      const origins = await SshHost.of(context.config, host).hostExec<Record<string, string | null>>('origins', { repos: [...new Set(agents.map((agent) => agent.repo))] }, 60_000);
      for (const agent of agents) items.push({ agent: agent.name, branch: agent.branch, repo: `${host}:${agent.repo}`, originUrl: origins[agent.repo] ?? null });
    } catch (error) {
      if (!(error instanceof HostUnreachableError)) throw error;
      for (const agent of agents) unreachable.push({ agent: agent.name, branch: agent.branch, repo: `${host}:${agent.repo}`, github: null, pr: null, error: error.message });
    }
  }
  const remoteListing = items.length ? await listBranchPrs(await githubClient(context.env), items) : { agents: [], rateLimit: null, requests: 0 };
  return {
    agents: [...local.agents, ...remoteListing.agents, ...unreachable],
    rateLimit: remoteListing.rateLimit ?? local.rateLimit,
    requests: local.requests + remoteListing.requests,
  };
}
