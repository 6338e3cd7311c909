import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/core/context.js';
import { createTicket, fetchTicket, linkPrToTicket, listTickets, spawnForTicket, taskFromTicket } from '../../src/forge/linear.js';
import { loadConfig } from '../../src/config.js';
import { ConflictError, NotFoundError, UserInputError } from '../../src/errors.js';
import { makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';
import { startLinearServer, type LinearServer } from '../helpers/linear-server.js';

const KEY = 'lin_api_test_key';
let linear: LinearServer;
let world: TestWorld;

beforeAll(async () => {
  linear = await startLinearServer(KEY);
  linear.issues.push({ id: 'issue-1', identifier: 'ENG-123', title: 'Fix login redirect', description: 'After login the user lands on /404.\nIt should be /home.', branchName: 'alice/eng-123-fix-login-redirect', stateId: 'state-todo', teamId: 'team-eng', labels: ['bug'], attachments: [] });
  world = makeWorld({ LINEAR_API_KEY: KEY, LINEAR_API_URL: linear.url });
});
afterAll(async () => {
  await world.close();
  await linear.close();
});

describe('Linear through the real @linear/sdk client', () => {
  it('fetches a ticket with its suggested branch and state, and builds the task from it', async () => {
    const ticket = await fetchTicket(world.context, 'ENG-123');
    expect(ticket).toMatchObject({ identifier: 'ENG-123', title: 'Fix login redirect', branchName: 'alice/eng-123-fix-login-redirect', state: 'Todo', url: 'https://linear.app/acme/issue/eng-123' });
    expect(taskFromTicket(ticket)).toBe('ENG-123: Fix login redirect\nLinear ticket: https://linear.app/acme/issue/eng-123\n\nAfter login the user lands on /404.\nIt should be /home.');
  });

  it('lists tickets by team, state and label, and creates one', async () => {
    expect((await listTickets(world.context, { team: 'ENG', states: ['Todo'], labels: ['bug'] })).map((ticket) => ticket.identifier)).toEqual(['ENG-123']);
    expect(await listTickets(world.context, { team: 'ENG', states: ['Done'] })).toEqual([]);
    const created = await createTicket(world.context, { team: 'ENG', title: 'Add audit export', description: 'CSV please', labels: ['bug'] });
    expect(created).toMatchObject({ identifier: 'ENG-102', title: 'Add audit export', url: 'https://linear.app/acme/issue/eng-102' });
    await expect(createTicket(world.context, { team: 'NOPE', title: 'x' })).rejects.toThrow(/no team with key NOPE/);
    await expect(createTicket(world.context, { team: 'ENG', title: 'x', labels: ['missing'] })).rejects.toThrow(/no label\(s\) missing/);
  });

  it('attaches a PR to the agent\'s ticket and moves it to In Review', async () => {
    world.context.store.insertAgent({ id: 'ag_lin', name: 'linear-agent', repo: '/r', baseRef: 'main', baseCommit: 'c', branch: 'b', worktreePath: '/w', tmuxSocket: null, tmuxSession: 's', agentKind: 'claude', model: null, task: 't', taskPreview: 't' });
    world.context.store.db.prepare(`UPDATE agents SET linear_issue = 'ENG-123' WHERE id = 'ag_lin'`).run();
    const notes = await linkPrToTicket(world.context, world.context.store.getAgent('ag_lin')!, 'https://github.com/acme/app/pull/7');
    expect(notes).toEqual(['Attached the PR to ENG-123 and moved it to "In Review".']);
    expect(linear.issues[0]).toMatchObject({ stateId: 'state-review', attachments: ['https://github.com/acme/app/pull/7'] });
  });

  it('refuses a ticket spawn past the live-agent cap (it cannot wait in the queue), before fetching the ticket or making anything', async () => {
    const repo = makeRepo(world.dir, 'capped');
    const capped = createContext({ ...world.env, RINGMASTER_MAX_AGENTS: '1' }, loadConfig({ ...world.env, RINGMASTER_MAX_AGENTS: '1' }));
    try {
      // A spawn in progress in this repo holds the one slot (the store may hold others from the tests above).
      capped.store.insertAgent({ id: 'ag_busy', name: 'busy-one', repo: await capped.git.resolveRepo(repo), baseRef: 'main', baseCommit: 'c', branch: 'agent/busy-one', worktreePath: '/w', tmuxSocket: null, tmuxSession: 'ringmaster-busy-one', agentKind: 'claude', model: null, task: 't', taskPreview: 't' });
      const operationsBefore = linear.operations.length;
      const agentsBefore = capped.store.listAgents().length;
      const refused = spawnForTicket(capped, 'ENG-123', { repo, task: '' });
      await expect(refused).rejects.toThrow(ConflictError);
      await expect(refused).rejects.toThrow(/needs a free slot, but \d+ agents are live under a cap of 1 \(fleet.maxLiveAgents\)/);
      expect(linear.operations).toHaveLength(operationsBefore);
      expect(capped.store.listAgents()).toHaveLength(agentsBefore);
      expect(await capped.git.branchExists(repo, 'alice/eng-123-fix-login-redirect')).toBe(false);
    } finally {
      capped.store.close();
    }
  });

  it('explains a missing key, a rejected key and an unknown ticket', async () => {
    const noKey = createContext({ ...world.env, LINEAR_API_KEY: undefined }, loadConfig(world.env));
    try {
      await expect(fetchTicket(noKey, 'ENG-123')).rejects.toThrow(/No Linear API key\..*LINEAR_API_KEY/);
    } finally {
      noKey.store.close();
    }
    const badKey = createContext({ ...world.env, LINEAR_API_KEY: 'wrong' }, loadConfig(world.env));
    try {
      await expect(fetchTicket(badKey, 'ENG-123')).rejects.toThrow(/Linear rejected the API key/);
    } finally {
      badKey.store.close();
    }
    await expect(fetchTicket(world.context, 'ENG-999')).rejects.toThrow(NotFoundError);
    await expect(fetchTicket(world.context, 'not a ticket')).rejects.toThrow(UserInputError);
  });
});
