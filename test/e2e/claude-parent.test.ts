import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAUDE_BIN, CLI, git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { SERVE_NODE_FLAGS } from '../../src/setup/index.js';
import { claudeEnv, isMainConversation, lastToolResult, startModelServer, systemText, userTexts, type ModelServer } from '../helpers/model-server.js';

const run = promisify(execFile);
let model: ModelServer;
let world: TestWorld;
let repo: string;

beforeAll(async () => {
  model = await startModelServer();
  world = makeWorld(claudeEnv(model));
  repo = makeRepo(world.dir, 'parent repo');
});
afterAll(async () => {
  await world?.close();
  await model?.close();
});

const CHILD_TASK = 'Child task from the parent: add a CHANGELOG entry.';

describe('the real Claude Code as the parent', () => {
  it('ringmaster install registers with claude mcp add, and claude mcp list shows it connected', async () => {
    const installed = await run(process.execPath, [CLI, 'install'], { env: world.env as NodeJS.ProcessEnv });
    expect(installed.stdout).toMatch(/Added the user-scope registration:\n .* mcp add --scope user ringmaster -e RINGMASTER_HOME=.* -- .*node.* .*dist\/src\/cli\.js serve/);
    const claudeJson = JSON.parse(readFileSync(join(world.home, '.claude.json'), 'utf8'));
    // node's own flags (SERVE_NODE_FLAGS) come first: V8 takes the smaller young generation only from its command line.
    expect(claudeJson.mcpServers.ringmaster).toMatchObject({ command: process.execPath, args: [...SERVE_NODE_FLAGS, CLI, 'serve'] });
    expect(claudeJson.mcpServers.ringmaster.env.RINGMASTER_HOME).toBe(world.env.RINGMASTER_HOME);

    const listed = await run(CLAUDE_BIN, ['mcp', 'list'], { env: world.env as NodeJS.ProcessEnv, cwd: world.home, timeout: 60_000 });
    expect(listed.stdout).toMatch(/ringmaster: .*cli\.js serve - ✔ Connected/);

    // Installing again replaces the entry instead of failing or duplicating it.
    const again = await run(process.execPath, [CLI, 'install'], { env: world.env as NodeJS.ProcessEnv });
    expect(again.stdout).toMatch(/Replaced the existing user-scope registration/);

    const doctor = await run(process.execPath, [CLI, 'doctor'], { env: world.env as NodeJS.ProcessEnv }).catch((error: { stdout: string }) => error);
    expect(doctor.stdout).toMatch(/ok {3}registration +user scope: /);
    expect(doctor.stdout).toMatch(/ok {3}claude +2\.\d+\.\d+ \(Claude Code\)/);
    expect(doctor.stdout).toMatch(/ok {3}tmux +tmux 3/);
    expect(doctor.stdout).toMatch(/ok {3}store /);
  });

  it('a claude -p parent calls mcp__ringmaster__spawn_agent and a real child starts on the task', async () => {
    model.setScript(({ body }) => {
      if (!isMainConversation(body)) return { text: 'ok' };
      if (systemText(body).includes('ringmaster child agent')) return { text: 'Child here, on it.' };
      const result = lastToolResult(body);
      if (!result) {
        return {
          toolUse: {
            name: 'mcp__ringmaster__spawn_agent',
            input: { repo, task: CHILD_TASK, name: 'from-parent', extra_args: ['--permission-mode', 'acceptEdits'] },
          },
        };
      }
      return { text: `Spawned: ${result.text.slice(0, 2000)}` };
    });

    const parent = await run(
      CLAUDE_BIN,
      ['-p', 'Start one agent to add a changelog entry.', '--output-format', 'json', '--allowedTools', 'mcp__ringmaster__spawn_agent'],
      { env: world.env as NodeJS.ProcessEnv, cwd: world.home, timeout: 90_000 },
    );
    const output = JSON.parse(parent.stdout) as { is_error: boolean; result: string };
    expect(output.is_error).toBe(false);
    // Claude Code hands the model the tool's structuredContent as compact JSON.
    const spawned = JSON.parse(output.result.slice(output.result.indexOf('{'))) as { name: string; branch: string; task_submitted: boolean; worktree_path: string };
    expect(spawned).toMatchObject({ name: 'from-parent', task_submitted: true, branch: 'agent/from-parent' });

    const childRequest = await model.waitFor((request) => systemText(request.body).includes('ringmaster child agent') && userTexts(request.body).includes(CHILD_TASK), 30_000);
    expect(systemText(childRequest.body)).toContain('named "from-parent"');

    const worktree = spawned.worktree_path;
    expect(existsSync(worktree)).toBe(true);
    expect(git(worktree, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('agent/from-parent');
    await waitUntil(() => world.tmux('list-sessions', '-F', '#{session_name}').includes('ringmaster-from-parent'), 5_000, 'the child session');

    const cleaned = await run(process.execPath, [CLI, 'cleanup', 'from-parent', '--delete-branch'], { env: world.env as NodeJS.ProcessEnv });
    expect(cleaned.stdout).toContain('removed: tmux session ringmaster-from-parent');
    expect(existsSync(worktree)).toBe(false);
  });
});
