import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAUDE_BIN, CLI, makeRepo, makeWorld, stopEgress, tempDir, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';
import { claudeEnv, isMainConversation, isToolResultTurn, lastToolResult, startModelServer, userTexts, type MessagesRequestBody, type ModelServer } from '../helpers/model-server.js';
import { startSshHost, type TestSshHost } from '../helpers/sshd.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';
import { createContext } from '../../src/core/context.js';
import { loadConfig } from '../../src/config.js';
import { controlDirFor, placeAgent } from '../../src/hosts/index.js';

/**
 * A real Claude Code child on a "remote" host: a real sshd on a 127.x address
 * with its own HOME, RINGMASTER_HOME and tmux server, reached only through
 * ringmaster's ssh (one shared connection), driven through the MCP server here.
 */
let model: ModelServer;
let world: TestWorld;
let host: TestSshHost;
let client: Client;
let remoteRepo: string;
let github: GitHubServer;
const TOKEN = 'ghp_remote_test_token';
const shims = tempDir('remote-shims-');
const shimLog = join(shims, 'ran.log');
const ran = () => (existsSync(shimLog) ? readFileSync(shimLog, 'utf8') : '');

function latestPrompt(body: MessagesRequestBody): string {
  const last = body.messages?.at(-1);
  if (!last || last.role !== 'user') return '';
  const blocks = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : (last.content as Array<{ type: string; text?: string }>);
  return blocks.filter((block) => block.type === 'text' && block.text && !block.text.startsWith('<')).map((block) => block.text!).at(-1) ?? '';
}

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { env: world.env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const remoteTmux = (...args: string[]) => spawnSync('tmux', ['-L', host.tmuxSocket, ...args], { encoding: 'utf8' });

async function call(name: string, args: Record<string, unknown>) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
}

async function remoteState(): Promise<{ host: string | null; status: { state: string; reason: string } }> {
  const result = await call('read_agent_state', { name: 'far' });
  expect(result.isError, resultText(result)).toBeFalsy();
  return (result.structuredContent as { agents: Array<{ host: string | null; status: { state: string; reason: string } }> }).agents[0]!;
}

async function waitForState(state: string, timeoutMs = 60_000) {
  let last: unknown;
  return waitUntil(async () => ((last = await remoteState()) as { status: { state: string } }).status.state === state || undefined, timeoutMs, `the remote agent to be ${state}`).catch((error: Error) => {
    const diag = spawnSync('ssh', ['-F', host.clientConfig, host.alias, `env | sort; tmux -L ${host.tmuxSocket} list-panes -a; echo rc=$?; ringmaster ls`], { encoding: 'utf8' });
    throw new Error(`${error.message}; diag: ${diag.stdout} ${diag.stderr}; last: ${JSON.stringify(last)}; screen:\n${remoteTmux('capture-pane', '-p', '-t', '=ringmaster-far:').stdout}`);
  });
}

beforeAll(async () => {
  writeFileSync(join(shims, 'aws'), `#!/bin/sh\nprintf '%s\\n' "aws $*" >> '${shimLog}'\n`);
  chmodSync(join(shims, 'aws'), 0o755);
  // "RUN <command>" makes the model call Bash with exactly that command; after the result it ends the turn.
  model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok' };
    if (isToolResultTurn(body)) return { text: `tool said: ${lastToolResult(body)!.text.slice(0, 300)}` };
    const prompt = latestPrompt(body);
    if (prompt.startsWith('RUN ')) return { toolUse: { name: 'Bash', input: { command: prompt.slice(4), description: 'a command' } } };
    return { text: 'ready' };
  });
  host = await startSshHost(tempDir('remote-'), {
    ...claudeEnv(model),
    RINGMASTER_CLAUDE: CLAUDE_BIN,
    PATH: `${shims}:${process.env.PATH}`,
    GIT_AUTHOR_NAME: 'Remote',
    GIT_COMMITTER_NAME: 'Remote',
    GIT_AUTHOR_EMAIL: 'remote@ringmaster.invalid',
    GIT_COMMITTER_EMAIL: 'remote@ringmaster.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
  });
  // The host's own ringmaster: onboarding done, and a policy whose sandbox lets the shims write their log.
  writeFileSync(join(host.home, '.claude.json'), JSON.stringify({ hasCompletedOnboarding: true }));
  writeFileSync(join(host.ringmasterHome, 'policy.json'), JSON.stringify({ sandbox: { allowWrite: [shims] } }));
  remoteRepo = makeRepo(host.home, 'remote-repo');
  execFileSync('git', ['remote', 'add', 'origin', 'git@github.com:acme/far-app.git'], { cwd: remoteRepo });
  // GitHub is asked from this machine, with this machine's token: the host only says where its clone's origin points.
  github = await startGitHubServer(TOKEN);
  github.prs.set('acme/far-app', new Map([['agent/far', { number: 42, checks: [{ name: 'test', conclusion: 'FAILURE' }] }]]));

  world = makeWorld({ RINGMASTER_SSH_CONFIG: host.clientConfig, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url });
  writeFileSync(
    join(world.env.RINGMASTER_HOME!, 'config.json'),
    JSON.stringify({
      hosts: {
        box: { destination: host.alias, workRoot: join(host.home, 'work'), maxAgents: 2 },
        // The same machine, but its ringmaster is not where the config says: doctor --host names it.
        broken: { destination: host.alias, ringmaster: '/nonexistent/ringmaster' },
      },
    }),
  );
  client = await connectStdio(world.env);
}, 120_000);

afterAll(async () => {
  await client?.close();
  if (host) {
    remoteTmux('kill-server');
    stopEgress(host.ringmasterHome);
    host.close();
  }
  await world?.close();
  await model?.close();
  await github?.close();
});

describe('an agent on a remote host over ssh', () => {
  it('lists the hosts with their health, and doctor --host says what a host lacks', () => {
    const hosts = cli('hosts', '--json');
    const listed = JSON.parse(hosts.stdout) as Array<{ name: string; problem: string | null; live_agents: number; max_agents: number }>;
    expect(listed.find((entry) => entry.name === 'box')).toMatchObject({ problem: null, live_agents: 0, max_agents: 2 });
    expect(listed.find((entry) => entry.name === 'broken')!.problem).toMatch(/ringmaster on host broken did not answer/);
    expect(hosts.code).toBe(1);

    const good = cli('doctor', '--host', 'box', '--json');
    const checks = JSON.parse(good.stdout) as Array<{ name: string; ok: boolean; detail: string; fix: string | null }>;
    for (const name of ['ssh', 'git', 'tmux', 'node', 'ringmaster', 'agent CLI']) expect(checks.find((check) => check.name === name), name).toMatchObject({ ok: true });
    const bad = cli('doctor', '--host', 'broken');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL ringmaster +missing or broken/);
    expect(bad.stdout).toContain('fix: npm install -g ringmaster on the host');
    expect(cli('doctor', '--host', 'nowhere').stderr).toMatch(/No host named "nowhere"/);
  });

  it('spawns a real Claude child on the host: worktree, tmux session and sandbox are the host\'s, over one shared connection', async () => {
    const spawned = await call('spawn_agent', { repo: remoteRepo, task: 'say ready', name: 'far', host: 'box', extra_args: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'] });
    expect(spawned.isError, resultText(spawned)).toBeFalsy();
    const agent = spawned.structuredContent as { host: string; worktree_path: string; tmux_session: string; task_submitted: boolean; enforcement: string; attach_command: string };
    expect(agent).toMatchObject({ host: 'box', task_submitted: true, enforcement: 'sandboxed', tmux_session: 'ringmaster-far' });
    expect(agent.worktree_path.startsWith(join(host.home, 'work'))).toBe(true);
    expect(existsSync(agent.worktree_path)).toBe(true);
    expect(agent.attach_command).toContain(`-t ${host.alias}`);
    expect(agent.attach_command).toContain(host.tmuxSocket);
    // The session lives on the host's tmux server, not on this machine's.
    expect(remoteTmux('has-session', '-t', '=ringmaster-far').status).toBe(0);
    expect(world.tmux('list-sessions')).toBe('');
    // The host's own store has the full record; here, only where to ask.
    expect(existsSync(join(host.ringmasterHome, 'state.db'))).toBe(true);
    expect(world.context.store.listAgents()).toEqual([]);
    // One multiplexed connection: the master's socket sits under this RINGMASTER_HOME.
    const check = spawnSync('ssh', ['-F', host.clientConfig, '-o', `ControlPath=${join(controlDirFor(world.env.RINGMASTER_HOME!), '%C')}`, '-O', 'check', host.alias], { encoding: 'utf8' });
    expect(check.stderr).toContain('Master running');

    await waitForState('idle');
    // For the report, not an assertion: what one status read of a remote agent costs over the shared connection.
    const reads: number[] = [];
    for (let index = 0; index < 5; index++) {
      const started = performance.now();
      await remoteState();
      reads.push(Math.round(performance.now() - started));
    }
    console.log(`read_agent_state of a remote agent: ${reads.join(', ')} ms`);
    const listed = await call('list_agents', {});
    expect((listed.structuredContent as { agents: Array<Record<string, unknown>> }).agents).toEqual([expect.objectContaining({ name: 'far', host: 'box', process_alive: true, session_alive: true })]);

    // The CLI's view is the same: ls shows where the worktree lives.
    expect(cli('ls').stdout).toMatch(new RegExp(`far\\s+claude\\s+idle .*box:${agent.worktree_path}`));

    const prs = await call('list_prs', {});
    expect(prs.isError, resultText(prs)).toBeFalsy();
    expect((prs.structuredContent as { agents: unknown[] }).agents).toEqual([
      expect.objectContaining({ agent: 'far', branch: 'agent/far', github: 'acme/far-app', pr: expect.objectContaining({ number: 42, checks: { state: 'FAILURE', failing: ['test'] } }), error: null }),
    ]);
  });

  it('attaches a terminal here to the agent\'s tmux session on the host (ssh -t)', async () => {
    const env = ['HOME', 'RINGMASTER_HOME', 'RINGMASTER_SSH_CONFIG', 'PATH'].map((key) => `${key}=${world.env[key]}`);
    world.tmux('new-session', '-d', '-s', 'viewer', '-x', '160', '-y', '40', 'env', ...env, process.execPath, CLI, 'attach', 'far');
    await waitUntil(() => world.tmux('capture-pane', '-p', '-t', '=viewer:').includes('say ready'), 30_000, "the host's pane in the local terminal").catch((error: Error) => {
      throw new Error(`${error.message}; screen:\n${world.tmux('capture-pane', '-p', '-t', '=viewer:')}`);
    });
    // Detach (Ctrl-b d) from the host's tmux: the agent keeps running there.
    world.tmux('send-keys', '-t', '=viewer:', 'C-b', 'd');
    await waitUntil(() => !world.tmux('list-sessions').includes('viewer'), 15_000, 'the viewer to end after detaching');
    expect(remoteTmux('has-session', '-t', '=ringmaster-far').status).toBe(0);
  });

  it('sends a prompt, and a gated command on the host waits in this machine\'s approval flow until approved', async () => {
    const sent = await call('send_prompt', { name: 'far', text: 'RUN aws s3 ls' });
    expect(sent.isError, resultText(sent)).toBeFalsy();
    expect(sent.structuredContent).toMatchObject({ delivered: true });
    // The host's own wait wakes on the gate's hold and answers over the open connection.
    const woke = await call('wait_for_agents', { names: ['far'], timeout_sec: 60 });
    expect(woke.isError, resultText(woke)).toBeFalsy();
    expect(woke.structuredContent).toMatchObject({ timed_out: false, ready: [{ name: 'far', status: { state: 'waiting_permission' } }] });
    const pending = await waitUntil(
      async () => {
        const listed = await call('list_permission_requests', { pending_only: true });
        return (listed.structuredContent as { requests: Array<{ id: string; agent: string; category: string; state: string }> }).requests.find((request) => request.agent === 'far');
      },
      60_000,
      'the held request to show here',
    );
    expect(pending.id).toMatch(/^box:/);
    expect(pending.category).toBe('aws');
    const state = await remoteState();
    expect(state.status.state).toBe('waiting_permission');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ran()).not.toContain('aws s3 ls');

    const approved = cli('approve', pending.id);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`${pending.id} approved`);
    await waitUntil(() => ran().includes('aws s3 ls'), 30_000, 'the command to run on the host after approval');
    await waitForState('idle');

    // A prompt queued while the agent works is delivered by the host's monitor when it turns idle.
    await call('send_prompt', { name: 'far', text: 'RUN sleep 6' });
    await waitForState('working');
    const queued = await call('send_prompt', { name: 'far', text: 'a queued hello', queue: true });
    expect(queued.structuredContent).toMatchObject({ method: 'queued' });
    await model.waitFor((request) => isMainConversation(request.body) && userTexts(request.body).includes('a queued hello'), 60_000);
    await waitForState('idle');
  });

  it('a host that goes away makes its agents unreachable, keeps them, and they come back with it; a call held there meanwhile is denied', async () => {
    // A short approval wait on the host, so the test sees a held call run out while nobody here can answer it.
    const policyFile = join(host.ringmasterHome, 'policy.json');
    const policy = readFileSync(policyFile, 'utf8');
    writeFileSync(policyFile, JSON.stringify({ ...JSON.parse(policy), waitSeconds: 10 }));
    const sent = await call('send_prompt', { name: 'far', text: 'RUN aws s3 rm s3://bucket/key' });
    expect(sent.structuredContent).toMatchObject({ delivered: true });
    const held = await waitUntil(
      async () =>
        ((await call('list_permission_requests', { pending_only: true })).structuredContent as { requests: Array<{ id: string; summary: string }> }).requests.find((request) =>
          request.summary.includes('aws s3 rm'),
        ),
      60_000,
      'the held rm',
    );
    const heldAt = Date.now();

    host.stop();
    const lost = await waitUntil(async () => {
      const state = await remoteState();
      return state.status.state === 'unreachable' ? state : undefined;
    }, 60_000, 'unreachable');
    expect(lost.status.reason).toMatch(/Host box \(testbox\) is unreachable over ssh/);
    const woke = await call('wait_for_agents', { timeout_sec: 60 });
    expect(woke.structuredContent).toMatchObject({ timed_out: false, ready: [{ name: 'far', status: { state: 'unreachable' } }] });
    const listed = await call('list_agents', {});
    expect((listed.structuredContent as { agents: unknown[] }).agents).toEqual([expect.objectContaining({ name: 'far', host: 'box', process_alive: false })]);
    const refused = await call('cleanup_worktree', { name: 'far', force: true });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/Nothing was cleaned up/);
    // Nothing on the host was touched: the agent still runs there.
    expect(remoteTmux('has-session', '-t', '=ringmaster-far').status).toBe(0);
    // An approval cannot reach the host; the host's gate fails closed when its wait runs out.
    const approve = cli('approve', held.id);
    expect(approve.code).toBe(1);
    expect(approve.stderr).toMatch(/unreachable over ssh/);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, heldAt + 12_000 - Date.now())));

    await host.start();
    await waitForState('idle');
    const after = (await call('list_permission_requests', {})).structuredContent as { requests: Array<{ id: string; state: string }> };
    expect(after.requests.find((request) => request.id === held.id)?.state).toBe('expired');
    expect(ran()).not.toContain('aws s3 rm');
    writeFileSync(policyFile, policy);
  });

  it('cleans up with the same refusal to lose work, then removes it on the host', async () => {
    const state = (await call('read_agent_state', { name: 'far' })).structuredContent as { agents: Array<{ worktree_path: string }> };
    const worktree = state.agents[0]!.worktree_path;
    writeFileSync(join(worktree, 'unsaved.txt'), 'work in progress\n');
    const refused = await call('cleanup_worktree', { name: 'far' });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/uncommitted change\(s\).*unsaved\.txt/);
    expect(existsSync(join(worktree, 'unsaved.txt'))).toBe(true);

    const forced = await call('cleanup_worktree', { name: 'far', force: true, delete_branch: true });
    expect(forced.isError, resultText(forced)).toBeFalsy();
    expect(forced.structuredContent).toMatchObject({ tmux_session: 'killed', worktree: 'removed', branch: 'deleted' });
    expect(existsSync(worktree)).toBe(false);
    expect(remoteTmux('has-session', '-t', '=ringmaster-far').status).not.toBe(0);
    expect(execFileSync('git', ['branch', '--list', 'agent/far'], { cwd: remoteRepo, encoding: 'utf8' }).trim()).toBe('');
    const listed = await call('list_agents', {});
    expect((listed.structuredContent as { agents: unknown[] }).agents).toEqual([]);
  });

  it('places an agent without a host here first, then on the least loaded host under its limit', () => {
    const env = world.env;
    const config = loadConfig(env);
    const here = createContext(env, config);
    expect(placeAgent(here)).toBeNull();
    const full = createContext(env, { ...config, placement: { localMaxAgents: 0 } });
    expect(placeAgent(full)).toBe('box');
    const none = createContext(env, { ...config, placement: { localMaxAgents: 0 }, hosts: { box: { ...config.hosts.box!, maxAgents: 0 } } });
    expect(() => placeAgent(none)).toThrow(/every host is at its maxAgents/);
    for (const context of [here, full, none]) context.store.close();
    expect(readdirSync(controlDirFor(env.RINGMASTER_HOME!)).length).toBeGreaterThan(0);
  });
});
