import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestEvents, spoolDir } from '../../src/state/events.js';
import { childSettings } from '../../src/fleet/spawn.js';
import { Store } from '../../src/store/store.js';
import { ROOT, tempDir } from '../helpers/fixtures.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newAgent(store: Store, id: string) {
  store.insertAgent({ id, name: id, repo: '/r', baseRef: 'main', baseCommit: 'c', branch: `agent/${id}`, worktreePath: `/w/${id}`, tmuxSocket: null, tmuxSession: `ringmaster-${id}`, agentKind: 'claude', model: null, task: 't', taskPreview: 't' });
  const agentDirectory = join(dir, id);
  mkdirSync(spoolDir(agentDirectory), { recursive: true });
  return agentDirectory;
}

/** Runs the event's hooks exactly as Claude Code would, with the payload on stdin (PreToolUse: the gate, which records it too). */
function fireHook(agentDirectory: string, payload: Record<string, unknown>) {
  const settings = childSettings(spoolDir(agentDirectory), join(dir, 'worktrees')) as { hooks: Record<string, Array<{ hooks: Array<{ command: string }> }>> };
  for (const hook of settings.hooks[String(payload.hook_event_name)]![0]!.hooks) execFileSync('sh', ['-c', hook.command], { input: JSON.stringify(payload) });
}

describe('hook events: the recorder and ingestion', () => {
  it('records every event in order, with the session and transcript, and empties the spool', () => {
    const store = new Store(join(dir, 'a.db'));
    const agentDirectory = newAgent(store, 'ag_a');
    fireHook(agentDirectory, { hook_event_name: 'SessionStart', session_id: 's1', transcript_path: '/t/s1.jsonl', source: 'startup' });
    fireHook(agentDirectory, { hook_event_name: 'UserPromptSubmit', session_id: 's1', transcript_path: '/t/s1.jsonl', prompt: 'do it' });
    fireHook(agentDirectory, { hook_event_name: 'PreToolUse', session_id: 's1', tool_name: 'Write', tool_input: { file_path: '/w/x', content: 'y'.repeat(100_000) } });
    // A payload longer than what the recorder reads with the builtin (2 kB) and a short one, whole.
    const long = 'z'.repeat(5000);
    fireHook(agentDirectory, { hook_event_name: 'PostToolUse', session_id: 's1', tool_name: 'Bash', tool_input: { command: 'echo' }, tool_response: { stdout: long, backgroundTaskId: 'bg-after-5k' } });
    fireHook(agentDirectory, { hook_event_name: 'Stop', session_id: 's1', last_assistant_message: 'done ✓' });
    expect(ingestEvents(store, 'ag_a', agentDirectory)).toBe(5);
    const events = store.recentEvents('ag_a').reverse();
    expect(events.map((event) => event.kind)).toEqual(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop']);
    expect(events[1]!.detail).toMatchObject({ prompt: 'do it', session_id: 's1' });
    // Tool inputs are summarised, not stored whole.
    expect(events[2]!.detail).toEqual({ session_id: 's1', tool_name: 'Write', tool_input: { file_path: '/w/x' } });
    expect(events[3]!.detail).toMatchObject({ tool_name: 'Bash', background_task_id: 'bg-after-5k' });
    expect(events[4]!.detail).toMatchObject({ session_id: 's1' });
    expect(store.claudeSession('ag_a')).toEqual({ sessionId: 's1', transcriptPath: '/t/s1.jsonl' });
    expect(readdirSync(spoolDir(agentDirectory))).toEqual([]);
    expect(ingestEvents(store, 'ag_a', agentDirectory)).toBe(0);
    store.close();
  });

  it('stores a spooled event once when two processes ingest it, and waits for a file still being written', () => {
    const first = new Store(join(dir, 'b.db'));
    const second = new Store(join(dir, 'b.db'));
    const agentDirectory = newAgent(first, 'ag_b');
    fireHook(agentDirectory, { hook_event_name: 'Stop', session_id: 's2' });
    writeFileSync(join(spoolDir(agentDirectory), `${Date.now() * 1000 + 999_999}-1.json`), '{"hook_event_name":"Notif');
    expect(ingestEvents(first, 'ag_b', agentDirectory) + ingestEvents(second, 'ag_b', agentDirectory)).toBe(1);
    expect(readdirSync(spoolDir(agentDirectory))).toHaveLength(1);
    first.close();
    second.close();
  });

  it('never fails the hook, even when the spool is gone', () => {
    const settings = childSettings(join(dir, 'missing', 'events'), join(dir, 'worktrees')) as { hooks: Record<string, Array<{ hooks: Array<{ command: string }> }>> };
    const command = settings.hooks.Stop![0]!.hooks[0]!.command;
    expect(() => execFileSync('sh', ['-c', command], { input: '{}' })).not.toThrow();
    expect(command).toContain(join(ROOT, 'src/hooks/record-event.sh'));
  });
});
