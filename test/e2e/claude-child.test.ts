import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tmux } from '../../src/adapters/tmux.js';
import { childSettings } from '../../src/fleet/spawn.js';
import { watchStartup } from '../../src/fleet/startup.js';
import { CLAUDE_BIN, git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';
import { claudeEnv, isMainConversation, lastToolResult, startModelServer, systemText, userTexts, type ModelServer } from '../helpers/model-server.js';

let model: ModelServer;
let world: TestWorld;
let repo: string;
let client: Client;

beforeAll(async () => {
  model = await startModelServer();
  world = makeWorld(claudeEnv(model));
  repo = makeRepo(world.dir, 'child repo ünï');
  client = await connectStdio(world.env);
});
afterAll(async () => {
  await client?.close();
  await world?.close();
  await model?.close();
});

describe('a real Claude Code child, interactive in tmux', () => {
  it('starts with no keystroke, receives the exact task, and works in its own worktree', async () => {
    const task = [
      'Write proof.txt, then report.',
      `Keep these intact: "double" 'single' $HOME \${PATH} \`whoami\` $(date) \\n back\\slash`,
      'ünïcödé 漢字 🎪',
      '  indented line',
    ].join('\n');
    model.setScript(({ body }) => {
      if (!isMainConversation(body)) return { text: 'ok' };
      const result = lastToolResult(body);
      if (!result) return { toolUse: { name: 'Bash', input: { command: 'echo "$RINGMASTER_AGENT_ID" > proof.txt', description: 'write proof' } } };
      return { text: 'Wrote proof.txt.' };
    });

    const spawned = await client.callTool({
      name: 'spawn_agent',
      arguments: { repo, task, name: 'real-child', extra_args: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'] },
    });
    expect(spawned.isError, resultText(spawned)).toBeFalsy();
    const agent = spawned.structuredContent as { id: string; worktree_path: string; task_submitted: boolean; notes: string[] };
    expect(agent.task_submitted).toBe(true);

    const first = await model.waitFor((request) => isMainConversation(request.body) && userTexts(request.body).includes(task), 30_000);
    expect(userTexts(first.body)).toContain(task);
    expect(systemText(first.body)).toContain('You are a ringmaster child agent named "real-child"');
    expect(systemText(first.body)).toContain(`Stay in your worktree, ${agent.worktree_path}.`);

    const proof = join(agent.worktree_path, 'proof.txt');
    await waitUntil(() => existsSync(proof) && readFileSync(proof, 'utf8').trim() !== '', 30_000, 'the child to run Bash').catch((error: Error) => {
      throw new Error(`${error.message}; screen:\n${world.tmux('capture-pane', '-p', '-t', '=ringmaster-real-child:')}`);
    });
    expect(readFileSync(proof, 'utf8').trim()).toBe(agent.id);

    // The child's settings and hooks were passed at launch, never written into the repo. (While a command runs,
    // Claude's sandbox masks .claude/settings.json and friends with placeholder files; they go when it ends.)
    await waitUntil(() => ['settings.json', 'settings.local.json'].every((file) => !existsSync(join(agent.worktree_path, '.claude', file))), 15_000, 'no settings in the worktree');
    expect(git(agent.worktree_path, 'status', '--porcelain').trim()).toBe('?? proof.txt');
    expect(git(repo, 'status', '--porcelain').trim()).toBe('');
    const claudeJson = JSON.parse(readFileSync(join(world.home, '.claude.json'), 'utf8'));
    expect(claudeJson.projects[agent.worktree_path].hasTrustDialogAccepted).toBe(true);
    expect(claudeJson.hasCompletedOnboarding).toBe(true);

    const listed = await client.callTool({ name: 'list_agents', arguments: {} });
    expect((listed.structuredContent as { agents: Array<Record<string, unknown>> }).agents[0]).toMatchObject({ name: 'real-child', process_alive: true });

    const refused = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'real-child' } });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/uncommitted change\(s\).*proof\.txt/);
    const forced = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'real-child', force: true, delete_branch: true } });
    expect(forced.structuredContent).toMatchObject({ tmux_session: 'killed', worktree: 'removed', branch: 'deleted' });
  });

  it('answers the trust dialog when a folder was not trusted ahead of time', async () => {
    const folder = join(world.dir, 'untrusted folder');
    mkdirSync(folder);
    const spool = join(world.dir, 'untrusted-spool');
    mkdirSync(spool);
    const settings = join(world.dir, 'untrusted-settings.json');
    writeFileSync(settings, JSON.stringify(childSettings(spool, folder)));
    const submitted = () => readdirSync(spool).some((file) => readFileSync(join(spool, file), 'utf8').includes('"hook_event_name":"UserPromptSubmit"'));
    const task = 'task behind the trust dialog';
    model.setScript(() => ({ text: 'ok' }));
    const tmux = new Tmux('tmux', world.socket);
    const envArgs = Object.entries(claudeEnv(model)).map(([key, value]) => `${key}=${value}`);
    await tmux.newSession({
      session: 'untrusted',
      cwd: folder,
      command: ['env', `HOME=${world.home}`, ...envArgs, CLAUDE_BIN, '--settings', settings, '--', task],
      env: {},
    });
    const seen: string[] = [];
    const startup = await watchStartup({ tmux, session: 'untrusted', kind: 'claude', delivery: 'argv', task, taskSubmitted: submitted, exitStatus: () => null, timeoutMs: 30_000, progress: (message) => seen.push(message) });
    expect(seen).toContain('Answering the folder trust dialog');
    expect(startup.taskSubmitted, startup.notes.join('\n')).toBe(true);
    await model.waitFor((request) => isMainConversation(request.body) && userTexts(request.body).includes(task), 30_000);
    // world.close() ends the session and waits for Claude to exit.
  });
});
