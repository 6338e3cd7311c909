/**
 * The gate's two fast paths against the full classifier, on every command of
 * the gate corpus (gated and ordinary) and on about 200 ordinary agent calls:
 * gate.sh in real bash, and the compiled helper (src/hooks/gate-fast.c, built
 * here by ensureGateHelper exactly as spawn builds it).
 *
 * Each runs with the hook payload exactly as Claude Code sends it, but with
 * Node replaced by `false`: a call the fast path allows prints nothing; one it
 * sends on to gate.js gets the fail-closed deny. The full path is the
 * classifier gate.js runs, with the same home, worktrees, cwd and environment.
 * The property: a fast path never allows a call the full path gates. The
 * helper is a port of gate.sh, so the two must also decide alike. Timing is
 * measured by bench/gate-fast-path.mjs, not asserted here.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyToolCall, type ClassifyContext } from '../../src/gate/classify.js';
import { ensureEgress } from '../../src/gate/egress/client.js';
import { ensureGateHelper } from '../../src/gate/gate-helper.js';
import { classifyForService, classifyHookCall } from '../../src/gate/hook-call.js';
import { defaultPolicy } from '../../src/gate/policy.js';
import { CORPUS, context as corpusContext } from '../fixtures/classify-corpus.js';
import { fuzzCommands, fuzzEnv } from '../fixtures/gate-fuzz.js';
import { ordinaryCalls, type ToolCall } from '../fixtures/ordinary-calls.js';
import { stopEgress, tempDir, waitUntil } from '../helpers/fixtures.js';

const GATE_SH = join(import.meta.dirname, '..', '..', 'src', 'hooks', 'gate.sh');
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Verdict = 'fast' | 'full check';
type Implementation = 'gate.sh' | 'gate-fast';

let helper: string | undefined;
beforeAll(() => {
  // Built from source on first use, as spawn does; a machine with no C compiler fails here.
  helper = ensureGateHelper(join(dir, 'build-home'));
});

/** Runs a fast path as the hook runs it (`sh -c`, the payload on stdin), with `false` in place of Node. */
// Each verdict is asked once: the agreement test below reuses the runs of the tests before it.
const verdicts = new Map<string, Promise<Verdict>>();
function fastPath(call: ToolCall, cwd: string, env: Record<string, string | undefined>, worktreeRoot: string, implementation: Implementation): Promise<Verdict> {
  const key = JSON.stringify([implementation, call, cwd, env, worktreeRoot]);
  if (!verdicts.has(key)) verdicts.set(key, runFastPath(call, cwd, env, worktreeRoot, implementation));
  return verdicts.get(key)!;
}
function runFastPath(call: ToolCall, cwd: string, env: Record<string, string | undefined>, worktreeRoot: string, implementation: Implementation): Promise<Verdict> {
  if (implementation === 'gate-fast' && !helper) throw new Error('the compiled gate helper could not be built (is a C compiler on PATH?)');
  const program = implementation === 'gate.sh' ? `/bin/bash '${GATE_SH}'` : `'${helper}'`;
  const command = `${program} /bin/false /nonexistent/gate.js '${worktreeRoot}'`;
  const child = spawn('sh', ['-c', command], { env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  const payload = { session_id: 'sess', transcript_path: join(dir, 't.jsonl'), cwd, prompt_id: 'p1', permission_mode: 'acceptEdits', effort: 'medium', hook_event_name: 'PreToolUse', tool_name: call.tool_name, tool_input: call.tool_input, tool_use_id: 'toolu_1' };
  child.stdin.end(JSON.stringify(payload));
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${implementation} exited ${code} for ${JSON.stringify(call)}`));
      else if (stdout === '') resolve('fast');
      else if (/fail-closed/.test(stdout)) resolve('full check');
      else reject(new Error(`unexpected gate output ${stdout}`));
    }),
  );
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]!);
      }
    }),
  );
  return results;
}

describe.each<Implementation>(['gate.sh', 'gate-fast'])('%s fast path against the full classifier', (implementation) => {
  const run = (call: ToolCall, cwd: string, env: Record<string, string | undefined>, worktreeRoot: string) => fastPath(call, cwd, env, worktreeRoot, implementation);

  it('never allows a command of the gate corpus that the classifier gates', async () => {
    const env = { ...corpusContext.env } as Record<string, string>;
    const calls = CORPUS.map(([command]) => ({ tool_name: 'Bash', tool_input: { command, description: 'corpus' } }));
    const verdicts = await mapLimited(calls, 4, (call) => run(call, corpusContext.cwd, env, corpusContext.worktreeRoot));
    const unsound: string[] = [];
    let fast = 0;
    let ordinary = 0;
    CORPUS.forEach(([command, expected], index) => {
      const gated = classifyToolCall('Bash', { command }, corpusContext).length > 0;
      if (expected.length === 0) ordinary++;
      if (verdicts[index] === 'fast') {
        fast++;
        if (gated || expected.length > 0) unsound.push(command);
      }
    });
    console.log(`gate corpus: ${CORPUS.length} commands, ${ordinary} ordinary; ${fast} decided on the fast path (all ordinary)`);
    expect(unsound).toEqual([]);
  });

  it('decides nearly all of ~200 ordinary agent calls in bash, and every one it allows the classifier allows too', async () => {
    const home = join(dir, 'ringmaster');
    const worktreeRoot = join(home, 'worktrees');
    const worktree = join(worktreeRoot, 'app', 'fix-login');
    mkdirSync(worktree, { recursive: true });
    const env = { HOME: dir, RINGMASTER_HOME: home, RINGMASTER_AGENT_ID: 'ag_1', RINGMASTER_AGENT_NAME: 'fix-login', SHELL: '/bin/bash' };
    const context: ClassifyContext = { policy: defaultPolicy(), ringmasterHome: home, worktreeRoot, cwd: worktree, env: { ...env, PATH: process.env.PATH } };
    const calls = ordinaryCalls(worktree);
    const verdicts = await mapLimited(calls, 4, (call) => run(call, worktree, env, worktreeRoot));
    const held = calls.filter((call) => classifyToolCall(call.tool_name, call.tool_input, context).length > 0);
    expect(held.map((call) => call.tool_input.command ?? call.tool_name), 'ordinary calls the classifier holds').toEqual([]);
    const slow = calls.filter((_, index) => verdicts[index] === 'full check').map((call) => (call.tool_name === 'Bash' ? String(call.tool_input.command) : call.tool_name));
    const share = (calls.length - slow.length) / calls.length;
    console.log(`ordinary calls: ${calls.length}; fast path ${calls.length - slow.length} (${(share * 100).toFixed(1)}%); sent to Node: ${JSON.stringify(slow)}`);
    expect(share).toBeGreaterThanOrEqual(0.9);
  });

  it('never allows a random command (fixed seed) that the classifier gates', async () => {
    const home = '/home/u/.ringmaster';
    const worktreeRoot = `${home}/worktrees`;
    const cwd = `${worktreeRoot}/app/a`;
    const env = fuzzEnv(home);
    const context: ClassifyContext = { policy: defaultPolicy(), ringmasterHome: home, worktreeRoot, cwd, env, currentBranch: () => 'main' };
    const commands = fuzzCommands(200, home);
    const verdicts = await mapLimited(commands, 4, (command) => run({ tool_name: 'Bash', tool_input: { command } }, cwd, env, worktreeRoot));
    const unsound = commands.filter((command, index) => verdicts[index] === 'fast' && classifyToolCall('Bash', { command }, context).length > 0);
    console.log(`random commands: ${commands.length}, ${verdicts.filter((verdict) => verdict === 'fast').length} fast`);
    expect(unsound).toEqual([]);
  });

  it('sends tricky spellings to the full check', async () => {
    const home = join(dir, 'ringmaster');
    const worktreeRoot = join(home, 'worktrees');
    const worktree = join(worktreeRoot, 'app', 'fix-login');
    mkdirSync(worktree, { recursive: true });
    const env = { HOME: dir, RINGMASTER_HOME: home, HOOK: 'https://hooks.slack.com/services/T/B/C', STATE: home };
    const context: ClassifyContext = { policy: defaultPolicy(), ringmasterHome: home, worktreeRoot, cwd: worktree, env };
    const tricky = [
      'echo "a;"; aws s3 ls',
      'echo "$(aws s3 ls)"',
      'echo `aws s3 ls`',
      'cat <(aws s3 ls)',
      "echo '<<EOF'\naws s3 ls\nEOF",
      'cat <<EOF\n$(aws s3 ls)\nEOF',
      'ls; fi',
      '{ ls && }',
      'echo $HOOK | xargs curl -d hi',
      'echo $HOOK | { cat; }',
      'rm -rf $STATE/policy.json',
      `echo x > ${worktreeRoot}/../policy.json`,
      `echo x > ${worktreeRoot}2/policy.json`,
      'cd ../../.. && echo {} > policy.json',
      'cd && ls',
      'D=x; cp a $D',
      'git -c alias.x="!aws s3 ls" x',
      'git rebase -x "aws s3 ls" main',
      'xargs -i aws s3 cp {} s3://b',
      'find . -exec aws s3 ls \\;',
      'npx -c "aws s3 ls"',
      'cat x | node',
      'python3 -c "import boto3"',
      'git "push" origin main',
      'l\\s; aws s3 ls',
      'ls; \\\naws s3 ls',
      'echo x > $STATE/policy.json',
      'cp evil.json $STATE/policy.json',
      "$'\\x61ws' s3 ls",
      'echo ok # \n aws s3 ls',
    ];
    // Ordinary spellings that only look tricky may stay fast, but never when the classifier gates them.
    const fine = ['echo "a;" aws s3 ls', 'ls \\\naws', 'cat $STATE/policy.json', "cat > x.ts <<'EOF'\nconst a = `${b}`; $(c)\nEOF"];
    for (const command of fine) {
      expect(await run({ tool_name: 'Bash', tool_input: { command } }, worktree, env, worktreeRoot), command).toBe('fast');
      expect(classifyToolCall('Bash', { command }, context), command).toEqual([]);
    }
    const verdicts = await mapLimited(tricky, 4, (command) => run({ tool_name: 'Bash', tool_input: { command } }, worktree, env, worktreeRoot));
    const allowed = tricky.filter((command, index) => verdicts[index] === 'fast');
    for (const command of allowed) expect(classifyToolCall('Bash', { command }, context), command).toEqual([]);
    expect(allowed).toEqual([]);
    // Writes: only plain absolute paths outside ringmaster's state are fast.
    for (const path of [join(home, 'policy.json'), `${worktreeRoot}/../policy.json`, 'policy.json', `${home}//policy.json`]) {
      expect(await run({ tool_name: 'Write', tool_input: { file_path: path, content: '{}' } }, worktree, env, worktreeRoot), path).toBe('full check');
    }
    for (const tool of ['WebFetch', 'mcp__ringmaster__request_permission', 'mcp__slack__post', 'Task']) {
      expect(await run({ tool_name: tool, tool_input: { url: 'https://example.com' } }, worktree, env, worktreeRoot), tool).toBe('full check');
    }
  });
});

describe('the compiled helper and gate.sh', () => {
  it('decide every command of the corpora, and 300 more random ones, alike', async () => {
    const home = join(dir, 'ringmaster');
    const worktreeRoot = join(home, 'worktrees');
    const worktree = join(worktreeRoot, 'app', 'fix-login');
    mkdirSync(worktree, { recursive: true });
    const fuzzHome = '/home/u/.ringmaster';
    const fuzzRoot = `${fuzzHome}/worktrees`;
    const fuzzCwd = `${fuzzRoot}/app/a`;
    const bash = (command: string) => ({ tool_name: 'Bash', tool_input: { command } });
    // The same calls, cwd and environment as the tests above, so their verdicts are reused.
    const sets: { calls: ToolCall[]; cwd: string; env: Record<string, string | undefined>; worktreeRoot: string }[] = [
      { calls: CORPUS.map(([command]) => ({ tool_name: 'Bash', tool_input: { command, description: 'corpus' } })), cwd: corpusContext.cwd, env: { ...corpusContext.env }, worktreeRoot: corpusContext.worktreeRoot },
      { calls: ordinaryCalls(worktree), cwd: worktree, env: { HOME: dir, RINGMASTER_HOME: home, RINGMASTER_AGENT_ID: 'ag_1', RINGMASTER_AGENT_NAME: 'fix-login', SHELL: '/bin/bash' }, worktreeRoot },
      { calls: fuzzCommands(200, fuzzHome).map(bash), cwd: fuzzCwd, env: fuzzEnv(fuzzHome), worktreeRoot: fuzzRoot },
      { calls: fuzzCommands(300, fuzzHome, 7).map(bash), cwd: fuzzCwd, env: fuzzEnv(fuzzHome), worktreeRoot: fuzzRoot },
    ];
    const differ: string[] = [];
    let compared = 0;
    for (const { calls, cwd, env, worktreeRoot: root } of sets) {
      const pairs = await mapLimited(calls, 4, async (call) => [await fastPath(call, cwd, env, root, 'gate.sh'), await fastPath(call, cwd, env, root, 'gate-fast')]);
      pairs.forEach(([bashVerdict, compiled], index) => {
        compared++;
        if (bashVerdict !== compiled) differ.push(`${JSON.stringify(calls[index]!.tool_input.command ?? calls[index]!.tool_name)}: gate.sh ${bashVerdict}, gate-fast ${compiled}`);
      });
    }
    console.log(`gate.sh and gate-fast compared on ${compared} calls; ${differ.length} differ`);
    expect(differ).toEqual([]);
    // The new random commands against the classifier too.
    const context: ClassifyContext = { policy: defaultPolicy(), ringmasterHome: fuzzHome, worktreeRoot: fuzzRoot, cwd: fuzzCwd, env: fuzzEnv(fuzzHome), currentBranch: () => 'main' };
    const extra = sets[3]!.calls;
    const helperVerdicts = await mapLimited(extra, 4, (call) => fastPath(call, fuzzCwd, fuzzEnv(fuzzHome), fuzzRoot, 'gate-fast'));
    const unsound = extra.filter((call, index) => helperVerdicts[index] === 'fast' && classifyToolCall('Bash', call.tool_input, context).length > 0);
    expect(unsound).toEqual([]);
  });
});

/**
 * With the egress gate's process up for the home, a call the helper's own fast
 * path cannot decide is classified there (POST /classify) instead of by a new
 * Node process: Node is `false` here, so a call that reached it would be denied.
 * The service must decide exactly as gate.js's classification does (the same
 * classifyHookCall, in-process here, on the same payload, env and cwd): allow
 * what finds nothing, and send every call with a finding on to gate.js.
 */
describe('the compiled helper with the classifier service', () => {
  const home = join(dir, 'svc-home');
  const worktreeRoot = join(home, 'worktrees');
  const worktree = join(worktreeRoot, 'app', 'fix-login');
  const hookEnv = { HOME: dir, RINGMASTER_HOME: home, RINGMASTER_AGENT_ID: 'ag_1', RINGMASTER_AGENT_NAME: 'fix-login', SHELL: '/bin/bash', HOOK: 'https://hooks.slack.com/services/T/B/C', ST: home };
  let pid = 0;
  beforeAll(async () => {
    mkdirSync(worktree, { recursive: true });
    pid = await ensureEgress(home, { PATH: process.env.PATH, HOME: dir });
  }, 30_000);
  afterAll(() => stopEgress(home));

  /** What gate.js would decide, computed as it computes it: the hook's env is the spawn env plus PATH. */
  const expected = (call: ToolCall, cwd: string): Verdict => {
    const found = classifyHookCall({ tool_name: call.tool_name, tool_input: call.tool_input, cwd }, { PATH: process.env.PATH, ...hookEnv }, process.cwd());
    if ('error' in found) throw new Error(found.error);
    return found.findings.length === 0 && !found.policyError ? 'fast' : 'full check';
  };

  it('decides every ordinary call, the corpus and random commands exactly as gate.js, with no Node start', async () => {
    const bash = (command: string): ToolCall => ({ tool_name: 'Bash', tool_input: { command } });
    const calls: ToolCall[] = [
      ...ordinaryCalls(worktree),
      ...CORPUS.map(([command]) => bash(command)),
      ...fuzzCommands(200, home).map(bash),
      bash(`echo x > ${join(home, 'policy.json')}`),
      { tool_name: 'Write', tool_input: { file_path: join(home, 'config.json'), content: '{}' } },
    ];
    const verdicts = await mapLimited(calls, 4, (call) => runFastPath(call, worktree, hookEnv, worktreeRoot, 'gate-fast'));
    const differ = calls.flatMap((call, index) => (verdicts[index] === expected(call, worktree) ? [] : [`${JSON.stringify(call.tool_input.command ?? call.tool_name)}: helper ${verdicts[index]}, gate.js ${expected(call, worktree)}`]));
    const ordinary = ordinaryCalls(worktree);
    console.log(`classifier service: ${calls.length} calls, ${verdicts.filter((verdict) => verdict === 'fast').length} allowed without Node, ${differ.length} differ from gate.js`);
    expect(differ).toEqual([]);
    // Every ordinary agent call, the ones the helper alone sends to Node included, now ends without one.
    expect(verdicts.slice(0, ordinary.length).filter((verdict) => verdict !== 'fast')).toEqual([]);
    expect(verdicts.filter((verdict) => verdict === 'full check').length).toBeGreaterThan(100);
  }, 120_000);

  it('asks git with the hook\'s environment, as gate.js does: a GIT_DIR on main makes a bare `git push` a protected push', async () => {
    const onMain = join(dir, 'on-main');
    const feature = join(worktreeRoot, 'app', 'feature');
    for (const [repo, branch] of [[onMain, 'main'], [feature, 'feature']] as const) {
      mkdirSync(repo, { recursive: true });
      execFileSync('git', ['init', '-q', '-b', branch, repo]);
    }
    const push: ToolCall = { tool_name: 'Bash', tool_input: { command: 'git push' } };
    const withGitDir = { ...hookEnv, GIT_DIR: join(onMain, '.git') };
    expect(await runFastPath(push, feature, hookEnv, worktreeRoot, 'gate-fast')).toBe('fast');
    expect(await runFastPath(push, feature, withGitDir, worktreeRoot, 'gate-fast')).toBe('full check');
    expect(classifyForService(home, { payload: { tool_name: 'Bash', tool_input: push.tool_input, cwd: feature }, cwd: feature, env: { PATH: process.env.PATH!, ...withGitDir } })).toMatchObject({ decision: 'check' });
  });

  it('goes to gate.js when the service is down', async () => {
    const call: ToolCall = { tool_name: 'Bash', tool_input: { command: 'tar -czf dist.tgz dist' } };
    expect(await runFastPath(call, worktree, hookEnv, worktreeRoot, 'gate-fast')).toBe('fast');
    process.kill(pid, 'SIGTERM');
    await waitUntil(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10_000, 'the egress gate to stop');
    expect(await runFastPath(call, worktree, hookEnv, worktreeRoot, 'gate-fast')).toBe('full check');
  });

  it('answers "check" for another home, a broken policy, or a request it cannot read', () => {
    const payload = { tool_name: 'Bash', tool_input: { command: 'ls' }, cwd: worktree };
    expect(classifyForService(home, { payload, cwd: worktree, env: hookEnv })).toEqual({ decision: 'allow' });
    expect(classifyForService(home, { payload, cwd: worktree, env: { ...hookEnv, RINGMASTER_HOME: join(dir, 'other') } })).toMatchObject({ decision: 'check' });
    expect(classifyForService(home, { payload, cwd: 'relative', env: hookEnv })).toMatchObject({ decision: 'check' });
    expect(classifyForService(home, { payload, cwd: worktree, env: { ...hookEnv, X: 1 } })).toMatchObject({ decision: 'check' });
    expect(classifyForService(home, 'ls')).toMatchObject({ decision: 'check' });
    const brokenHome = join(dir, 'broken-home');
    mkdirSync(brokenHome, { recursive: true });
    writeFileSync(join(brokenHome, 'policy.json'), '{ not json');
    expect(classifyForService(brokenHome, { payload, cwd: worktree, env: { ...hookEnv, RINGMASTER_HOME: brokenHome } })).toMatchObject({ decision: 'check' });
  });
});
