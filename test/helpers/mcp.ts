import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI } from './fixtures.js';

/** A real SDK client talking to the built server over stdio. */
export async function connectStdio(env: Record<string, string | undefined>): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve'],
    env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'ringmaster-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export interface HttpServerProcess {
  url: string;
  token: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** Starts `ringmaster serve --http --port 0` and reads the URL and token it prints. */
export async function startHttpServer(env: Record<string, string | undefined>, token?: string): Promise<HttpServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '--port', '0'], {
    env: { ...env, ...(token ? { RINGMASTER_TOKEN: token } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  const printed = JSON.parse(firstLine) as { url: string; token: string };
  return {
    url: printed.url,
    token: token ?? printed.token,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function connectHttp(url: string, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'ringmaster-http-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

function textBlocks(result: unknown): string[] {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.filter((block) => block.type === 'text').map((block) => block.text ?? '');
}

/** Every text block of a tool result: the readable line, then the JSON (or the error message alone). */
export function resultText(result: unknown): string {
  return textBlocks(result).join('\n');
}

/** The first text block: the one line a human reads in the client's transcript. */
export function resultLine(result: unknown): string {
  return textBlocks(result)[0] ?? '';
}

/** The JSON text block of a successful tool result, parsed. */
export function resultJson(result: unknown): unknown {
  return JSON.parse(textBlocks(result).at(-1) ?? 'null');
}
