import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest, getRequest } from '../../src/gate/permissions.js';
import { shellQuote } from '../../src/adapters/tmux.js';
import { CLI, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';

const exec = promisify(execFile);
let world: TestWorld;
let repo: string;
let webhook: WebhookReceiver<Record<string, unknown>>;
let received: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  webhook = await startWebhookReceiver('/hook');
  received = webhook.received;
  world = makeWorld({ RINGMASTER_WEBHOOK_URL: webhook.url });
  // A stand-in notify-send that records its arguments, first on PATH.
  const bin = join(world.dir, 'bin');
  await exec('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'notify-send'), `#!/bin/sh\nprintf '%s\\n' "$@" >> ${JSON.stringify(join(world.dir, 'notify-send.log'))}\n`);
  chmodSync(join(bin, 'notify-send'), 0o755);
  world.env.PATH = `${bin}:${process.env.PATH}`;
  repo = makeRepo(world.dir);
});
afterAll(async () => {
  await world.close();
  webhook.close();
});

const cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { env: world.env as NodeJS.ProcessEnv });

describe('notifications', () => {
  it('notify --test reaches the webhook and notify-send; a failing channel is reported, not fatal', async () => {
    const { stdout } = await cli('notify', '--test');
    expect(stdout).toMatch(/sent: {3}desktop/);
    expect(stdout).toMatch(/sent: {3}webhook/);
    expect(received.at(-1)).toMatchObject({ kind: 'test', title: 'ringmaster test notification' });
    expect(readFileSync(join(world.dir, 'notify-send.log'), 'utf8')).toMatch(/ringmaster test notification/);

    const broken = await exec(process.execPath, [CLI, 'notify', '--test'], { env: { ...world.env, RINGMASTER_WEBHOOK_URL: 'http://127.0.0.1:1/nothing' } as NodeJS.ProcessEnv }).catch((error: { code: number; stdout: string }) => error);
    expect(broken).toMatchObject({ code: 1 });
    expect((broken as { stdout: string }).stdout).toMatch(/failed: webhook: /);
    expect((broken as { stdout: string }).stdout).toMatch(/sent: {3}desktop/);
    expect(readFileSync(join(world.env.RINGMASTER_HOME!, 'notify.log'), 'utf8')).toMatch(/webhook notification about ringmaster \(test\) failed/);
  });
});

describe('ringmaster watch in a real tmux pane', () => {
  it('shows the fleet and pending approvals, approves with a, denies with d and a reason, peeks with p, quits with q; and notifies once', async () => {
    await cli('spawn', '--repo', repo, '--name', 'watched', '--agent', 'custom', '--task', 'watch me', '--', 'bash', '-c', 'echo "screen line: $0"; sleep 600', '{task}');
    await cli('spawn', '--repo', repo, '--name', 'other', '--agent', 'custom', '--task', 'other task', '--', 'bash', '-c', 'sleep 600', '{task}');
    const record = world.context.store.findAgentByName('watched')!;
    const other = world.context.store.findAgentByName('other')!;

    // Through env(1): tmux 3.3a gives a new session's first pane the server's PATH whatever -e says.
    const envWords = ['HOME', 'RINGMASTER_HOME', 'RINGMASTER_TMUX_SOCKET', 'PATH', 'RINGMASTER_WEBHOOK_URL'].map((key) => shellQuote(`${key}=${world.env[key]}`));
    world.tmux('new-session', '-d', '-s', 'viewer', '-x', '140', '-y', '40', `env ${envWords.join(' ')} ${shellQuote(process.execPath)} ${shellQuote(CLI)} watch --interval 300`);
    const screen = () => world.tmux('capture-pane', '-p', '-t', '=viewer:');
    await waitUntil(() => /ringmaster watch {3}2 agents/.test(screen()), 30_000, 'the watch view');
    expect(screen()).toMatch(/NAME\s+STATUS\s+AGE\s+COST\s+LAST MESSAGE/);
    expect(screen()).toMatch(/› watched\s+unknown/);

    // A held action appears in the view, the agent turns waiting_permission, and a human hears about it once.
    const first = createRequest(world.context.store, { agentId: record.id, agentName: 'watched', tool: 'Bash', summary: 'aws s3 ls', category: 'aws', reason: 'aws: aws s3 ls', waitSeconds: 600 });
    await waitUntil(() => screen().includes(`${first.id}  watched`), 20_000, 'the pending request in the view');
    // The frame that first lists the request may have read the statuses just before it was made: the next one has both.
    await waitUntil(() => /watched\s+waiting_permission\s+\S+\s+-\s+needs approval: aws aws s3 ls/.test(screen()), 10_000, 'the row to show waiting_permission');
    await waitUntil(() => received.some((notice) => notice.kind === 'permission' && notice.agent === 'watched'), 20_000, 'the webhook notice');
    await waitUntil(() => /--urgency=critical\nwatched needs approval/.test(readFileSync(join(world.dir, 'notify-send.log'), 'utf8')), 10_000, 'notify-send').catch((error: Error) => {
      const log = join(world.env.RINGMASTER_HOME!, 'notify.log');
      throw new Error(`${error.message}; notify.log: ${existsSync(log) ? readFileSync(log, 'utf8') : '(none)'}; screen: ${screen()}; pane env PATH: ${world.tmux('show-environment', '-t', '=viewer', 'PATH')}`);
    });

    world.tmux('send-keys', '-t', '=viewer:', 'a');
    await waitUntil(() => getRequest(world.context.store, first.id).state === 'approved', 10_000, 'the approval');
    await waitUntil(() => /Approved \S+ \(aws\) for watched\./.test(screen()), 10_000, 'the approval message');

    const second = createRequest(world.context.store, { agentId: record.id, agentName: 'watched', tool: 'Bash', summary: 'terraform apply', category: 'terraform', reason: 'terraform: apply', waitSeconds: 600 });
    await waitUntil(() => screen().includes(`${second.id}  watched`), 20_000, 'the second request');
    world.tmux('send-keys', '-t', '=viewer:', 'd');
    await waitUntil(() => screen().includes(`Deny ${second.id}: reason`), 10_000, 'the reason prompt');
    world.tmux('send-keys', '-t', '=viewer:', '-l', 'not today');
    world.tmux('send-keys', '-t', '=viewer:', 'Enter');
    await waitUntil(() => getRequest(world.context.store, second.id).state === 'denied', 10_000, 'the denial');
    expect(getRequest(world.context.store, second.id).note).toBe('not today');

    world.tmux('send-keys', '-t', '=viewer:', 'p');
    await waitUntil(() => /watched: last screen/.test(screen()) && /screen line: watch me/.test(screen()), 10_000, 'the peek panel');

    // j moves the selection to the next agent.
    world.tmux('send-keys', '-t', '=viewer:', 'j');
    await waitUntil(() => /› other\s+unknown/.test(screen()), 10_000, 'the selection to move');
    expect(other.name).toBe('other');

    world.tmux('send-keys', '-t', '=viewer:', 'q');
    await waitUntil(() => world.tmux('has-session', '-t', '=viewer') === '' && !world.tmux('list-sessions', '-F', '#{session_name}').includes('viewer'), 10_000, 'watch to quit');
    // One process, one permission notice per request episode: no storm.
    expect(received.filter((notice) => notice.kind === 'permission' && notice.agent === 'watched').length).toBeLessThanOrEqual(2);
    expect(existsSync(join(world.env.RINGMASTER_HOME!, 'notify'))).toBe(true);
  });
});
