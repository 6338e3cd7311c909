import type { Context } from '../core/index.js';
import { NotFoundError } from '../errors.js';
import { waitForAgents, type StatusReport, type WaitInput, type WaitResult } from '../state/index.js';
import { findRemoteAgent, listRemoteAgents, remoteAgentStates, type RemoteAgent } from './remote-agents.js';
import { HostCallCancelled, HostUnreachableError, SshHost } from './ssh.js';

type Watched = Array<{ name: string; status: StatusReport }>;

/**
 * wait_for_agents across machines: this machine's wait and one wait per host
 * run side by side; each host waits on its own signal files (so a wake-up
 * there costs milliseconds plus one trip over the open connection), the first
 * answer with an agent needing attention wins and the others are cancelled.
 * A host that stops answering is an answer too: its agents are `unreachable`.
 */
export async function waitAnywhere(context: Context, input: WaitInput): Promise<WaitResult> {
  const remote: RemoteAgent[] = [];
  const localNames: string[] = [];
  if (input.names?.length) {
    for (const name of input.names) {
      const agent = findRemoteAgent(context, name);
      if (agent) remote.push(agent);
      else localNames.push(name);
    }
  } else {
    remote.push(...listRemoteAgents(context));
    localNames.push(...context.store.listAgents().map((record) => record.name));
  }
  if (remote.length === 0) return waitForAgents(context, input);

  const started = Date.now();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  input.signal?.addEventListener('abort', onAbort);
  const hosts = new Map<string, RemoteAgent[]>();
  for (const agent of remote) hosts.set(agent.host, [...(hosts.get(agent.host) ?? []), agent]);

  const waits: Array<Promise<{ from: string; result: WaitResult } | undefined>> = [];
  if (localNames.length) {
    waits.push(waitForAgents(context, { ...input, names: localNames, signal: stop.signal }).then((result) => ({ from: 'local', result })));
  }
  for (const [host, agents] of hosts) {
    const names = agents.map((agent) => agent.name);
    waits.push(
      SshHost.of(context.config, host)
        .hostExec<WaitResult>('wait', { names, timeoutSec: input.timeoutSec, onlyChanges: input.onlyChanges }, input.timeoutSec * 1000 + 60_000, stop.signal)
        .then((result) => ({ from: host, result }))
        .catch(async (error: Error) => {
          if (error instanceof HostCallCancelled) return undefined;
          if (error instanceof NotFoundError) throw error;
          if (!(error instanceof HostUnreachableError)) throw error;
          const states = await remoteAgentStates(context, agents);
          const watched: Watched = states.map((state) => ({ name: state.name, status: state.status }));
          return { from: host, result: { timedOut: false, waitedSeconds: Math.round((Date.now() - started) / 1000), ready: watched, agents: watched, overlaps: [], newOverlaps: [] } };
        }),
    );
  }
  const answers = new Map<string, WaitResult>();
  try {
    await new Promise<void>((resolve, reject) => {
      let pending = waits.length;
      for (const wait of waits) {
        wait.then(
          (answer) => {
            if (answer) answers.set(answer.from, answer.result);
            if (answer && !answer.result.timedOut) stop.abort();
            if (--pending === 0) resolve();
          },
          (error) => {
            stop.abort();
            reject(error);
          },
        );
      }
    });
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
  }
  // Hosts whose wait was cancelled: their agents' statuses now, so `agents` lists every watched agent.
  const unanswered = remote.filter((agent) => !answers.has(agent.host));
  const others: Watched = unanswered.length ? (await remoteAgentStates(context, unanswered)).map((state) => ({ name: state.name, status: state.status })) : [];
  const results = [...answers.values()];
  const ready = results.flatMap((result) => result.ready);
  // A host's ringmaster sees overlaps among its own agents; an older one may not report them.
  const newOverlaps = results.flatMap((result) => result.newOverlaps ?? []);
  return {
    timedOut: ready.length === 0 && newOverlaps.length === 0,
    waitedSeconds: Math.round((Date.now() - started) / 1000),
    ready,
    agents: [...results.flatMap((result) => result.agents), ...others],
    overlaps: results.flatMap((result) => result.overlaps ?? []),
    newOverlaps,
  };
}
