import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest } from '../../src/gate/permissions.js';
import { CLI, makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';

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
    // codex reports no events: alive, but what it is doing cannot be known, and the table says so.
    expect(status.stdout).toMatch(/cli-agent\s+codex\s+unknown \d+s\s+agent\/cli-agent/);

    world.tmux('kill-session', '-t', '=ringmaster-cli-agent');
    expect((await cli('status')).stdout).toMatch(/cli-agent\s+codex\s+exited \d+s/);
    const json = JSON.parse((await cli('status', '--json')).stdout);
    expect(json[0]).toMatchObject({ name: 'cli-agent', session_alive: false, process_alive: false, status: { state: 'exited' } });

    const attach = await cli('attach', 'cli-agent');
    expect(attach.code).toBe(1);
    expect(attach.stderr).toMatch(/has no tmux session any more/);

    const cleaned = await cli('cleanup', 'cli-agent');
    expect(cleaned.stdout).toMatch(/removed: worktree /);
  });

  it('answers bad input with one line on stderr and a non-zero exit, never a stack trace', async () => {
    const unknown = await cli('attach', 'nobody');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('ringmaster: No agent named "nobody". Run list_agents (or ringmaster status) to see the agents that exist.\n');
    const badCommand = await cli('frobnicate');
    expect(badCommand.code).toBe(2);
    expect(badCommand.stderr).toMatch(/unknown command "frobnicate"/);
    const badSpawn = await cli('spawn', '--repo', '/nonexistent', '--task', 't');
    expect(badSpawn.stderr).toMatch(/^ringmaster: Repository path "\/nonexistent" does not exist/);
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
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is already denied/);
    expect((await cli('approve', 'pr_nope')).stderr).toMatch(/No permission request "pr_nope"/);
    expect((await cli('approve', request.id, '--for', 'forever')).stderr).toMatch(/give minutes or hours/);

    const audit = await cli('audit', '--agent', 'cli-worker');
    const lines = audit.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/cli-worker\s+terraform\s+denied\s+human/);
    expect(lines[1]).toMatch(/cli-worker\s+aws\s+approved for 30 min\s+human/);
    expect(lines).toHaveLength(4);
    expect((await cli('permissions')).stdout).toBe('Nothing waits for approval.\n');
  });

  it('doctor reports each check with a fix, and fails while ringmaster is not registered', async () => {
    const doctor = await cli('doctor');
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/ok {3}git +git version 2\./);
    expect(doctor.stdout).toMatch(/FAIL registration +ringmaster is not registered at user scope/);
    expect(doctor.stdout).toMatch(/fix: Run `ringmaster install`\./);

    const noTmux = await exec(process.execPath, [CLI, 'doctor'], { env: { ...world.env, RINGMASTER_TMUX: '/nonexistent/tmux' } as NodeJS.ProcessEnv }).catch((error: { stdout: string }) => error);
    expect(noTmux.stdout).toMatch(/FAIL tmux +tmux is not installed or not on PATH/);
  });
});
