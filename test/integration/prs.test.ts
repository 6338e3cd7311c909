import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRemote } from '../../src/adapters/github.js';
import { createContext } from '../../src/core/context.js';
import { listPrs } from '../../src/forge/prs.js';
import { loadConfig } from '../../src/config.js';
import { ExternalToolError, UserInputError } from '../../src/errors.js';
import { git, makeRepo, makeWorld, tempDir, type TestWorld } from '../helpers/fixtures.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';

const TOKEN = 'ghp_test_0123456789';
let github: GitHubServer;
let world: TestWorld;
let repo: string;

function addAgent(id: number, repoPath = repo) {
  world.context.store.insertAgent({
    id: `ag_${id}`,
    name: `agent-${id}`,
    repo: repoPath,
    baseRef: 'main',
    baseCommit: 'c',
    branch: `agent/agent-${id}`,
    worktreePath: `/w/${id}`,
    tmuxSocket: world.socket,
    tmuxSession: `ringmaster-agent-${id}`,
    agentKind: 'claude',
    model: null,
    task: 't',
    taskPreview: 't',
  });
}

beforeAll(async () => {
  github = await startGitHubServer(TOKEN);
  world = makeWorld({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url });
  repo = makeRepo(world.dir, 'app');
  git(repo, 'remote', 'add', 'origin', 'git@github.com:acme/app.git');
  for (let index = 0; index < 50; index++) addAgent(index);
  github.prs.set(
    'acme/app',
    new Map([
      ['agent/agent-3', { number: 103, reviewDecision: 'CHANGES_REQUESTED', checks: [{ name: 'test', conclusion: 'FAILURE' }, { name: 'lint', conclusion: 'SUCCESS' }], threads: [{ isResolved: false }, { isResolved: true }, { isResolved: false }] }],
      ['agent/agent-7', { number: 107, isDraft: true, checks: [{ name: 'test', conclusion: 'SUCCESS' }] }],
    ]),
  );
});
afterAll(async () => {
  await world.close();
  await github.close();
});

describe('list_prs against a GitHub GraphQL server, with the real @octokit client', () => {
  it('reads owner and repo from SSH and HTTPS remotes', () => {
    expect(parseRemote('git@github.com:acme/app.git')).toEqual({ owner: 'acme', name: 'app' });
    expect(parseRemote('https://github.com/acme/app')).toEqual({ owner: 'acme', name: 'app' });
    expect(parseRemote('ssh://git@github.example.com:2222/acme/app.git')).toEqual({ owner: 'acme', name: 'app' });
    expect(parseRemote('https://x-access-token:abc@github.com/acme/app.git/')).toEqual({ owner: 'acme', name: 'app' });
    expect(parseRemote('not a url')).toBeUndefined();
  });

  it('covers 50 branches with one GraphQL request, and lists agents without a PR', async () => {
    const before = github.requests.length;
    const listing = await listPrs(world.context);
    expect(github.requests.length - before).toBe(1);
    expect(listing.requests).toBe(1);
    expect(listing.agents).toHaveLength(50);
    const agent3 = listing.agents.find((entry) => entry.agent === 'agent-3')!;
    expect(agent3).toMatchObject({
      github: 'acme/app',
      pr: { number: 103, url: 'https://github.com/acme/app/pull/103', state: 'OPEN', reviewDecision: 'CHANGES_REQUESTED', checks: { state: 'FAILURE', failing: ['test'] }, unresolvedThreads: 2 },
    });
    expect(listing.agents.find((entry) => entry.agent === 'agent-7')!.pr).toMatchObject({ number: 107, draft: true, checks: { failing: [] } });
    expect(listing.agents.filter((entry) => entry.pr === null)).toHaveLength(48);
    expect(listing.rateLimit).toMatchObject({ resetAt: '2026-11-21T12:00:00Z' });
    const sent = github.requests.at(-1)!.body as { variables: Record<string, string> };
    expect(Object.keys(sent.variables).filter((key) => /^b\d+$/.test(key))).toHaveLength(50);
  });

  it('uses one more request per further 50 branches', async () => {
    addAgent(50);
    const before = github.requests.length;
    await listPrs(world.context);
    expect(github.requests.length - before).toBe(2);
  });

  it('explains a missing token, a rejected token, a rate limit and a network failure', async () => {
    const noToken = createContext({ ...world.env, GITHUB_TOKEN: undefined, GH_TOKEN: undefined, PATH: '/nonexistent' }, loadConfig(world.env));
    try {
      await expect(listPrs(noToken)).rejects.toThrow(UserInputError);
      await expect(listPrs(noToken)).rejects.toThrow(/No GitHub token\. Set GITHUB_TOKEN/);
    } finally {
      noToken.store.close();
    }
    const badToken = createContext({ ...world.env, GITHUB_TOKEN: 'wrong' }, loadConfig(world.env));
    try {
      await expect(listPrs(badToken)).rejects.toThrow(/rejected the token .*\(401\)/);
    } finally {
      badToken.store.close();
    }
    github.failWith = { status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1795262400' }, message: 'API rate limit exceeded' };
    try {
      const error = await listPrs(world.context).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ExternalToolError);
      expect((error as Error).message).toMatch(/rate limit reached .* resets at 2026-11-21T/);
    } finally {
      github.failWith = null;
    }
    const offline = createContext({ ...world.env, GITHUB_API_URL: 'http://127.0.0.1:9' }, loadConfig(world.env));
    try {
      await expect(listPrs(offline)).rejects.toThrow(/Could not reach GitHub/);
    } finally {
      offline.store.close();
    }
  });

  it('reports a repo without a GitHub remote per agent, without failing the others', async () => {
    const other = makeRepo(tempDir(), 'no-remote');
    addAgent(99, other);
    const listing = await listPrs(world.context, { names: ['agent-99', 'agent-3'] });
    expect(listing.agents.find((entry) => entry.agent === 'agent-99')!.error).toMatch(/has no origin remote/);
    expect(listing.agents.find((entry) => entry.agent === 'agent-3')!.pr?.number).toBe(103);
  });
});
