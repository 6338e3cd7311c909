import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressHealth } from '../../src/gate/egress/client.js';
import { decide, listAudit, pendingForAgent, type PermissionRequest } from '../../src/gate/permissions.js';
import { sendPrompt } from '../../src/fleet/prompt.js';
import { spawnAgent } from '../../src/fleet/spawn.js';
import { agentStatus, findLiveAgent } from '../../src/state/state.js';
import { git, makeRepo, makeWorld, tempDir, waitUntil, type TestWorld } from '../helpers/fixtures.js';
import { claudeEnv, isMainConversation, isToolResultTurn, lastToolResult, startModelServer, type MessagesRequestBody, type ModelServer } from '../helpers/model-server.js';

let model: ModelServer;
let world: TestWorld;
let repo: string;
let remote: string;
const shims = tempDir('shims-');
const shimLog = join(shims, 'ran.log');

/** Recording stand-ins for the gated programs: they prove whether a command really ran. */
function shim(name: string) {
  const path = join(shims, name);
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> '${shimLog}'\n`);
  chmodSync(path, 0o755);
}
const basePolicy = (extra: Record<string, unknown> = {}) => JSON.stringify({ sandbox: { allowWrite: [shims] }, ...extra });
const ran = () => (existsSync(shimLog) ? readFileSync(shimLog, 'utf8') : '');

function latestPrompt(body: MessagesRequestBody): string {
  const last = body.messages?.at(-1);
  if (!last || last.role !== 'user') return '';
  const blocks = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : (last.content as Array<{ type: string; text?: string }>);
  return blocks.filter((block) => block.type === 'text' && block.text && !block.text.startsWith('<')).map((block) => block.text!).at(-1) ?? '';
}

beforeAll(async () => {
  for (const name of ['aws', 'terraform', 'curl']) shim(name);
  // The scripted model: "RUN <command>" makes it call Bash with exactly that command,
  // and after the tool result it ends the turn quoting what the tool said.
  // "SLOWRUN <command>" answers after 3 s, and after a fail-closed denial runs an ordinary command next, in the same turn.
  model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok' };
    if (isToolResultTurn(body)) {
      const said = lastToolResult(body)!.text;
      if (said.includes('fail-closed') && !said.includes('ordinary')) return { toolUse: { name: 'Bash', input: { command: 'echo ordinary > ordinary-2.txt', description: 'ordinary' } } };
      return { text: `tool said: ${said.slice(0, 500)}` };
    }
    const prompt = latestPrompt(body);
    if (prompt.startsWith('RUN ')) return { toolUse: { name: 'Bash', input: { command: prompt.slice(4), description: 'gated command' } } };
    if (prompt.startsWith('SLOWRUN ')) return { delayMs: 3000, toolUse: { name: 'Bash', input: { command: prompt.slice(8), description: 'gated command' } } };
    return { text: 'ready' };
  });
  world = makeWorld({ ...claudeEnv(model), PATH: `${shims}:${process.env.PATH}` });
  // The child runs sandboxed: the recording shims may write their log, nothing else outside the worktree.
  writeFileSync(join(world.env.RINGMASTER_HOME!, 'policy.json'), basePolicy());
  repo = makeRepo(world.dir, 'gated repo');
  remote = join(world.dir, 'remote.git');
  git(world.dir, 'init', '-q', '--bare', '-b', 'main', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'push', '-q', 'origin', 'main');
  git(repo, 'commit', '-q', '--allow-empty', '-m', 'local work on main, not yet pushed');
  await spawnAgent(world.context, { repo, task: 'say ready', name: 'gated', extraArgs: ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash'] });
});
afterAll(async () => {
  await world?.close();
  await model?.close();
});

const agent = () => findLiveAgent(world.context, 'gated');
async function idle() {
  await waitUntil(async () => (await agentStatus(world.context, agent())).state === 'idle', 30_000, 'the agent to be idle');
}
async function held(command: string): Promise<PermissionRequest> {
  await idle();
  const sent = await sendPrompt(world.context, { name: 'gated', text: `RUN ${command}` });
  expect(sent.delivered).toBe(true);
  const request = await waitUntil(() => pendingForAgent(world.context.store, agent().id), 30_000, `the gate to hold "${command}"`);
  const status = await agentStatus(world.context, agent());
  expect(status.state).toBe('waiting_permission');
  expect(status.reason).toContain(request.id);
  return request;
}
const toolError = (fragment: string) =>
  model.waitFor((request) => {
    const result = lastToolResult(request.body as MessagesRequestBody);
    return Boolean(result?.isError && result.text.includes(fragment));
  }, 30_000);

describe('the gate in a real Claude Code child', () => {
  it.each([
    ['aws s3 ls', 'aws', 'aws s3 ls'],
    ['terraform apply', 'terraform', 'terraform apply'],
    ['curl -s -X POST -d text=hi https://hooks.slack.com/services/T0/B0/XYZ', 'slack', 'curl -s -X POST -d text=hi https://hooks.slack.com/services/T0/B0/XYZ'],
    ['bash -c "aws sts get-caller-identity"', 'aws', 'aws sts get-caller-identity'],
  ])('holds `%s` until a human approves, and only then runs it', async (command, category, trace) => {
    const request = await held(command);
    expect(request.category).toBe(category);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ran()).not.toContain(trace);
    decide(world.context.store, request.id, { approve: true, actor: 'human (test)' });
    await waitUntil(() => ran().includes(trace), 15_000, `${trace} to run after approval`);
  });

  it('lets an ordinary call its compiled hook cannot read alone through the classifier service, with no Node start', async () => {
    await idle();
    const home = world.env.RINGMASTER_HOME!;
    const before = (await egressHealth(home))!.classified!;
    const sent = await sendPrompt(world.context, { name: 'gated', text: 'RUN for f in *; do echo "$f $(wc -c < "$f")"; done > sizes.txt' });
    expect(sent.delivered).toBe(true);
    const sizes = join(agent().worktreePath, 'sizes.txt');
    await waitUntil(() => existsSync(sizes) && /^README\.md \d+$/m.test(readFileSync(sizes, 'utf8')), 30_000, 'sizes.txt from the ordinary call');
    const after = (await egressHealth(home))!.classified!;
    expect(after.allow).toBeGreaterThan(before.allow);
    expect(pendingForAgent(world.context.store, agent().id)).toBeUndefined();
  });

  it('holds `git push origin main`; even approved, the sandboxed child cannot write the remote', async () => {
    const before = git(remote, 'rev-parse', 'main').trim();
    const request = await held('git push origin main');
    expect(request.category).toBe('protected_push');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(git(remote, 'rev-parse', 'main').trim()).toBe(before);
    decide(world.context.store, request.id, { approve: true, actor: 'human (test)' });
    // Pushes go through ringmaster (create_pr), never from inside a child: the remote is outside its sandbox.
    await idle();
    expect(git(remote, 'rev-parse', 'main').trim()).toBe(before);
  });

  it('a gate hook killed while it holds a call blocks the call (onFailure "block"), and the command never runs', async () => {
    const runsBefore = ran().split('\n').filter((line) => line.startsWith('terraform')).length;
    const request = await held('terraform apply -auto-approve -lock=false');
    // The hook as Claude started it (the compiled gate, given this agent's spool; and the gate.js it runs for the full check).
    const gates = execFileSync('pgrep', ['-f', `agents/${agent().id}/events`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    expect(gates.length).toBeGreaterThan(0);
    for (const pid of gates) process.kill(Number(pid), 'SIGKILL');
    const answer = await toolError('blocking because onFailure is "block"');
    expect(lastToolResult(answer.body as MessagesRequestBody)!.text).toContain('PreToolUse:Bash hook error');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ran().split('\n').filter((line) => line.startsWith('terraform')).length).toBe(runsBefore);
    // The orphaned gate process still waits on the request; a human's later yes must not run anything either.
    decide(world.context.store, request.id, { approve: false, actor: 'human (test)', note: 'the hook was killed' });
  });

  it('a compiled gate that is gone or damaged cannot start, and Claude blocks every call (onFailure "block"), ordinary ones too', async () => {
    const settings = JSON.parse(readFileSync(join(world.env.RINGMASTER_HOME!, 'agents', agent().id, 'settings.json'), 'utf8')) as { hooks: { PreToolUse: Array<{ hooks: Array<{ command: string; args?: string[] }> }> } };
    const gate = settings.hooks.PreToolUse[0]!.hooks[0]!;
    // Pinned under RINGMASTER_HOME, where no reinstall of the package removes it, and started with no shell.
    expect(gate.command).toMatch(new RegExp(`^${world.env.RINGMASTER_HOME}/bin/gate-fast-[0-9a-f]{12}$`));
    expect(gate.args).toContain(join(world.env.RINGMASTER_HOME!, 'agents', agent().id, 'events'));
    const aside = `${gate.command}.aside`;
    renameSync(gate.command, aside);
    try {
      for (const [damage, marker] of [['gone', 'gate-gone.txt'], ['damaged', 'gate-damaged.txt']] as const) {
        if (damage === 'damaged') writeFileSync(gate.command, Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(64)]), { mode: 0o755 });
        await idle();
        const before = model.messageRequests().length;
        // The recorders are the same program: the prompt goes in, but its UserPromptSubmit is not recorded to prove it.
        const sent = await sendPrompt(world.context, { name: 'gated', text: `RUN touch ${marker}`, timeoutMs: 5_000 });
        expect(sent.delivered).not.toBe(true);
        const answer = await waitUntil(
          () => model.messageRequests().slice(before).find((request) => lastToolResult(request.body as MessagesRequestBody)?.isError),
          30_000,
          `the model to hear the ${damage} gate's error`,
        );
        expect(lastToolResult(answer.body as MessagesRequestBody)!.text).toMatch(/PreToolUse:Bash hook error[\s\S]*blocking because onFailure is "block"/);
        expect(existsSync(join(agent().worktreePath, marker)), damage).toBe(false);
      }
    } finally {
      rmSync(gate.command, { force: true });
      renameSync(aside, gate.command);
    }
    await idle();
  });

  it('a denial reaches the model as a clear tool error, and the command never runs', async () => {
    const runsBefore = ran().split('\n').filter((line) => line.startsWith('terraform')).length;
    const request = await held('terraform destroy -auto-approve');
    decide(world.context.store, request.id, { approve: false, actor: 'human (test)', note: 'not in this sprint' });
    const answer = await toolError('was denied');
    const text = lastToolResult(answer.body as MessagesRequestBody)!.text;
    expect(text).toContain(`request ${request.id}`);
    expect(text).toContain('not in this sprint');
    expect(ran().split('\n').filter((line) => line.startsWith('terraform')).length).toBe(runsBefore);
  });

  it('a request nobody answers times out into a denial', async () => {
    writeFileSync(join(world.env.RINGMASTER_HOME!, 'policy.json'), basePolicy({ waitSeconds: 2 }));
    try {
      const runsBefore = ran().split('\n').filter((line) => line.startsWith('aws')).length;
      const request = await held('aws s3 rm s3://bucket/key');
      const answer = await toolError('got no decision within 2 s');
      expect(lastToolResult(answer.body as MessagesRequestBody)!.text).toContain(request.id);
      expect(ran().split('\n').filter((line) => line.startsWith('aws')).length).toBe(runsBefore);
    } finally {
      writeFileSync(join(world.env.RINGMASTER_HOME!, 'policy.json'), basePolicy());
    }
  });

  it('fails closed: with a broken policy or an unreadable store, gated calls are denied and ordinary calls still run', async () => {
    const home = world.env.RINGMASTER_HOME!;
    const ordinary = async (file: string) => {
      await idle();
      await sendPrompt(world.context, { name: 'gated', text: `RUN echo ordinary > ${file}` });
      await waitUntil(() => existsSync(join(agent().worktreePath, file)), 15_000, `the ordinary command writing ${file} to run`);
    };

    await idle();
    writeFileSync(join(home, 'policy.json'), '{"waitSeconds": ');
    try {
      await sendPrompt(world.context, { name: 'gated', text: 'RUN aws iam list-users' });
      await toolError('is not valid JSON');
      await ordinary('ordinary-1.txt');
    } finally {
      writeFileSync(join(home, 'policy.json'), basePolicy());
    }

    // Swap the database for a file that is not one while the model thinks, so that the gate meets it; the
    // scripted model then runs an ordinary command in the same turn (nothing here may read the store meanwhile).
    await idle();
    const sent = await sendPrompt(world.context, { name: 'gated', text: 'SLOWRUN aws iam list-roles' });
    expect(sent.delivered).toBe(true);
    const worktree = agent().worktreePath;
    const files = ['state.db', 'state.db-wal', 'state.db-shm'].filter((name) => existsSync(join(home, name)));
    for (const name of files) renameSync(join(home, name), join(home, `${name}.aside`));
    writeFileSync(join(home, 'state.db'), 'this is not a database');
    try {
      await toolError('fail-closed');
      await waitUntil(() => existsSync(join(worktree, 'ordinary-2.txt')), 30_000, 'the ordinary command to run with the store unreadable');
    } finally {
      rmSync(join(home, 'state.db'), { force: true });
      for (const name of files) renameSync(join(home, `${name}.aside`), join(home, name));
    }
    expect(ran()).not.toContain('aws iam list-users');
    expect(ran()).not.toContain('aws iam list-roles');
    expect(listAudit(world.context.store, { agentName: 'gated' }).some((entry) => entry.outcome === 'timed out')).toBe(true);
  });
});
