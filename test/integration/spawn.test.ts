import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAgents } from '../../src/fleet/agents.js';
import { createContext } from '../../src/core/context.js';
import { loadConfig } from '../../src/config.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { ConflictError, ExternalToolError, NotFoundError, UserInputError } from '../../src/errors.js';
import { FAKE_AGENT, fakeAgentArgs, git, makeRepo, makeWorld, tempDir, waitUntil, type TestWorld } from '../helpers/fixtures.js';

let world: TestWorld;
let repo: string;

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir, 'my repo ünï');
});
afterAll(() => world.close());

/** What must be true of the world after a spawn that failed: nothing of it remains. */
function expectNothingLeft(name: string, branch = `agent/${name}`) {
  expect(git(repo, 'branch', '--list', branch).trim()).toBe('');
  expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain(`/${name}\n`);
  expect(world.tmux('has-session', '-t', `=ringmaster-${name}`)).toBe('');
  expect(world.tmux('list-sessions', '-F', '#{session_name}')).not.toContain(`ringmaster-${name}\n`);
  expect(world.context.store.findAgentByName(name)).toBeUndefined();
  const agentsDir = join(world.env.RINGMASTER_HOME!, 'agents');
  const leftovers = existsSync(agentsDir) ? readdirSync(agentsDir).filter((id) => !world.context.store.getAgent(id)) : [];
  expect(leftovers).toEqual([]);
}

describe('spawn_agent core against real git and tmux', () => {
  it('creates branch, worktree and session, and hands the agent the exact task', async () => {
    const task = `Fix the "login" bug: don't touch $HOME or \`rm\` anything.\nSecond line ünïcödé 漢字\n\n`;
    const result = await spawnAgent(world.context, { repo, task, name: 'exact', agent: 'codex', extraArgs: ['--flag'] });

    expect(result.branch).toBe('agent/exact');
    expect(result.tmuxSession).toBe('ringmaster-exact');
    expect(result.attachCommand).toBe(`tmux -L ${world.socket} attach -t ringmaster-exact`);
    expect(result.worktreePath.endsWith('/worktrees/my-repo-uni/exact')).toBe(true);
    expect(git(result.worktreePath, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('agent/exact');
    expect(git(result.worktreePath, 'rev-parse', 'HEAD').trim()).toBe(git(repo, 'rev-parse', 'main').trim());

    await waitUntil(() => existsSync(join(world.fakeLog, 'argc')), 10_000, 'the fake agent to start');
    expect(fakeAgentArgs(world.fakeLog)).toEqual(['--flag', '--', task]);
    expect(readFileSync(join(world.fakeLog, 'cwd'), 'utf8').trim()).toBe(result.worktreePath);
    const env = readFileSync(join(world.fakeLog, 'env'), 'utf8');
    expect(env).toContain(`RINGMASTER_AGENT_ID=${result.id}\n`);
    expect(env).toContain('RINGMASTER_AGENT_NAME=exact\n');
    // The private env file is gone once the agent has read it.
    expect(existsSync(join(world.env.RINGMASTER_HOME!, 'agents', result.id, 'env.sh'))).toBe(false);

    const [listed] = (await listAgents(world.context)).filter((agent) => agent.name === 'exact');
    expect(listed).toMatchObject({ sessionAlive: true, processAlive: true, worktreeExists: true, branch: 'agent/exact', repo });
    // Nothing was written into the user's repo.
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('gives ten concurrent spawns on one repo ten distinct working agents', async () => {
    const names = Array.from({ length: 10 }, (_, index) => `par${index}`);
    const results = await Promise.all(
      names.map((name) =>
        spawnAgent(world.context, {
          repo,
          task: `task for ${name}`,
          name,
          agent: 'custom',
          command: [FAKE_AGENT],
          env: { FAKE_AGENT_LOG: join(world.dir, 'logs', name) },
        }),
      ),
    );
    expect(new Set(results.map((result) => result.worktreePath)).size).toBe(10);
    expect(new Set(results.map((result) => result.id)).size).toBe(10);
    for (const name of names) {
      await waitUntil(() => existsSync(join(world.dir, 'logs', name, 'argc')), 15_000, `${name} to start`);
      expect(fakeAgentArgs(join(world.dir, 'logs', name))).toEqual([`task for ${name}`]);
      expect(git(repo, 'rev-parse', '--verify', `agent/${name}`).trim()).toMatch(/^[0-9a-f]{40}$/);
    }
    const alive = (await listAgents(world.context)).filter((agent) => names.includes(agent.name) && agent.processAlive);
    expect(alive).toHaveLength(10);
  });

  it('hands a 1 MB task over as a file, byte for byte', async () => {
    const task = `BEGIN\n${'0123456789abcdef'.repeat(65_536)}\nEND`;
    const log = join(world.dir, 'logs', 'big');
    const result = await spawnAgent(world.context, { repo, task, name: 'big', agent: 'custom', command: [FAKE_AGENT, '--file', '{task_file}'], env: { FAKE_AGENT_LOG: log } });
    await waitUntil(() => existsSync(join(log, 'argc')), 10_000, 'the agent to start');
    const [flag, file] = fakeAgentArgs(log);
    expect(flag).toBe('--file');
    expect(readFileSync(file!, 'utf8')).toBe(task);
    expect(result.notes.join(' ')).toMatch(/over the 100000-byte argument limit/);
  });

  it('pastes the task into a CLI that cannot take it as an argument (aider), once its screen settles', async () => {
    const env = { ...world.env, RINGMASTER_AIDER: FAKE_AGENT };
    const context = createContext(env, loadConfig(env));
    const log = join(world.dir, 'logs', 'aider');
    try {
      const result = await spawnAgent(context, { repo, task: 'aider task: fix $THING', name: 'aider-like', agent: 'aider', env: { FAKE_AGENT_LOG: log } });
      expect(result.taskSubmitted).toBeNull();
      expect(result.notes.join(' ')).toMatch(/pasted into the agent once its screen settled/);
      expect(fakeAgentArgs(log)).toEqual([]);
      await waitUntil(() => existsSync(join(log, 'input')) && readFileSync(join(log, 'input'), 'utf8') === 'aider task: fix $THING\n', 10_000, 'the pasted task');
    } finally {
      context.store.close();
    }
  });

  it('copies bootstrap files and runs the setup command in the new worktree', async () => {
    writeFileSync(join(repo, '.env.local'), 'SECRET=1\n');
    mkdirSync(join(repo, 'config'), { recursive: true });
    writeFileSync(join(repo, 'config', 'dev.env'), 'X=2\n');
    const progress: string[] = [];
    const result = await spawnAgent(
      world.context,
      {
        repo,
        task: 'use the env',
        name: 'boot',
        agent: 'custom',
        command: [FAKE_AGENT],
        env: { FAKE_AGENT_LOG: join(world.dir, 'logs', 'boot') },
        bootstrap: { copy: ['.env*', 'config/*.env', 'README.md'], setup: 'echo step-one; cat .env.local > setup-saw.txt' },
      },
      (message) => progress.push(message),
    );
    expect(result.copiedFiles).toEqual(['.env.local', 'config/dev.env']);
    expect(readFileSync(join(result.worktreePath, 'setup-saw.txt'), 'utf8')).toBe('SECRET=1\n');
    expect(result.setup).toMatchObject({ exitCode: 0 });
    expect(progress).toContain('setup: step-one');
    expect(progress.some((line) => line.startsWith('Copied 2 file(s)'))).toBe(true);
  });
});

describe('bad input gets a clear error and leaves nothing behind', () => {
  const attempt = (input: Partial<Parameters<typeof spawnAgent>[1]>) =>
    spawnAgent(world.context, { repo, task: 'do things', agent: 'codex', ...input } as Parameters<typeof spawnAgent>[1]);

  it('rejects a path that is not a git repo', async () => {
    const plain = tempDir();
    await expect(attempt({ repo: plain, name: 'notrepo' })).rejects.toThrow(UserInputError);
    await expect(attempt({ repo: plain, name: 'notrepo' })).rejects.toThrow(/is not a git repository/);
    expectNothingLeft('notrepo');
  });

  it('rejects a path that does not exist', async () => {
    await expect(attempt({ repo: '/nonexistent/repo', name: 'nopath' })).rejects.toThrow(NotFoundError);
  });

  it('rejects a relative path', async () => {
    await expect(attempt({ repo: 'relative/repo', name: 'rel' })).rejects.toThrow(/is relative/);
  });

  it('rejects a bare repo', async () => {
    const bare = join(tempDir(), 'bare.git');
    git(world.dir, 'init', '-q', '--bare', bare);
    await expect(attempt({ repo: bare, name: 'bare' })).rejects.toThrow(/bare repository/);
    expectNothingLeft('bare');
  });

  it('rejects a repo with no commits', async () => {
    const empty = join(tempDir(), 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    await expect(attempt({ repo: empty, name: 'empty' })).rejects.toThrow(/has no commits yet/);
  });

  it('rejects a base that does not exist', async () => {
    await expect(attempt({ name: 'nobase', base: 'no-such-branch' })).rejects.toThrow(/base "no-such-branch" does not exist/);
    await expect(attempt({ name: 'nobase', base: '--orphan' })).rejects.toThrow(/does not exist/);
    expectNothingLeft('nobase');
  });

  it('rejects a name already taken', async () => {
    await spawnAgent(world.context, { repo, task: 't', name: 'taken', agent: 'custom', command: [FAKE_AGENT], env: { FAKE_AGENT_LOG: join(world.dir, 'logs', 'taken') } });
    const error = await attempt({ name: 'taken', branch: 'other-branch' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toMatch(/An agent named "taken" already exists/);
    expect(git(repo, 'branch', '--list', 'other-branch').trim()).toBe('');
  });

  it('rejects a branch that already exists', async () => {
    git(repo, 'branch', 'existing');
    await expect(attempt({ name: 'brx', branch: 'existing' })).rejects.toThrow(/branch existing already exists/);
    expectNothingLeft('brx', 'nonexistent-branch');
  });

  it.each(['a/b', '..', 'x..y', 'has space', 'semi;colon', '$(rm)', 'back`tick', 'ünï', '-dash', '', 'a'.repeat(41)])(
    'rejects the name %j',
    async (name) => {
      await expect(attempt({ name })).rejects.toThrow(/Invalid agent name/);
    },
  );

  it('rejects an invalid branch name', async () => {
    await expect(attempt({ name: 'badbranch', branch: 'bad..branch' })).rejects.toThrow(/not a valid git branch name/);
  });

  it('rejects an empty task and a task with a NUL byte', async () => {
    await expect(attempt({ name: 'emptytask', task: '   ' })).rejects.toThrow(/task is empty/);
    await expect(attempt({ name: 'nultask', task: 'a\0b' })).rejects.toThrow(/NUL byte/);
  });

  it('rejects a missing agent CLI before creating anything', async () => {
    const context = createContext(world.env, { ...world.context.config, agents: { ...world.context.config.agents, aider: 'aider-not-installed' } });
    try {
      await expect(spawnAgent(context, { repo, task: 't', name: 'noaider', agent: 'aider' })).rejects.toThrow(ExternalToolError);
      await expect(spawnAgent(context, { repo, task: 't', name: 'noaider', agent: 'aider' })).rejects.toThrow(/"aider-not-installed" was not found on PATH/);
    } finally {
      context.store.close();
    }
    expectNothingLeft('noaider');
  });

  it('rejects a missing tmux before creating anything', async () => {
    const env = { ...world.env, RINGMASTER_TMUX: '/nonexistent/tmux' };
    const context = createContext(env, loadConfig(env));
    try {
      await expect(spawnAgent(context, { repo, task: 't', name: 'notmux', agent: 'codex' })).rejects.toThrow(/tmux is not installed or not on PATH/);
    } finally {
      context.store.close();
    }
    expectNothingLeft('notmux');
  });

  it('rolls back everything when the agent dies during start-up', async () => {
    const error = await spawnAgent(world.context, {
      repo,
      task: 't',
      name: 'dies',
      agent: 'custom',
      command: [FAKE_AGENT],
      env: { FAKE_AGENT_LOG: join(world.dir, 'logs', 'dies'), FAKE_AGENT_EXIT: '3' },
    }).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/exited during start-up \(exit status 3\)/);
    expect((error as Error).message).toContain('fake agent ready');
    expectNothingLeft('dies');
  });

  it('rolls back everything when the setup command fails', async () => {
    await expect(
      spawnAgent(world.context, { repo, task: 't', name: 'badsetup', agent: 'codex', bootstrap: { setup: 'echo broken >&2; exit 7' } }),
    ).rejects.toThrow(/failed with exit code 7[\s\S]*broken/);
    expectNothingLeft('badsetup');
  });

  it('rolls back when the setup command times out', async () => {
    await expect(
      spawnAgent(world.context, { repo, task: 't', name: 'slowsetup', agent: 'codex', bootstrap: { setup: 'sleep 30', setupTimeoutSec: 1 } }),
    ).rejects.toThrow(/did not finish within 1 s/);
    expectNothingLeft('slowsetup');
  });

  it('rejects bootstrap globs that escape the repo', async () => {
    await expect(attempt({ name: 'escape', bootstrap: { copy: ['../outside/*'] } })).rejects.toThrow(/must be relative/);
    expectNothingLeft('escape');
  });

  it('accepts a repo given through a symlink and a subfolder', async () => {
    const link = join(world.dir, 'link to repo');
    symlinkSync(repo, link);
    mkdirSync(join(repo, 'sub'), { recursive: true });
    const result = await spawnAgent(world.context, { repo: join(link, 'sub'), task: 't', name: 'vialink', agent: 'custom', command: [FAKE_AGENT], env: { FAKE_AGENT_LOG: join(world.dir, 'logs', 'vialink') } });
    expect(result.repo).toBe(repo);
  });

  it('rejects reserved and malformed env keys', async () => {
    await expect(attempt({ name: 'envbad', env: { 'BAD-KEY': '1' } })).rejects.toThrow(/not a valid variable name/);
    await expect(attempt({ name: 'envbad', env: { RINGMASTER_AGENT_ID: 'x' } })).rejects.toThrow(/reserved/);
  });

  it('accepts a custom command only when it is executable', async () => {
    const script = join(world.dir, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\n');
    chmodSync(script, 0o644);
    await expect(attempt({ name: 'noexec', agent: 'custom', command: [script] })).rejects.toThrow(/was not found on PATH/);
  });
});
