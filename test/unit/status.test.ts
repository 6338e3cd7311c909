import { describe, expect, it } from 'vitest';
import { deriveStatus, type StatusSignals } from '../../src/state/status.js';
import type { StoredEvent } from '../../src/store/store.js';

const NOW = 1_800_000_000_000;
const pane = { panePid: 42, paneDead: false, deadStatus: null, currentCommand: 'bash' };
let nextId = 1;
/** Events oldest first, as they happen; deriveStatus wants newest first. */
function events(...list: Array<[string, Record<string, unknown>?, number?]>): StoredEvent[] {
  return list
    .map(([kind, detail = {}, ago = 0], index) => ({ id: nextId++, at: NOW - 10_000 + index * 100 - ago, kind, detail, fromHook: true }))
    .reverse();
}
const signals = (overrides: Partial<StatusSignals>): StatusSignals => ({ kind: 'claude', pane, processAlive: true, events: [], createdAt: NOW - 20_000, now: NOW, ...overrides });

describe('deriveStatus', () => {
  it('is starting until Claude takes the task, then unknown if it never does', () => {
    expect(deriveStatus(signals({})).state).toBe('starting');
    expect(deriveStatus(signals({ events: events(['SessionStart', { source: 'startup' }]) })).state).toBe('starting');
    const stuck = deriveStatus(signals({ createdAt: NOW - 120_000 }));
    expect(stuck.state).toBe('unknown');
    expect(stuck.reason).toMatch(/no hook event arrived in 120 s/);
  });

  it('follows a turn: prompt, tools, subagents, stop', () => {
    const turn = events(['SessionStart', { source: 'startup' }], ['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Bash' }]);
    expect(deriveStatus(signals({ events: turn }))).toMatchObject({ state: 'working', currentTool: 'Bash', since: turn[0]!.at });
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Task' }], ['SubagentStop']) })).state).toBe('working');
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['PostToolUse', { tool_name: 'Bash' }]) })).state).toBe('working');
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['Stop']) })).state).toBe('idle');
  });

  it('tells a permission prompt from a question', () => {
    const permission = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Bash' }], ['PermissionRequest', { tool_name: 'Bash' }], ['Notification', { notification_type: 'permission_prompt', message: 'Claude needs your permission' }]);
    expect(deriveStatus(signals({ events: permission }))).toMatchObject({ state: 'waiting_permission', reason: expect.stringMatching(/on Bash/) });
    const question = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'AskUserQuestion' }], ['Notification', { notification_type: 'permission_prompt' }]);
    expect(deriveStatus(signals({ events: question })).state).toBe('waiting_input');
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['Notification', { notification_type: 'elicitation_dialog' }]) })).state).toBe('waiting_input');
    // A notification that says nothing about the turn keeps the state before it.
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['Notification', { notification_type: 'other' }]) })).state).toBe('working');
  });

  it('believes the session file over the hooks after an Esc, and only then', () => {
    const turn = events(['UserPromptSubmit']);
    const interrupted = deriveStatus(signals({ events: turn, sessionFile: { pid: 42, status: 'idle', statusUpdatedAt: turn[0]!.at + 500 } }));
    expect(interrupted).toMatchObject({ state: 'idle', since: turn[0]!.at + 500, reason: expect.stringMatching(/interrupted/) });
    // An idle written before the prompt is stale: the turn is running.
    expect(deriveStatus(signals({ events: turn, sessionFile: { pid: 42, status: 'idle', statusUpdatedAt: turn[0]!.at - 500 } })).state).toBe('working');
    expect(deriveStatus(signals({ events: turn, sessionFile: { pid: 42, status: 'busy', statusUpdatedAt: turn[0]!.at + 500 } })).state).toBe('working');
  });

  it('puts process and pane facts above every event', () => {
    const busy = events(['UserPromptSubmit']);
    expect(deriveStatus(signals({ pane: undefined, events: busy }))).toMatchObject({ state: 'exited', reason: expect.stringMatching(/tmux session no longer exists/) });
    expect(deriveStatus(signals({ pane: { ...pane, paneDead: true, deadStatus: 2 }, events: busy }))).toMatchObject({ state: 'exited', exitStatus: 2 });
    expect(deriveStatus(signals({ processAlive: false, exitStatus: 137, events: busy }))).toMatchObject({ state: 'exited', exitStatus: 137, reason: 'the agent process exited with status 137' });
    expect(deriveStatus(signals({ events: events(['Stop'], ['SessionEnd', { reason: 'logout' }]) })).state).toBe('exited');
    expect(deriveStatus(signals({ events: events(['Stop'], ['SessionEnd', { reason: 'clear' }]) })).state).toBe('idle');
    expect(deriveStatus(signals({ events: busy, pendingPermission: { since: NOW - 5, what: 'aws s3 ls' } })).state).toBe('waiting_permission');
  });

  it('never guesses for CLIs without events', () => {
    const codex = deriveStatus(signals({ kind: 'codex', events: [] }));
    expect(codex.state).toBe('unknown');
    expect(codex.reason).toMatch(/cannot be known/);
    expect(deriveStatus(signals({ kind: 'codex', processAlive: false })).state).toBe('exited');
  });
});
