import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest, getRequest } from '../../src/gate/permissions.js';
import { CLI, makeWorld, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';

let world: TestWorld;
let plain: Client;
let withDialog: Client;
const dialogs: string[] = [];
let answer: { action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> } = { action: 'cancel' };

beforeAll(async () => {
  world = makeWorld();
  plain = await connectStdio(world.env);
  // A client that can show an approval dialog, like Claude Code's TUI.
  withDialog = new Client({ name: 'dialog-client', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
  withDialog.setRequestHandler(ElicitRequestSchema, async (request) => {
    dialogs.push((request.params as { message: string }).message);
    return answer;
  });
  await withDialog.connect(
    new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve'], env: Object.fromEntries(Object.entries(world.env).filter((entry): entry is [string, string] => entry[1] !== undefined)) }),
  );
});
afterAll(async () => {
  await plain?.close();
  await withDialog?.close();
  await world.close();
});

const childRequest = (category = 'aws', summary = 'aws s3 ls') =>
  createRequest(world.context.store, { agentId: 'ag_x', agentName: 'worker', tool: 'Bash', summary, category, reason: `${category}: ${summary}`, waitSeconds: 600 });

describe('request_permission and list_permission_requests', () => {
  it('asks the human through the approval dialog and records their yes', async () => {
    const request = childRequest();
    answer = { action: 'accept', content: { approve: true, scope: '15 minutes', note: 'go ahead' } };
    const result = await withDialog.callTool({ name: 'request_permission', arguments: { request_id: request.id } });
    expect(result.structuredContent).toMatchObject({ outcome: 'approved', request: { id: request.id, state: 'approved', decided_by: 'human (dialog)', note: 'go ahead' } });
    expect(dialogs.at(-1)).toContain('Agent "worker" wants to do something gated (aws)');
    expect(dialogs.at(-1)).toContain('aws s3 ls');
  });

  it('treats a cancelled dialog as no decision, and a declined one as a no', async () => {
    const cancelled = childRequest();
    answer = { action: 'cancel' };
    const pending = await withDialog.callTool({ name: 'request_permission', arguments: { request_id: cancelled.id } });
    expect(pending.structuredContent).toMatchObject({ outcome: 'pending', human_commands: [`ringmaster approve ${cancelled.id}`, expect.any(String), expect.any(String)] });
    expect(getRequest(world.context.store, cancelled.id).state).toBe('pending');
    answer = { action: 'decline' };
    const declined = await withDialog.callTool({ name: 'request_permission', arguments: { request_id: cancelled.id } });
    expect(declined.structuredContent).toMatchObject({ outcome: 'denied' });
  });

  it('without a dialog, returns pending with the exact commands for the human', async () => {
    const request = childRequest('terraform', 'terraform apply');
    const result = await plain.callTool({ name: 'request_permission', arguments: { request_id: request.id } });
    expect(result.structuredContent).toMatchObject({ outcome: 'pending', human_commands: [`ringmaster approve ${request.id}`, `ringmaster approve ${request.id} --for 30m`, `ringmaster deny ${request.id} --reason "…"`] });
    const listed = await plain.callTool({ name: 'list_permission_requests', arguments: { pending_only: true } });
    expect((listed.structuredContent as { requests: Array<{ id: string }> }).requests.map((entry) => entry.id)).toContain(request.id);
  });

  it('lets the parent deny, but approve only categories the user made parent-approvable', async () => {
    const request = childRequest('slack', 'curl https://hooks.slack.com/x');
    const refused = await plain.callTool({ name: 'request_permission', arguments: { request_id: request.id, decision: 'approve' } });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/needs a human's approval; the parent may only deny it/);
    const denied = await plain.callTool({ name: 'request_permission', arguments: { request_id: request.id, decision: 'deny', note: 'no Slack from agents' } });
    expect(denied.structuredContent).toMatchObject({ outcome: 'denied', request: { decided_by: 'parent', note: 'no Slack from agents' } });

    writeFileSync(join(world.env.RINGMASTER_HOME!, 'policy.json'), JSON.stringify({ categories: { terraform: { approver: 'parent' } } }));
    const parentCategory = childRequest('terraform', 'terraform apply -target=x');
    const approved = await plain.callTool({ name: 'request_permission', arguments: { request_id: parentCategory.id, decision: 'approve' } });
    expect(approved.structuredContent).toMatchObject({ outcome: 'approved', request: { decided_by: 'parent' } });
  });

  it("asks for the parent's own action too", async () => {
    answer = { action: 'accept', content: { approve: false } };
    const result = await withDialog.callTool({ name: 'request_permission', arguments: { category: 'database', action: 'psql -h db.prod -c "select 1"' } });
    expect(result.structuredContent).toMatchObject({ outcome: 'denied', request: { agent: 'parent', category: 'database' } });
    expect(dialogs.at(-1)).toContain('The parent session wants to do something gated (database)');
    const bad = await plain.callTool({ name: 'request_permission', arguments: {} });
    expect(resultText(bad)).toMatch(/Pass request_id/);
  });
});
