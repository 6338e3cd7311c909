import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPr } from '../../src/forge/prs.js';
import { reviewCheck } from '../../src/forge/review.js';
import { spawnForTicket } from '../../src/forge/linear.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { agentStatus, findLiveAgent } from '../../src/state/state.js';
import { git, makeRepo, makeWorld, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';
import { startLinearServer, type LinearServer } from '../helpers/linear-server.js';
import { claudeEnv, isMainConversation, startModelServer, userTexts, type MessagesRequestBody, type ModelServer } from '../helpers/model-server.js';
import { join } from 'node:path';

const TOKEN = 'ghp_routing';
const LINEAR_KEY = 'lin_api_routing';
let github: GitHubServer;
let linear: LinearServer;
let model: ModelServer;
let world: TestWorld;
let repo: string;
let remote: string;

beforeAll(async () => {
  github = await startGitHubServer(TOKEN);
  linear = await startLinearServer(LINEAR_KEY);
  linear.issues.push({ id: 'issue-7', identifier: 'ENG-7', title: 'Validate emails on signup', description: 'Reject addresses without an @.', branchName: 'eng-7-validate-emails', stateId: 'state-todo', teamId: 'team-eng', labels: [], attachments: [] });
  model = await startModelServer(() => ({ text: 'On it.' }));
  world = makeWorld({ ...claudeEnv(model), GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url, LINEAR_API_KEY: LINEAR_KEY, LINEAR_API_URL: linear.url });
  repo = makeRepo(world.dir, 'app');
  remote = join(world.dir, 'app.git');
  git(world.dir, 'init', '-q', '--bare', '-b', 'main', remote);
  git(repo, 'remote', 'add', 'origin', 'git@github.com:acme/app.git');
  // Pushes to "GitHub" land in a local bare repository.
  git(repo, 'config', `url.${remote}.pushInsteadOf`, 'git@github.com:acme/app.git');
});
afterAll(async () => {
  await world?.close();
  await model?.close();
  await linear?.close();
  await github?.close();
});

const idle = (name: string) => waitUntil(async () => (await agentStatus(world.context, findLiveAgent(world.context, name))).state === 'idle', 30_000, `${name} to be idle`);

describe('GitHub and Linear with real children', () => {
  it('spawns an agent from a Linear ticket: its branch, its text as the task, and the link', async () => {
    const spawned = await spawnForTicket(world.context, 'ENG-7', { repo, task: '', extraArgs: ['--permission-mode', 'acceptEdits'] });
    expect(spawned).toMatchObject({ name: 'eng-7', branch: 'eng-7-validate-emails', linear: { identifier: 'ENG-7', url: 'https://linear.app/acme/issue/eng-7' } });
    const task = 'ENG-7: Validate emails on signup\nLinear ticket: https://linear.app/acme/issue/eng-7\n\nReject addresses without an @.';
    await model.waitFor((request) => isMainConversation(request.body as MessagesRequestBody) && userTexts(request.body as MessagesRequestBody).includes(task), 30_000);
  });

  it('create_pr pushes the branch, opens the PR with the task and commits, and moves the ticket to review', async () => {
    const agent = findLiveAgent(world.context, 'eng-7');
    git(agent.worktreePath, 'commit', '-q', '--allow-empty', '-m', 'Validate emails');
    const pr = await createPr(world.context, { name: 'eng-7', title: 'Validate emails on signup' });
    expect(pr).toMatchObject({ number: 200, url: 'https://github.com/acme/app/pull/200', branch: 'eng-7-validate-emails', base: 'main' });
    expect(git(remote, 'rev-parse', 'eng-7-validate-emails').trim()).toBe(git(agent.worktreePath, 'rev-parse', 'HEAD').trim());
    const created = github.prs.get('acme/app')!.get('eng-7-validate-emails')!;
    expect(created.body).toContain('ENG-7: Validate emails on signup');
    expect(created.body).toContain('- Validate emails');
    expect(pr.notes).toEqual(['Attached the PR to ENG-7 and moved it to "In Review".']);
    expect(linear.issues[0]).toMatchObject({ stateId: 'state-review', attachments: ['https://github.com/acme/app/pull/200'] });
  });

  it('refuses to push a protected branch', async () => {
    world.context.store.db.prepare(`UPDATE agents SET branch = 'main' WHERE name = 'eng-7'`).run();
    try {
      await expect(createPr(world.context, { name: 'eng-7', title: 'x' })).rejects.toThrow(/Branch main is protected/);
    } finally {
      world.context.store.db.prepare(`UPDATE agents SET branch = 'eng-7-validate-emails' WHERE name = 'eng-7'`).run();
    }
  });

  it('routes new review comments and failing checks to the owning agent, once', async () => {
    await spawnAgent(world.context, { repo, task: 'Unrelated work', name: 'bystander', extraArgs: ['--permission-mode', 'acceptEdits'] });
    // The bystander has taken its own task (so its transcript exists) before anything is routed.
    await idle('bystander');
    const pr = github.prs.get('acme/app')!.get('eng-7-validate-emails')!;
    pr.oid = 'c0ffee'.padEnd(40, '0');
    pr.checks = [{ name: 'unit-tests', conclusion: 'FAILURE' }];
    pr.threads = [
      { isResolved: false, path: 'src/signup.ts', line: 42, comments: [{ id: 'RC_1', author: 'alice', body: 'Use a real email parser here,\nnot a regex.' }] },
      { isResolved: true, path: 'src/old.ts', line: 1, comments: [{ id: 'RC_0', author: 'bob', body: 'already fixed' }] },
    ];
    await idle('eng-7');
    const dry = await reviewCheck(world.context, { dryRun: true });
    expect(dry).toEqual([expect.objectContaining({ agent: 'eng-7', sent: false, note: 'dry run: not sent' })]);

    const [sent] = await reviewCheck(world.context);
    expect(sent).toMatchObject({ agent: 'eng-7', sent: true, delivered: true, newFailingChecks: ['unit-tests'] });
    expect(sent!.newComments.map((comment) => comment.id)).toEqual(['RC_1']);
    const request = await model.waitFor((entry) => userTexts(entry.body as MessagesRequestBody).some((text) => text.includes('src/signup.ts:42, @alice')), 30_000);
    const text = userTexts(request.body as MessagesRequestBody).find((entry) => entry.includes('src/signup.ts:42'))!;
    expect(text).toContain('   > Use a real email parser here,\n   > not a regex.');
    expect(text).toContain('Failing checks on c0ffee0000: unit-tests.');
    expect(text).not.toContain('already fixed');
    // It reached the owner's own transcript, not the bystander's.
    const owner = world.context.store.claudeSession(findLiveAgent(world.context, 'eng-7').id).transcriptPath!;
    const bystander = world.context.store.claudeSession(findLiveAgent(world.context, 'bystander').id).transcriptPath!;
    await waitUntil(() => readFileSync(owner, 'utf8').includes('src/signup.ts:42'), 10_000, 'the prompt in the owner transcript');
    expect(readFileSync(bystander, 'utf8')).toContain('Unrelated work');
    expect(readFileSync(bystander, 'utf8')).not.toContain('src/signup.ts:42');

    await idle('eng-7');
    const again = await reviewCheck(world.context);
    expect(again).toEqual([expect.objectContaining({ agent: 'eng-7', sent: false, note: 'nothing new' })]);

    pr.threads.push({ isResolved: false, path: 'src/signup.ts', line: 50, comments: [{ id: 'RC_2', author: 'carol', body: 'Add a test for plus-addresses.' }] });
    const third = await reviewCheck(world.context);
    expect(third[0]!.newComments.map((comment) => comment.id)).toEqual(['RC_2']);
    expect(third[0]!.newFailingChecks).toEqual([]);
  });
});
