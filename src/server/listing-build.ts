import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { closeStore, createContext } from '../core/index.js';
import { Monitor } from '../fleet/index.js';
import { createServer } from './index.js';
import { inputStats, LISTING_FILE, listingInputs, listingKey, STATIC_METHODS, type Listing } from './listing.js';

/**
 * Asks the real server (the SDK over stdio streams, over an empty store in a
 * temporary home) what a client asks when it connects, and writes the answers
 * with the key of the code that gave them. Run by `npm run build`.
 */
export async function buildListing(): Promise<Listing> {
  const home = mkdtempSync(join(tmpdir(), 'ringmaster-listing-'));
  // Nothing of the builder's own ringmaster setup: a bad RINGMASTER_* variable must not shape (or break) the listing.
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGMASTER_'))), HOME: home, RINGMASTER_HOME: join(home, 'ringmaster') };
  const context = createContext(env);
  try {
    // A monitor that is not started: its status changes are not what is asked here.
    const server = createServer(context, new Monitor(context));
    const input = new PassThrough();
    const output = new PassThrough();
    const requests: Array<[string, Record<string, unknown> | undefined]> = [
      ['initialize', { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'ringmaster-listing', version: '1' } }],
      ...STATIC_METHODS.map((method) => [method, undefined] as [string, undefined]),
      ['resources/list', undefined],
    ];
    const answers = new Map<string | number, Record<string, unknown>>();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the server answered ${answers.size} of ${requests.length} listing requests within 30 s`)), 30_000);
      let buffered = '';
      output.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let end: number;
        while ((end = buffered.indexOf('\n')) >= 0) {
          const message = JSON.parse(buffered.slice(0, end)) as Record<string, unknown>;
          buffered = buffered.slice(end + 1);
          if (message.id !== undefined) answers.set(message.id as string | number, message);
        }
        if (answers.size === requests.length) resolve();
      });
    });
    await server.connect(new StdioServerTransport(input, output));
    requests.forEach(([method, params], id) => {
      input.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params && { params }) })}\n`);
      if (method === 'initialize') input.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    });
    try {
      await answered;
    } finally {
      clearTimeout(timer);
    }
    await server.close();
    const answerOf = (id: number) => answers.get(id)!;
    const initialize = answerOf(0).result as Record<string, unknown> | undefined;
    const resources = (answerOf(requests.length - 1).result as { resources?: Array<Record<string, unknown>> } | undefined)?.resources;
    if (!initialize || !resources) throw new Error(`the server did not answer initialize and resources/list: ${JSON.stringify([answerOf(0), answerOf(requests.length - 1)])}`);
    const inputs = listingInputs();
    return {
      key: listingKey(inputs),
      files: inputStats(inputs),
      protocol: { latest: LATEST_PROTOCOL_VERSION, supported: [...SUPPORTED_PROTOCOL_VERSIONS] },
      initialize,
      answers: Object.fromEntries(
        STATIC_METHODS.map((method, index) => {
          const answer = answerOf(index + 1);
          const kind = 'error' in answer ? 'error' : 'result';
          return [method, { kind, json: JSON.stringify(answer[kind]) }];
        }),
      ),
      resources,
    };
  } finally {
    closeStore(context);
    rmSync(home, { recursive: true, force: true });
  }
}

/** `npm run build`'s last step: the listing beside the built code. */
export async function writeListing(file = LISTING_FILE): Promise<void> {
  writeFileSync(file, `${JSON.stringify(await buildListing())}\n`);
}
