import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestEvents, spoolDir } from '../../src/state/events.js';
import { childSettings } from '../../src/fleet/spawn.js';
import { ensureGateHelper } from '../../src/gate/gate-helper.js';
import { Store } from '../../src/store/store.js';
import { hookArgv, ROOT, tempDir } from '../helpers/fixtures.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newAgent(store: Store, id: string) {
  store.insertAgent({ id, name: id, repo: '/r', baseRef: 'main', baseCommit: 'c', branch: `agent/${id}`, worktreePath: `/w/${id}`, tmuxSocket: null, tmuxSession: `ringmaster-${id}`, agentKind: 'claude', model: null, task: 't', taskPreview: 't' });
  const agentDirectory = join(dir, id);
  mkdirSync(spoolDir(agentDirectory), { recursive: true });
  return agentDirectory;
}

// The hooks run the bash scripts, or the compiled helper (built here as spawn builds it) with the scripts behind it.
let helper: string | undefined;

/** Runs the event's hooks exactly as Claude Code would, with the payload on stdin (PreToolUse: the gate, which records it too); returns what they print. */
function fireHook(agentDirectory: string, payload: Record<string, unknown>): string {
  const settings = childSettings(spoolDir(agentDirectory), join(dir, 'worktrees'), {}, helper) as { hooks: Record<string, Array<{ hooks: Array<{ command: string; args?: string[] }> }>> };
  let stdout = '';
  // As Claude starts a hook: the exec form directly, a command string with sh -c.
  for (const hook of settings.hooks[String(payload.hook_event_name)]![0]!.hooks) {
    stdout += execFileSync(...hookArgv(hook), { input: JSON.stringify(payload), encoding: 'utf8' });
  }
  return stdout;
}

describe.each(['bash', 'compiled'])('hook events: the recorder and ingestion (%s)', (implementation) => {
  beforeAll(() => {
    helper = implementation === 'compiled' ? ensureGateHelper(join(dir, 'build-home')) : undefined;
    if (implementation === 'compiled') expect(helper, 'the compiled hook helper could not be built (is a C compiler on PATH?)').toBeDefined();
  });

  it('records every event in order, with the session and transcript, and empties the spool', () => {
    const store = new Store(join(dir, `a-${implementation}.db`));
    const agentDirectory = newAgent(store, `ag_a_${implementation}`);
    fireHook(agentDirectory, { hook_event_name: 'SessionStart', session_id: 's1', transcript_path: '/t/s1.jsonl', source: 'startup' });
    fireHook(agentDirectory, { hook_event_name: 'UserPromptSubmit', session_id: 's1', transcript_path: '/t/s1.jsonl', prompt: 'do it' });
    fireHook(agentDirectory, { hook_event_name: 'PreToolUse', session_id: 's1', tool_name: 'Write', tool_input: { file_path: '/w/x', content: 'y'.repeat(100_000) } });
    // A payload longer than what the recorder reads with the builtin (2 kB) and a short one, whole.
    const long = 'z'.repeat(5000);
    fireHook(agentDirectory, { hook_event_name: 'PostToolUse', session_id: 's1', tool_name: 'Bash', tool_input: { command: 'echo' }, tool_response: { stdout: long, backgroundTaskId: 'bg-after-5k' } });
    fireHook(agentDirectory, { hook_event_name: 'Stop', session_id: 's1', last_assistant_message: 'done ✓' });
    expect(ingestEvents(store, `ag_a_${implementation}`, agentDirectory)).toBe(5);
    const events = store.recentEvents(`ag_a_${implementation}`).reverse();
    expect(events.map((event) => event.kind)).toEqual(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop']);
    expect(events[1]!.detail).toMatchObject({ prompt: 'do it', session_id: 's1' });
    // Tool inputs are summarised, not stored whole.
    expect(events[2]!.detail).toEqual({ session_id: 's1', tool_name: 'Write', tool_input: { file_path: '/w/x' } });
    expect(events[3]!.detail).toMatchObject({ tool_name: 'Bash', background_task_id: 'bg-after-5k' });
    expect(events[4]!.detail).toMatchObject({ session_id: 's1' });
    expect(store.claudeSession(`ag_a_${implementation}`)).toEqual({ sessionId: 's1', transcriptPath: '/t/s1.jsonl' });
    expect(readdirSync(spoolDir(agentDirectory))).toEqual([]);
    expect(ingestEvents(store, `ag_a_${implementation}`, agentDirectory)).toBe(0);
    store.close();
  });

  it('stores a spooled event once when two processes ingest it, and waits for a file still being written', () => {
    const first = new Store(join(dir, `b-${implementation}.db`));
    const second = new Store(join(dir, `b-${implementation}.db`));
    const agentDirectory = newAgent(first, `ag_b_${implementation}`);
    fireHook(agentDirectory, { hook_event_name: 'Stop', session_id: 's2' });
    writeFileSync(join(spoolDir(agentDirectory), `${Date.now() * 1000 + 999_999}-1.json`), '{"hook_event_name":"Notif');
    expect(ingestEvents(first, `ag_b_${implementation}`, agentDirectory) + ingestEvents(second, `ag_b_${implementation}`, agentDirectory)).toBe(1);
    expect(readdirSync(spoolDir(agentDirectory))).toHaveLength(1);
    first.close();
    second.close();
  });

  it('never fails the hook, even when the spool is gone', () => {
    const settings = childSettings(join(dir, 'missing', 'events'), join(dir, 'worktrees'), {}, helper) as { hooks: Record<string, Array<{ hooks: Array<{ command: string; args?: string[] }> }>> };
    const hook = settings.hooks.Stop![0]!.hooks[0]!;
    // As Claude starts it: the exec form directly, a command string with sh -c.
    expect(() => execFileSync(...hookArgv(hook), { input: '{}' })).not.toThrow();
    if (helper) expect(hook).toEqual({ type: 'command', command: helper, args: ['--record', join(dir, 'missing', 'events')], timeout: 10 });
    else expect(hook.command).toContain(join(ROOT, 'src/hooks/record-event.sh'));
  });

  it("tells the agent why the egress gate refused a connection, once: after an Agent call, at the next call's gate, or at the end of the turn", () => {
    const store = new Store(join(dir, `c-${implementation}.db`));
    const agentId = `ag_c_${implementation}`;
    const agentDirectory = newAgent(store, agentId);
    const notices = join(agentDirectory, 'egress-notices');
    const text = 'refused evil.example.com:443 ("quoted"), a\\b\ttab\nsecond line\n\n';
    const told = 'refused evil.example.com:443 ("quoted"), a\\b tab\nsecond line';
    writeFileSync(notices, text);
    // Events that carry nothing: a turn that already goes on because of a Stop hook, a prompt.
    expect(fireHook(agentDirectory, { hook_event_name: 'Stop', session_id: 's3', stop_hook_active: true })).toBe('');
    expect(fireHook(agentDirectory, { hook_event_name: 'UserPromptSubmit', session_id: 's3', prompt: 'go' })).toBe('');
    expect(readFileSync(notices, 'utf8')).toBe(text);
    // After a call that still has a PostToolUse (Agent): as context for the model.
    const post = JSON.parse(fireHook(agentDirectory, { hook_event_name: 'PostToolUse', session_id: 's3', tool_name: 'Agent', tool_input: { prompt: 'look' } })) as { hookSpecificOutput: unknown };
    expect(post.hookSpecificOutput).toEqual({ hookEventName: 'PostToolUse', additionalContext: told });
    expect(readFileSync(notices, 'utf8')).toBe('');
    expect(fireHook(agentDirectory, { hook_event_name: 'PostToolUse', session_id: 's3', tool_name: 'Agent', tool_input: { prompt: 'again' } })).toBe('');
    // At the next call's gate, beside its decision: an ordinary call goes on with the context...
    writeFileSync(notices, text);
    const pre = JSON.parse(fireHook(agentDirectory, { hook_event_name: 'PreToolUse', session_id: 's3', tool_name: 'Bash', tool_input: { command: 'ls' }, cwd: dir })) as { hookSpecificOutput: Record<string, unknown> };
    expect(pre.hookSpecificOutput).toEqual({ hookEventName: 'PreToolUse', additionalContext: told });
    expect(readFileSync(notices, 'utf8')).toBe('');
    expect(fireHook(agentDirectory, { hook_event_name: 'PreToolUse', session_id: 's3', tool_name: 'Bash', tool_input: { command: 'ls' }, cwd: dir })).toBe('');
    // ...and a denied one is still denied, with the context beside the reason.
    writeFileSync(notices, text);
    const denied = JSON.parse(fireHook(agentDirectory, { hook_event_name: 'PreToolUse', session_id: 's3', tool_name: 'Bash', tool_input: { command: 'ringmaster approve pr_1' }, cwd: dir })) as { hookSpecificOutput: Record<string, unknown> };
    expect(denied.hookSpecificOutput).toMatchObject({ hookEventName: 'PreToolUse', permissionDecision: 'deny', additionalContext: told });
    // At the end of the turn: the Stop hook makes the turn go on with the reason, once.
    writeFileSync(notices, text);
    expect(JSON.parse(fireHook(agentDirectory, { hook_event_name: 'Stop', session_id: 's3', stop_hook_active: false }))).toEqual({ decision: 'block', reason: told });
    expect(fireHook(agentDirectory, { hook_event_name: 'Stop', session_id: 's3', stop_hook_active: false })).toBe('');
    expect(ingestEvents(store, agentId, agentDirectory)).toBe(9);
    store.close();
  });
});
