import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';

let world: TestWorld;
let repo: string;
let client: Client;
const updates: string[] = [];
const logs: string[] = [];

beforeAll(async () => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'state repo');
  client = await connectStdio(world.env);
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.push(notification.params.uri));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void logs.push(String(notification.params.data)));
  const spawned = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'first task', name: 'other-cli', agent: 'codex' } });
  expect(spawned.isError, resultText(spawned)).toBeFalsy();
});
afterAll(async () => {
  await client?.close();
  await world.close();
});

describe('state tools and resources over MCP, with a CLI that reports no events', () => {
  it('read_agent_state says unknown for a live codex, with why, and git and screen details', async () => {
    const result = await client.callTool({ name: 'read_agent_state', arguments: { name: 'other-cli', verbose: true } });
    const [agent] = (result.structuredContent as { agents: Array<Record<string, any>> }).agents;
    expect(agent!.status).toMatchObject({ state: 'unknown', reason: expect.stringMatching(/codex reports no status events/) });
    expect(agent!.git).toMatchObject({ branch: 'agent/other-cli', base: 'main', ahead: 0, behind: 0, dirty_files: [], pushed: false });
    expect(agent!.transcript).toBeNull();
    expect(agent!.screen).toContain('fake agent ready');
  });

  it('send_prompt pastes into other CLIs and says it cannot confirm', async () => {
    const result = await client.callTool({ name: 'send_prompt', arguments: { name: 'other-cli', text: 'follow-up: $HOME `tick` "quoted"' } });
    expect(result.structuredContent).toMatchObject({ delivered: null, method: 'paste' });
    await waitUntil(() => {
      try {
        return readFileSync(join(world.fakeLog, 'input'), 'utf8').includes('follow-up: $HOME `tick` "quoted"');
      } catch {
        return false;
      }
    }, 10_000, 'the text to reach the agent');
  });

  it('turns bad prompts into isError results', async () => {
    const ghost = await client.callTool({ name: 'send_prompt', arguments: { name: 'ghost', text: 'hi' } });
    expect(ghost.isError).toBe(true);
    expect(resultText(ghost)).toMatch(/No agent named "ghost"/);
    const empty = await client.callTool({ name: 'send_prompt', arguments: { name: 'other-cli', text: '  ' } });
    expect(resultText(empty)).toMatch(/text is empty/);
    const both = await client.callTool({ name: 'send_prompt', arguments: { name: 'other-cli', text: 'x', queue: true, interrupt: true } });
    expect(resultText(both)).toMatch(/not both/);
  });

  it('wait_for_agents times out with progress when nothing needs attention', async () => {
    const progress: string[] = [];
    const result = await client.callTool({ name: 'wait_for_agents', arguments: { timeout_sec: 6 } }, undefined, {
      onprogress: (notification) => progress.push(notification.message ?? ''),
      timeout: 30_000,
    });
    expect(result.structuredContent).toMatchObject({ timed_out: true, ready: [], agents: [{ name: 'other-cli', status: { state: 'unknown' } }] });
    expect(progress[0]).toMatch(/waited \d+ s: 1 unknown/);
  });

  it('serves agent resources and notifies subscribers when a status changes', async () => {
    const listed = await client.listResources();
    expect(listed.resources.map((resource) => resource.uri)).toEqual(expect.arrayContaining(['ringmaster://agents', 'ringmaster://agents/other-cli']));
    const read = await client.readResource({ uri: 'ringmaster://agents/other-cli' });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ name: 'other-cli', status: { state: 'unknown' } });

    await client.subscribeResource({ uri: 'ringmaster://agents/other-cli' });
    world.tmux('kill-session', '-t', '=ringmaster-other-cli');
    await waitUntil(() => updates.includes('ringmaster://agents/other-cli'), 10_000, 'a resources/updated notification');
    await waitUntil(() => logs.some((line) => /other-cli: unknown -> exited/.test(line)), 10_000, 'a log message about the change');
    const after = await client.readResource({ uri: 'ringmaster://agents' });
    expect(JSON.parse((after.contents[0] as { text: string }).text).agents[0].status.state).toBe('exited');
    expect(updates).not.toContain('ringmaster://agents');
  });
});
