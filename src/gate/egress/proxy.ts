import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * The two proxies a sandboxed agent's network leaves through: HTTP (plain
 * requests and CONNECT tunnels) and SOCKS5. They know nothing of policy:
 * each connection waits on `filter(host, port)`, which may hold it for as
 * long as a human takes to decide, and is then opened or refused. Only an
 * allowed connection ever reaches its target.
 */

export type Verdict = { allow: true; address?: string } | { allow: false; reason: string };
/** Decides one connection. `address` in the verdict overrides where it goes (the test resolver). */
export type ConnectionFilter = (host: string, port: number, gone: AbortSignal) => Promise<Verdict>;

const HOP_BY_HOP = ['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

/** Strips brackets from an IPv6 literal and lower-cases a name. */
export function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}

function parseAuthority(authority: string, defaultPort: number): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(authority.trim());
  if (!match) return undefined;
  const port = match[2] ? Number(match[2]) : defaultPort;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: normalizeHost(match[1]!), port };
}

/** Aborted when the client goes away while its connection is held: nobody is waiting for the decision any more. */
function goneSignal(socket: Socket): AbortSignal {
  const controller = new AbortController();
  socket.once('close', () => controller.abort());
  return controller.signal;
}

async function decide(filter: ConnectionFilter, host: string, port: number, gone: AbortSignal): Promise<Verdict> {
  try {
    return await filter(host, port, gone);
  } catch (error) {
    // The gate fails closed: a filter that cannot decide refuses.
    return { allow: false, reason: `ringmaster could not decide (${(error as Error).message}), so the connection is refused` };
  }
}

function refusalBody(host: string, port: number, reason: string): string {
  return `ringmaster egress gate refused ${host}:${port}: ${reason}\n`;
}

export function createHttpProxy(filter: ConnectionFilter): HttpServer {
  const server = createHttpServer();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void forwardRequest(filter, req, res));
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => void tunnel(filter, req, client as Socket, head));
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}

async function forwardRequest(filter: ConnectionFilter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '');
    if (url.protocol !== 'http:') throw new Error('not http');
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('ringmaster egress proxy: send absolute http:// URLs, or CONNECT for anything else.\n');
    return;
  }
  const host = normalizeHost(url.hostname);
  const port = url.port ? Number(url.port) : 80;
  req.pause();
  const verdict = await decide(filter, host, port, goneSignal(req.socket));
  if (!verdict.allow) {
    res.writeHead(403, { 'content-type': 'text/plain', 'x-ringmaster-refused': '1' }).end(refusalBody(host, port, verdict.reason));
    req.resume();
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.includes(key)) headers[key] = value;
  }
  const upstream = httpRequest({ host: verdict.address ?? host, port, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false });
  upstream.on('response', (response) => {
    res.writeHead(response.statusCode ?? 502, response.statusMessage, response.headers);
    response.pipe(res);
  });
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`ringmaster egress proxy: ${host}:${port} failed: ${error.message}\n`);
    else res.destroy();
  });
  req.pipe(upstream);
  req.resume();
}

async function tunnel(filter: ConnectionFilter, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  client.on('error', () => client.destroy());
  const target = parseAuthority(req.url ?? '', 443);
  if (!target) {
    client.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\nringmaster egress proxy: CONNECT needs host:port.\n');
    return;
  }
  const verdict = await decide(filter, target.host, target.port, goneSignal(client));
  if (client.destroyed) return;
  if (!verdict.allow) {
    const body = refusalBody(target.host, target.port, verdict.reason);
    client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nx-ringmaster-refused: 1\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return;
  }
  const upstream = connect({ host: verdict.address ?? target.host, port: target.port });
  upstream.on('connect', () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => {
    if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
  client.on('close', () => upstream.destroy());
}

// SOCKS5 (RFC 1928), CONNECT only, no authentication.
const SOCKS_VERSION = 5;
const REPLY = { succeeded: 0, generalFailure: 1, notAllowed: 2, hostUnreachable: 4, commandNotSupported: 7, addressNotSupported: 8 } as const;

export function createSocksProxy(filter: ConnectionFilter): TcpServer {
  return createTcpServer((client) => {
    client.on('error', () => client.destroy());
    void socksHandshake(filter, client);
  });
}

/** Reads exactly `length` bytes from the socket, keeping any surplus for the next read. */
function reader(socket: Socket) {
  let buffered = Buffer.alloc(0);
  let waiting: { length: number; resolve: (bytes: Buffer) => void; reject: (error: Error) => void } | undefined;
  const pump = () => {
    if (waiting && buffered.length >= waiting.length) {
      const bytes = buffered.subarray(0, waiting.length);
      buffered = buffered.subarray(waiting.length);
      const done = waiting;
      waiting = undefined;
      done.resolve(bytes);
    }
  };
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length > 4096) socket.destroy();
    pump();
  };
  socket.on('data', onData);
  socket.on('close', () => waiting?.reject(new Error('closed')));
  return {
    read: (length: number) =>
      new Promise<Buffer>((resolve, reject) => {
        waiting = { length, resolve, reject };
        pump();
      }),
    /** Stops reading for the handshake; returns what arrived after it. */
    release: () => {
      socket.off('data', onData);
      return buffered;
    },
  };
}

async function socksHandshake(filter: ConnectionFilter, client: Socket): Promise<void> {
  const input = reader(client);
  const reply = (code: number): void => void client.end(Buffer.from([SOCKS_VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0]));
  try {
    const [version, methodCount] = await input.read(2);
    if (version !== SOCKS_VERSION) return void client.destroy();
    const methods = await input.read(methodCount!);
    if (!methods.includes(0)) return void client.end(Buffer.from([SOCKS_VERSION, 0xff]));
    client.write(Buffer.from([SOCKS_VERSION, 0]));
    const [, command, , addressType] = await input.read(4);
    let host: string;
    if (addressType === 1) host = [...(await input.read(4))].join('.');
    else if (addressType === 3) host = (await input.read((await input.read(1))[0]!)).toString('latin1');
    else if (addressType === 4) {
      const bytes = await input.read(16);
      host = Array.from({ length: 8 }, (_, index) => bytes.readUInt16BE(index * 2).toString(16)).join(':');
    } else return reply(REPLY.addressNotSupported);
    const port = (await input.read(2)).readUInt16BE(0);
    if (command !== 1) return reply(REPLY.commandNotSupported);
    host = normalizeHost(host);
    const verdict = await decide(filter, host, port, goneSignal(client));
    if (client.destroyed) return;
    if (!verdict.allow) return reply(REPLY.notAllowed);
    const upstream = connect({ host: verdict.address ?? host, port });
    upstream.on('connect', () => {
      client.write(Buffer.from([SOCKS_VERSION, REPLY.succeeded, 0, 1, 0, 0, 0, 0, 0, 0]));
      const early = input.release();
      if (early.length > 0) upstream.write(early);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (!client.destroyed) reply(REPLY.hostUnreachable);
    });
    client.on('close', () => upstream.destroy());
  } catch {
    client.destroy();
  }
}

