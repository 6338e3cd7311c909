import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback webhook that keeps every JSON body ringmaster's notifier posts to it. */
export interface WebhookReceiver<T> {
  url: string;
  received: T[];
  close: () => void;
}

export async function startWebhookReceiver<T = Record<string, unknown>>(path = '/'): Promise<WebhookReceiver<T>> {
  const received: T[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as T);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, received, close: () => server.close() };
}
