import { PassThrough, Writable } from 'node:stream';
import type { Context } from '../core/index.js';
import type { Monitor, StatusChange } from '../fleet/index.js';
import type { Listing } from './listing.js';
import { monitorFor } from './monitor.js';
import { AGENT_TEMPLATE, agentListEntry, statusLogMessage } from './resource-shapes.js';

/**
 * The stdio server's front: what Claude Code asks of every MCP server it
 * starts (server/discover, initialize, tools/list, prompts/list,
 * resources/list) is answered from the listing the build wrote with the SDK's
 * own answers (listing.ts), so a server that is registered but not used never
 * loads the MCP SDK, zod's v4 schemas or the tools (11 MB of what was a
 * 69 MB process). The status monitor and the human's notifications run from the
 * start, and status changes go out as log messages, as the SDK server sends
 * them.
 *
 * The first message the front does not answer itself (a tool call, a
 * resource read, a subscription, anything unusual or malformed) wakes the
 * real server: the SDK's own stdio transport over in-process streams. The
 * client's initialize (and initialized, and any logging level) is replayed to
 * it first under ids of the front's own, whose answers are dropped; then
 * every byte from the client, from the waking message on, goes to the SDK
 * unchanged and in order, and everything the SDK writes goes to stdout.
 */
export class StdioFront {
  private pending: Buffer = Buffer.alloc(0);
  private initializeRequest: Record<string, unknown> | undefined;
  private initializedSeen = false;
  private level: string | undefined;
  private state: 'front' | 'waking' | 'woken' = 'front';
  /** Input that came while the SDK was loading, in order. */
  private held: Buffer[] = [];
  private input: PassThrough | undefined;
  private ended = false;
  private readonly monitor: Monitor;
  private readonly onChange = (change: StatusChange) => this.logChange(change);
  private close: (() => Promise<void>) | undefined;
  private readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    private readonly context: Context,
    private readonly listing: Listing,
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.monitor = monitorFor(context);
    this.monitor.on('change', this.onChange);
  }

  /** Serves until the client closes stdin (and, once woken, the SDK's transport closed). */
  run(): Promise<void> {
    this.stdin.on('data', (chunk: Buffer) => this.onData(chunk));
    this.stdin.on('end', () => this.onEnd());
    return this.done;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'woken') return void this.input!.write(chunk);
    if (this.state === 'waking') return void this.held.push(chunk);
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let end: number;
    while ((end = this.pending.indexOf(10)) >= 0) {
      const line = this.pending.toString('utf8', 0, end).replace(/\r$/, '');
      if (!this.answer(line)) {
        // This line and everything after it is the SDK's.
        this.held.push(this.pending);
        this.pending = Buffer.alloc(0);
        this.wake();
        return;
      }
      this.pending = this.pending.subarray(end + 1);
    }
  }

  private onEnd(): void {
    this.ended = true;
    if (this.state === 'front') {
      this.monitor.off('change', this.onChange);
      this.finish();
    } else if (this.state === 'woken') {
      this.input!.end();
      void this.close!();
    }
  }

  /** Answers a message the front knows, or returns false for the SDK to take it (and all that follows). */
  private answer(line: string): boolean {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return false;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
    const { jsonrpc, id, method, params } = message as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    if (jsonrpc !== '2.0' || typeof method !== 'string') return false;
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) return false;
    const args = (params ?? {}) as Record<string, unknown>;
    if (id === undefined) {
      // Notifications: the two a client sends on connecting change nothing the front serves.
      if (method === 'notifications/initialized') return (this.initializedSeen = true);
      return method === 'notifications/cancelled' && this.initializeRequest !== undefined;
    }
    if (!(typeof id === 'string' || Number.isSafeInteger(id))) return false;
    if (method === 'initialize') return this.initialize(message as Record<string, unknown>, id as string | number, args);
    // Both may come before initialize: Claude Code probes with server/discover first. A discover the SDK
    // answered with an error (it knows no such method) is answered alike; one it implements may depend on its params.
    if (method === 'ping' || (method === 'server/discover' && this.listing.answers[method]!.kind === 'error')) return this.reply(id as string | number, this.listing.answers[method]!);
    if (!this.initializeRequest || args.cursor !== undefined) return false;
    switch (method) {
      case 'tools/list':
      case 'prompts/list':
      case 'resources/templates/list':
        return this.reply(id as string | number, this.listing.answers[method]!);
      case 'resources/list':
        return this.listResources(id as string | number);
      case 'logging/setLevel':
        if (typeof args.level !== 'string' || !LEVELS.includes(args.level)) return false;
        this.level = args.level;
        return this.reply(id as string | number, { kind: 'result', json: '{}' });
      default:
        return false;
    }
  }

  private initialize(message: Record<string, unknown>, id: string | number, args: Record<string, unknown>): boolean {
    const clientInfo = args.clientInfo as Record<string, unknown> | undefined;
    const wellFormed =
      typeof args.protocolVersion === 'string' &&
      typeof args.capabilities === 'object' &&
      args.capabilities !== null &&
      typeof clientInfo === 'object' &&
      clientInfo !== null &&
      typeof clientInfo.name === 'string' &&
      typeof clientInfo.version === 'string';
    // A second initialize, or one the SDK would refuse, is the SDK's to answer.
    if (this.initializeRequest || !wellFormed) return false;
    this.initializeRequest = message;
    const { latest, supported } = this.listing.protocol;
    const protocolVersion = supported.includes(args.protocolVersion as string) ? args.protocolVersion : latest;
    return this.reply(id, { kind: 'result', json: JSON.stringify({ ...this.listing.initialize, protocolVersion }) });
  }

  private listResources(id: string | number): boolean {
    let agents: Array<Record<string, unknown>>;
    try {
      agents = this.context.store.listAgents().map((record) => ({ ...AGENT_TEMPLATE, ...agentListEntry(record) }));
    } catch {
      // A store that cannot be read: the SDK's resources/list reports it as it always has.
      return false;
    }
    return this.reply(id, { kind: 'result', json: JSON.stringify({ resources: [...this.listing.resources, ...agents] }) });
  }

  private reply(id: string | number, answer: { kind: 'result' | 'error'; json: string }): true {
    this.stdout.write(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"${answer.kind}":${answer.json}}\n`);
    return true;
  }

  private logChange(change: StatusChange): void {
    const message = statusLogMessage(change);
    // Also while the SDK loads: its server's listener replaces this one in the tick it is made.
    if (!message || !this.initializeRequest || this.state === 'woken') return;
    if (this.level && LEVELS.indexOf(message.level) < LEVELS.indexOf(this.level)) return;
    this.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: message })}\n`);
  }

  private wake(): void {
    this.state = 'waking';
    this.load().catch((error: unknown) => {
      process.stderr.write(`ringmaster: the MCP server could not be loaded: ${(error as Error).message}\n`);
      process.exit(1);
    });
  }

  private async load(): Promise<void> {
    const [{ createServer }, { StdioServerTransport }] = await Promise.all([import('./index.js'), import('@modelcontextprotocol/sdk/server/stdio.js')]);
    // The SDK server's own listener takes over the log messages in the same tick: none is lost or sent twice.
    const server = createServer(this.context, this.monitor);
    this.monitor.off('change', this.onChange);
    const input = new PassThrough();
    const replayed = new Set<string>();
    const output = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        // The SDK writes each message whole, one write each: until the replayed requests are answered, each is looked at,
        // and only their answers are dropped (a log message may come between them).
        if (replayed.size > 0) {
          let id: unknown;
          try {
            id = (JSON.parse(chunk.toString('utf8')) as { id?: unknown }).id;
          } catch {
            id = undefined;
          }
          if (typeof id === 'string' && replayed.delete(id)) return callback();
        }
        this.stdout.write(chunk, () => callback());
      },
    });
    const transport = new StdioServerTransport(input, output);
    transport.onclose = () => {
      this.monitor.off('change', this.onChange);
      this.finish();
    };
    this.close = () => server.close();
    await server.connect(transport);
    const replay = (message: Record<string, unknown>) => input.write(`${JSON.stringify(message)}\n`);
    if (this.initializeRequest) {
      replayed.add(REPLAY_INITIALIZE);
      replay({ ...this.initializeRequest, id: REPLAY_INITIALIZE });
    }
    if (this.initializedSeen) replay({ jsonrpc: '2.0', method: 'notifications/initialized' });
    if (this.level) {
      replayed.add(REPLAY_LEVEL);
      replay({ jsonrpc: '2.0', id: REPLAY_LEVEL, method: 'logging/setLevel', params: { level: this.level } });
    }
    for (const chunk of this.held) input.write(chunk);
    this.held = [];
    this.input = input;
    this.state = 'woken';
    if (this.ended) {
      input.end();
      await server.close();
    }
  }
}

const REPLAY_INITIALIZE = 'ringmaster-front:initialize';
const REPLAY_LEVEL = 'ringmaster-front:logging-level';
/** MCP's log levels, least severe first. */
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
