import type { Context } from '../core/index.js';
import { UserInputError } from '../errors.js';
import { cleanupAgent, listAgents, Monitor, sendPrompt, spawnAgent, type CleanupInput, type SendPromptInput, type SpawnInput } from '../fleet/index.js';
import { decide, listRequests, type ApprovalScope } from '../gate/index.js';
import { readAgentState, waitForAgents } from '../state/index.js';

/**
 * The host's side of a remote agent: `ringmaster _host-exec <op>` reads one JSON
 * request on stdin and prints one JSON answer, running the same core functions
 * a local agent uses, against the host's own RINGMASTER_HOME, tmux server,
 * egress gate and store. So a remote agent gets the same bootstrap, sandbox,
 * gate, status model and cleanup refusals, with nothing re-implemented.
 */
export const HOST_OPS = {
  /** Spawn here: the worktree, tmux session, sandbox and egress gate are this host's. */
  spawn: (context: Context, input: SpawnInput) => spawnAgent(context, input),
  /** State of the named agents; a name the host does not know comes back in `missing`. */
  state: async (context: Context, input: { names: string[]; verbose?: boolean }) => {
    const reports = [];
    const missing: string[] = [];
    for (const name of input.names) {
      if (!context.store.findAgentByName(name) || context.store.findAgentByName(name)?.state === 'removed') missing.push(name);
      else reports.push(...(await readAgentState(context, { name, verbose: input.verbose })));
    }
    return { reports, missing };
  },
  list: async (context: Context, input: { names: string[] }) => {
    const wanted = new Set(input.names);
    return listAgents(context, context.store.listAgents().filter((record) => wanted.has(record.name)));
  },
  /** The host's own wait: woken by its spool and session files within milliseconds, answered over the open connection. */
  wait: (context: Context, input: { names: string[]; timeoutSec: number; onlyChanges?: boolean }, signal?: AbortSignal) => waitForAgents(context, { ...input, signal }),
  send: (context: Context, input: SendPromptInput) => sendPrompt(context, input),
  cleanup: (context: Context, input: CleanupInput) => cleanupAgent(context, input),
  requests: (context: Context, input: { pendingOnly?: boolean; limit?: number }) => listRequests(context.store, input),
  decide: (context: Context, input: { id: string; approve: boolean; actor: string; note?: string; minutes?: number; scope?: ApprovalScope }) =>
    decide(context.store, input.id, { approve: input.approve, actor: input.actor, note: input.note, minutes: input.minutes, scope: input.scope }),
  /** Where each repository's origin points, for list_prs on the server (which keeps the GitHub token). */
  origins: async (context: Context, input: { repos: string[] }) =>
    Object.fromEntries(await Promise.all(input.repos.map(async (repo) => [repo, (await context.git.tryRun(repo, ['remote', 'get-url', 'origin']))?.trim() || null] as const))),
  /** How busy the host is, for placement and `ringmaster hosts`. */
  load: (context: Context) => ({ liveAgents: context.store.listAgents().length, version: process.env.npm_package_version ?? null }),
} as const;

export type HostOp = keyof typeof HOST_OPS;

export type HostAnswer = { ok: true; result: unknown } | { ok: false; code: string; message: string };

/** Runs one op; every outcome is one JSON line, so the server tells a refused call from a lost connection. */
export async function runHostOp(context: Context, op: string, inputText: string, signal?: AbortSignal): Promise<string> {
  return JSON.stringify(await answerHostOp(context, op, inputText, signal));
}

export async function answerHostOp(context: Context, op: string, inputText: string, signal?: AbortSignal): Promise<HostAnswer> {
  try {
    if (!(op in HOST_OPS)) throw new UserInputError(`Unknown _host-exec op ${JSON.stringify(op)}; one of ${Object.keys(HOST_OPS).join(', ')}.`);
    let input: unknown;
    try {
      input = inputText.trim() ? JSON.parse(inputText) : {};
    } catch (error) {
      throw new UserInputError(`_host-exec ${op}: the request is not JSON (${(error as Error).message}).`);
    }
    const result = await (HOST_OPS[op as HostOp] as (context: Context, input: unknown, signal?: AbortSignal) => unknown)(context, input, signal);
    return { ok: true, result };
  } catch (error) {
    return { ok: false, code: (error as { code?: string }).code ?? 'ERROR', message: (error as Error).message };
  }
}

/**
 * `ringmaster _host-exec serve`: one long-lived process per server and host,
 * over one ssh session. Requests are JSON lines `{id, op, input}` (or
 * `{id, cancel: true}`), answers are JSON lines `{id, ok, …}`, any number in
 * flight. So a status read costs a round trip on the open connection instead
 * of a node start on the host. When stdin ends (the server went away), waits
 * stop and the process leaves once the calls still running (a spawn) finish.
 */
export async function serveHostOps(context: Context, input: NodeJS.ReadableStream, write: (line: string) => void): Promise<void> {
  const running = new Map<number, { abort: AbortController; done: Promise<void> }>();
  // The host's own monitor, as a local server runs one: queued prompts reach their agent when it turns idle.
  const monitor = new Monitor(context);
  monitor.start();
  let buffered = '';
  const handle = (line: string) => {
    let request: { id?: number; op?: string; input?: unknown; cancel?: boolean };
    try {
      request = JSON.parse(line);
    } catch {
      return;
    }
    const id = request.id;
    if (typeof id !== 'number') return;
    if (request.cancel) return running.get(id)?.abort.abort();
    const abort = new AbortController();
    const done = answerHostOp(context, String(request.op), JSON.stringify(request.input ?? {}), abort.signal).then((answer) => {
      running.delete(id);
      write(`${JSON.stringify({ id, ...answer })}\n`);
    });
    running.set(id, { abort, done });
  };
  await new Promise<void>((resolve) => {
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) handle(line);
      }
    });
    input.on('end', resolve);
    input.on('error', resolve);
  });
  for (const call of running.values()) call.abort.abort();
  await Promise.all([...running.values()].map((call) => call.done));
  monitor.stop();
}
