import { existsSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeRepo, makeWorld, tempDir, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultJson, resultLine, resultText } from '../helpers/mcp.js';

let world: TestWorld;
let repo: string;
let client: Client;

beforeAll(async () => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'stdio repo ✓');
  client = await connectStdio(world.env);
});
afterAll(async () => {
  await client?.close();
  await world.close();
});

describe('the built server over stdio, with the SDK client', () => {
  it('lists exactly the tools, with schemas and annotations (snapshot)', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'spawn_agent',
      'list_agents',
      'read_agent_state',
      'send_prompt',
      'wait_for_agents',
      'request_permission',
      'list_permission_requests',
      'list_prs',
      'create_pr',
      'review_check',
      'list_tickets',
      'create_ticket',
      'cleanup_worktree',
      'cancel_spawn',
      'compare_attempts',
      'pick_attempt',
      'land',
    ]);
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    expect(byName.cleanup_worktree!.annotations).toMatchObject({ destructiveHint: true, idempotentHint: true });
    expect(byName.list_agents!.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.spawn_agent!.inputSchema.required).toEqual(['repo']);
    await expect(JSON.stringify(tools, null, 2)).toMatchFileSnapshot('__snapshots__/tools.json');
  });

  it('serves the orchestrate prompt', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((prompt) => prompt.name)).toEqual(['orchestrate']);
    const prompt = await client.getPrompt({ name: 'orchestrate', arguments: { goal: 'ship v2', repo } });
    const text = (prompt.messages[0]!.content as { text: string }).text;
    expect(text).toContain('Goal: ship v2');
    expect(text).toContain(`Repository: ${repo}`);
    expect(text).toMatch(/non-overlapping/);
  });

  it('spawns, lists and cleans up an agent', async () => {
    const spawned = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'do a thing', name: 'via-stdio', agent: 'codex' } });
    expect(spawned.isError).toBeFalsy();
    const agent = spawned.structuredContent as Record<string, string>;
    expect(agent).toMatchObject({ name: 'via-stdio', branch: 'agent/via-stdio', tmux_session: 'ringmaster-via-stdio' });
    expect(agent.attach_command).toBe(`tmux -L ${world.socket} attach -t ringmaster-via-stdio`);
    expect(resultJson(spawned)).toEqual(agent);
    // The first text block is one line a person can read in the parent's transcript.
    expect(resultLine(spawned)).toMatch(/^Spawned via-stdio \(codex\) on agent\/via-stdio from main; started \(this CLI cannot confirm the task\), sandboxed behind the egress gate\. Watch: tmux -L \S+ attach -t ringmaster-via-stdio$/);

    const listed = await client.callTool({ name: 'list_agents', arguments: {} });
    const agents = (listed.structuredContent as { agents: Array<Record<string, unknown>> }).agents;
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ name: 'via-stdio', session_alive: true, process_alive: true, worktree_exists: true });

    expect(resultLine(listed)).toBe('1 agent, 1 running: via-stdio.');

    const cleaned = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'via-stdio', delete_branch: true } });
    expect(resultLine(cleaned)).toBe('Cleaned up via-stdio: tmux session killed, worktree removed, branch deleted.');
    expect(cleaned.structuredContent).toMatchObject({ tmux_session: 'killed', worktree: 'removed', branch: 'deleted' });
    expect(existsSync(agent.worktree_path!)).toBe(false);
    expect(git(repo, 'branch', '--list', 'agent/via-stdio').trim()).toBe('');
  });

  it('turns bad input into isError results that say what to do, and keeps serving', async () => {
    const notRepo = await client.callTool({ name: 'spawn_agent', arguments: { repo: tempDir(), task: 't', name: 'x1', agent: 'codex' } });
    expect(notRepo.isError).toBe(true);
    expect(resultText(notRepo)).toMatch(/is not a git repository\. Pass a git checkout/);

    const badName = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 't', name: '../etc', agent: 'codex' } });
    expect(badName.isError).toBe(true);
    expect(resultText(badName)).toMatch(/Invalid agent name "\.\.\/etc"/);

    const missingTask = await client.callTool({ name: 'spawn_agent', arguments: { repo } });
    expect(missingTask.isError).toBe(true);
    expect(resultText(missingTask)).toMatch(/task/);

    const wrongType = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 42 } });
    expect(wrongType.isError).toBe(true);

    const ghost = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'ghost' } });
    expect(ghost.isError).toBe(true);
    expect(resultText(ghost)).toMatch(/No agent named "ghost"/);
    expect(resultText(ghost)).not.toMatch(/at .*\.js:\d+/);

    const noToken = await client.callTool({ name: 'list_prs', arguments: {} });
    expect(noToken.isError).toBe(true);
    expect(resultText(noToken)).toMatch(/No GitHub token\. Set GITHUB_TOKEN/);
    const noLinear = await client.callTool({ name: 'list_tickets', arguments: {} });
    expect(resultText(noLinear)).toMatch(/No Linear API key/);

    const stillServing = await client.callTool({ name: 'list_agents', arguments: {} });
    expect(stillServing.isError).toBeFalsy();
  });
});
