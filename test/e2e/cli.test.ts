import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest } from '../../src/gate/permissions.js';
import { CLI, fakeAgentArgs, makeRepo, makeWorld, ROOT, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { spawnAgentTool } from '../../tools/spawn_agent.js';
import { agentSummarySchema } from '../../tools/list_agents.js';
import { statusSchema } from '../../tools/read_agent_state.js';
import { waitForAgentsTool } from '../../tools/wait_for_agents.js';
import { sendPromptTool } from '../../tools/send_prompt.js';
import { permissionRequestSchema } from '../../tools/request_permission.js';
import { cleanupWorktreeTool } from '../../tools/cleanup_worktree.js';

const exec = promisify(execFile);
let world: TestWorld;
let repo: string;

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir);
});
afterAll(() => world.close());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: world.env as NodeJS.ProcessEnv });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the ringmaster CLI', () => {
  it('spawns, shows a status table, and cleans up through the same core', async () => {
    const spawned = await cli('spawn', '--repo', repo, '--task', 'cli task', '--name', 'cli-agent', '--agent', 'codex');
    expect(spawned.code).toBe(0);
    expect(spawned.stdout).toMatch(/Spawned cli-agent \(ag_[0-9a-f]+\) on agent\/cli-agent/);
    expect(spawned.stdout).toContain(`Attach: tmux -L ${world.socket} attach -t ringmaster-cli-agent`);

    const status = await cli('status');
    expect(status.stdout.split('\n')[0]).toMatch(/^NAME\s+AGENT\s+STATUS\s+BRANCH\s+WORKTREE\s+SESSION$/);
    // Not a terminal: no colour codes.
    expect(status.stdout).not.toMatch(/\x1b\[/);
    // codex reports no events: alive, but what it is doing cannot be known, and the table says so.
    expect(status.stdout).toMatch(/cli-agent\s+codex\s+unknown \d+s\s+agent\/cli-agent/);

    world.tmux('kill-session', '-t', '=ringmaster-cli-agent');
    expect((await cli('status')).stdout).toMatch(/cli-agent\s+codex\s+exited \d+s/);
    const json = JSON.parse((await cli('status', '--json')).stdout);
    expect(json[0]).toMatchObject({ name: 'cli-agent', session_alive: false, process_alive: false, status: { state: 'exited' } });

    const attach = await cli('attach', 'cli-agent');
    expect(attach.code).toBe(2);
    expect(attach.stderr).toMatch(/has no tmux session any more/);

    const cleaned = await cli('cleanup', 'cli-agent');
    expect(cleaned.stdout).toMatch(/removed: worktree /);
  });

  it('answers bad input with one line on stderr and a non-zero exit, never a stack trace', async () => {
    const unknown = await cli('attach', 'nobody');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toBe('ringmaster: No agent named "nobody". Run list_agents (or ringmaster status) to see the agents that exist.\n');
    const badCommand = await cli('frobnicate');
    expect(badCommand.code).toBe(2);
    expect(badCommand.stderr).toMatch(/^ringmaster: unknown command 'frobnicate'\n\(see ringmaster --help\)/);
    const badOption = await cli('ls', '--frob');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/^ringmaster: unknown option '--frob'\n\(see ringmaster ls --help\)/);
    expect((await cli('spawn', '--task', 't')).stderr).toMatch(/required option '--repo <dir>' not specified/);
    expect((await cli('peek', 'nobody', '--lines', 'many')).code).toBe(2);
    const badSpawn = await cli('spawn', '--repo', '/nonexistent', '--task', 't');
    expect(badSpawn.stderr).toMatch(/^ringmaster: Repository path "\/nonexistent" does not exist/);
    expect(badSpawn.code).toBe(3);
    expect(badSpawn.stderr).not.toMatch(/\n\s+at /);
  });

  it('permissions, approve, deny and audit work on the shared store', async () => {
    const request = createRequest(world.context.store, { agentId: 'ag_cli', agentName: 'cli-worker', tool: 'Bash', summary: 'aws s3 ls', category: 'aws', reason: 'aws: aws s3 ls', waitSeconds: 600 });
    const second = createRequest(world.context.store, { agentId: 'ag_cli', agentName: 'cli-worker', tool: 'Bash', summary: 'terraform apply', category: 'terraform', reason: 'terraform: apply', waitSeconds: 600 });
    const listed = await cli('permissions');
    expect(listed.stdout).toMatch(new RegExp(`${request.id}\\s+pending\\s+cli-worker\\s+aws\\s+aws s3 ls`));
    expect(listed.stdout).toContain(second.id);

    const approved = await cli('approve', request.id, '--for', '30m');
    expect(approved.stdout).toBe(`${request.id} approved for 30 min (this agent, category aws): aws s3 ls\n`);
    const denied = await cli('deny', second.id, '--reason', 'no infra changes today');
    expect(denied.stdout).toMatch(new RegExp(`^${second.id} denied`));
    const again = await cli('approve', second.id);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/is already denied/);
    expect((await cli('approve', 'pr_nope')).stderr).toMatch(/No permission request "pr_nope"/);
    expect((await cli('approve', request.id, '--for', 'forever')).stderr).toMatch(/give minutes or hours/);

    const audit = await cli('audit', '--agent', 'cli-worker');
    const lines = audit.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WHEN\s+AGENT\s+CATEGORY\s+OUTCOME\s+BY\s+ACTION\s+REASON$/);
    // The deny's reason is on its line.
    expect(lines[1]).toMatch(/cli-worker\s+terraform\s+denied\s+human \(\S+\)\s+terraform apply\s+no infra changes today$/);
    expect(lines[2]).toMatch(/cli-worker\s+aws\s+approved for 30 min\s+human/);
    expect(lines).toHaveLength(5);
    const auditJson = JSON.parse((await cli('audit', '--agent', 'cli-worker', '--json')).stdout);
    expect(auditJson[0]).toMatchObject({ agent_name: 'cli-worker', category: 'terraform', outcome: 'denied', note: 'no infra changes today' });
    expect((await cli('permissions')).stdout).toBe('Nothing waits for approval.\n');
  });

  it('doctor reports each check with a fix, and fails while ringmaster is not registered', async () => {
    const doctor = await cli('doctor');
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/ok {3}git +git version 2\./);
    expect(doctor.stdout).toMatch(/FAIL registration +ringmaster is not registered at user scope/);
    expect(doctor.stdout).toMatch(/fix: Run `ringmaster install` \(add --scope project or local for this folder only\)\./);
    expect(doctor.stdout).toMatch(/ok   hooks +3 hook files present/);
    // npm run build compiled the hooks (a C compiler is installed here); doctor names the binary.
    expect(doctor.stdout).toMatch(/ok   gate helper +compiled hooks: \S+\/gate-fast-[0-9a-f]{12}\n/);
    // npm run build wrote the listing the stdio server answers a connection from.
    expect(doctor.stdout).toMatch(/ok   server front +answers a client's connection without loading the MCP SDK \(\S+\/dist\/src\/server\/listing\.json matches the build\)\n/);

    const noTmux = await exec(process.execPath, [CLI, 'doctor'], { env: { ...world.env, RINGMASTER_TMUX: '/nonexistent/tmux' } as NodeJS.ProcessEnv }).catch((error: { stdout: string }) => error);
    expect(noTmux.stdout).toMatch(/FAIL tmux +tmux is not installed or not on PATH/);
  });
});

describe('the CLI as a new user meets it', () => {
  it('answers --help for every command with examples, and --version with the package version', async () => {
    const version = await cli('--version');
    expect(version).toMatchObject({ code: 0, stdout: `${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n` });
    const root = await cli('--help');
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/Exit codes:\n {2}0 {2}ok\n {2}1 {2}the operation failed/);
    const commands = ['ls', 'status', 'state', 'spawn', 'send', 'wait', 'peek', 'logs', 'attach', 'stop', 'restart', 'cleanup', 'permissions', 'approve', 'deny', 'audit', 'prs', 'review-check', 'land', 'doctor', 'install', 'serve', 'watch', 'notify', 'completion'];
    for (const command of commands) {
      const help = await cli(command, '--help');
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/^Usage: ringmaster /);
      expect(help.stdout, command).toMatch(/\nExamples:\n {2}\$ ringmaster /);
    }
    expect((await cli('spawn', '-h')).stdout).toMatch(/--extra-arg <arg>[\s\S]*--env <KEY=VALUE>[\s\S]*--copy <glob>[\s\S]*--setup <command>/);
    expect((await cli('help', 'send')).stdout).toMatch(/Usage: ringmaster send \[options\] <name> \[text\.\.\.\]/);
    expect((await cli('status', '-h')).stdout).toMatch(/Usage: ringmaster ls\|status/);
    // About 30 CLI starts one after another: on a loaded 2-core machine each can take seconds.
  }, 240_000);

  it('prints completion scripts for bash, zsh and fish that name every command', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const script = await cli('completion', shell);
      expect(script.code, shell).toBe(0);
      for (const command of ['spawn', 'send', 'watch', 'approve', 'completion']) expect(script.stdout, `${shell} ${command}`).toContain(command);
    }
    const bash = (await cli('completion', 'bash')).stdout;
    expect(bash).toMatch(/complete -o default -F _ringmaster ringmaster/);
    expect(bash).toMatch(/spawn\) words="[^"]*--extra-arg/);
    // The generated scripts parse in their shells.
    expect(execFileSync('bash', ['-n'], { input: bash })).toBeDefined();
    expect((await cli('completion', 'fish')).stdout).toMatch(/^complete -c ringmaster -n __fish_use_subcommand -a spawn -d /m);
    expect((await cli('completion', 'zsh')).stdout).toMatch(/^#compdef ringmaster/);
    expect((await cli('completion', 'tcsh')).code).toBe(2);
  });

  it('--json uses the MCP tools\' field names', async () => {
    const spawned = await cli('spawn', '--repo', repo, '--task', 'json task', '--name', 'json-agent', '--agent', 'codex', '--json', '--env', 'FOO=bar', '--extra-arg=--verbose');
    expect(spawned.code, spawned.stderr).toBe(0);
    const spawnJson = JSON.parse(spawned.stdout);
    // group is there only for spawn_agent with attempts.
    expect(Object.keys(spawnJson).sort()).toEqual(Object.keys(spawnAgentTool.outputSchema.shape).filter((key) => key !== 'group').sort());
    expect(fakeAgentArgs(world.fakeLog)).toContain('--verbose');

    const listed = JSON.parse((await cli('ls', '--json')).stdout) as Array<Record<string, unknown>>;
    const agentFields = Object.keys(agentSummarySchema.shape);
    expect(Object.keys(listed[0]!)).toEqual(expect.arrayContaining(agentFields));
    expect(Object.keys(listed[0]!.status as object).sort()).toEqual(Object.keys(statusSchema.shape).sort());

    const waited = await cli('wait', 'json-agent', '--timeout', '1', '--only-changes', '--json');
    expect(waited.code).toBe(5);
    expect(Object.keys(JSON.parse(waited.stdout)).sort()).toEqual(Object.keys(waitForAgentsTool.outputSchema.shape).sort());

    const sent = await cli('send', 'json-agent', 'hello', 'there', '--json');
    expect(Object.keys(JSON.parse(sent.stdout)).sort()).toEqual(Object.keys(sendPromptTool.outputSchema.shape).sort());

    createRequest(world.context.store, { agentId: 'ag_json', agentName: 'json-worker', tool: 'Bash', summary: 'aws s3 ls', category: 'aws', reason: 'aws: aws s3 ls', waitSeconds: 600 });
    const requests = JSON.parse((await cli('permissions', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(Object.keys(requests[0]!).sort()).toEqual(Object.keys(permissionRequestSchema.shape).sort());

    const peek = await cli('peek', 'json-agent', '--json', '-n', '5');
    expect(JSON.parse(peek.stdout)).toMatchObject({ name: 'json-agent', source: 'screen' });

    const stopped = await cli('stop', 'json-agent');
    expect(stopped.stdout).toMatch(/^Stopped json-agent \(SIGTERM\); kept worktree /);
    expect((await cli('ls')).stdout).toMatch(/json-agent\s+codex\s+exited/);
    const restarted = await cli('restart', 'json-agent');
    expect(restarted.stdout).toMatch(/^Restarted json-agent, starting afresh on its task\./);
    await waitUntil(async () => /json-agent\s+codex\s+unknown/.test((await cli('ls')).stdout), 20_000, 'the restarted agent to run');

    const cleaned = JSON.parse((await cli('cleanup', 'json-agent', '--json', '--force')).stdout);
    expect(Object.keys(cleaned).sort()).toEqual(Object.keys(cleanupWorktreeTool.outputSchema.shape).sort());
  });
});
