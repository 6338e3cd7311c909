import { describe, expect, it } from 'vitest';
import { deriveStatus, emptyFold, foldEvents, statusFromFold, type StatusSignals } from '../../src/state/status.js';
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
    // The turn began at the prompt: later events of the same turn don't move `since`.
    expect(deriveStatus(signals({ events: turn }))).toMatchObject({ state: 'working', currentTool: 'Bash', since: turn[1]!.at, sinceExact: true });
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

  it('keeps `since` at the start of a state however many events follow, and says when it cannot know it', () => {
    const calls: Array<[string, Record<string, unknown>?]> = [['UserPromptSubmit']];
    for (let index = 0; index < 40; index++) calls.push(['PreToolUse', { tool_name: 'Bash' }], ['PostToolUse', { tool_name: 'Bash' }]);
    const long = events(...calls);
    const status = deriveStatus(signals({ events: long }));
    expect(status).toMatchObject({ state: 'working', since: long[long.length - 1]!.at, sinceExact: true });
    // Only the newest events were read: the turn began earlier than they show.
    expect(deriveStatus(signals({ events: long.slice(0, 20), eventsTruncated: true })).sinceExact).toBe(false);
    const idle = events(['UserPromptSubmit'], ['Stop'], ['Notification', { notification_type: 'other' }]);
    expect(deriveStatus(signals({ events: idle }))).toMatchObject({ state: 'idle', since: idle[1]!.at });
  });

  it('is spawning while spawn_agent runs, whatever tmux says, and unknown when that spawn died', () => {
    expect(deriveStatus(signals({ recordState: 'spawning', pane: undefined, processAlive: false }))).toMatchObject({ state: 'spawning', since: NOW - 20_000 });
    expect(deriveStatus(signals({ recordState: 'spawning', spawnAbandoned: true, pane: undefined })).state).toBe('unknown');
    expect(deriveStatus(signals({ recordState: 'running', pane: undefined })).state).toBe('exited');
  });

  it('goes idle when a permission dialog or a question is dismissed with Esc (no hook; the session file says idle)', () => {
    const permission = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Bash' }], ['PermissionRequest', { tool_name: 'Bash' }], ['Notification', { notification_type: 'permission_prompt' }]);
    const waiting = { pid: 42, status: 'waiting', statusUpdatedAt: permission[0]!.at + 10 };
    expect(deriveStatus(signals({ events: permission, sessionFile: waiting })).state).toBe('waiting_permission');
    const dismissed = deriveStatus(signals({ events: permission, sessionFile: { pid: 42, status: 'idle', statusUpdatedAt: permission[0]!.at + 900 } }));
    expect(dismissed).toMatchObject({ state: 'idle', since: permission[0]!.at + 900, reason: expect.stringMatching(/permission dialog was dismissed/) });
    const question = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'AskUserQuestion' }], ['PermissionRequest', { tool_name: 'AskUserQuestion' }]);
    expect(deriveStatus(signals({ events: question, sessionFile: { pid: 42, status: 'idle', statusUpdatedAt: question[0]!.at + 70 } }))).toMatchObject({ state: 'idle', reason: expect.stringMatching(/question was dismissed/) });
  });

  it('stays working while a background subagent runs after the turn, until Claude has taken its result', () => {
    const agent = { agent_id: 'a1', agent_type: 'general-purpose' };
    const running = [{ id: 'a1', type: 'subagent', status: 'running', description: 'sub' }];
    const launched: Array<[string, Record<string, unknown>?]> = [
      ['UserPromptSubmit', { prompt: 'go' }],
      ['PreToolUse', { tool_name: 'Agent' }],
      ['SubagentStart', agent],
      ['PostToolUse', { tool_name: 'Agent', async_agent_id: 'a1' }],
      ['Stop', { background_tasks: running }],
    ];
    const afterStop = events(...launched);
    expect(deriveStatus(signals({ events: afterStop }))).toMatchObject({ state: 'working', reason: '1 background subagent running', since: afterStop[afterStop.length - 1]!.at });
    // The subagent's own tool calls say nothing about the main turn; the session file stays busy meanwhile.
    const subTools = events(...launched, ['PreToolUse', { tool_name: 'Bash', ...agent }], ['PostToolUse', { tool_name: 'Bash', ...agent }]);
    expect(deriveStatus(signals({ events: subTools, sessionFile: { pid: 42, status: 'busy', statusUpdatedAt: NOW - 1 } }))).toMatchObject({ state: 'working', reason: '1 background subagent running' });
    // Its end: SubagentStop, then a moment of idle in the session file, then the task-notification turn, then Stop with nothing left.
    const ended = events(...launched, ['SubagentStop', { ...agent, background_tasks: running }]);
    const briefIdle = { pid: 42, status: 'idle', statusUpdatedAt: NOW - 100 };
    expect(deriveStatus(signals({ events: ended, sessionFile: briefIdle }))).toMatchObject({ state: 'working', reason: expect.stringMatching(/1 background task finished/) });
    const notified = events(...launched, ['SubagentStop', agent], ['UserPromptSubmit', { prompt: '<task-notification>\n<task-id>a1</task-id>\n<status>completed</status>' }]);
    expect(deriveStatus(signals({ events: notified })).state).toBe('working');
    const done = events(...launched, ['SubagentStop', agent], ['UserPromptSubmit', { prompt: '<task-notification>\n<task-id>a1</task-id>' }], ['Stop', { background_tasks: [] }]);
    expect(deriveStatus(signals({ events: done }))).toMatchObject({ state: 'idle', reason: 'the turn finished' });
    // The working run began at the first prompt and never broke.
    expect(deriveStatus(signals({ events: notified })).since).toBe(notified[notified.length - 1]!.at);
    // A lasting idle in the session file ends background work that never announced its end.
    expect(deriveStatus(signals({ events: afterStop, sessionFile: { pid: 42, status: 'idle', statusUpdatedAt: NOW - 2_000 } })).state).toBe('idle');
    // A foreground subagent (background tasks off) ends with its SubagentStop.
    const foreground = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Agent' }], ['SubagentStart', agent], ['SubagentStop', agent], ['PostToolUse', { tool_name: 'Agent' }], ['Stop', { background_tasks: [] }]);
    expect(deriveStatus(signals({ events: foreground })).state).toBe('idle');
  });

  it('counts several background subagents and backgrounded commands', () => {
    const list = events(
      ['UserPromptSubmit', { prompt: 'go' }],
      ['SubagentStart', { agent_id: 'a1' }],
      ['SubagentStart', { agent_id: 'a2' }],
      ['PostToolUse', { tool_name: 'Bash', background_task_id: 'b1', tool_input: { description: 'sleep' } }],
      ['Stop', { background_tasks: [{ id: 'a1', type: 'subagent', status: 'running' }, { id: 'a2', type: 'subagent', status: 'running' }, { id: 'b1', type: 'shell', status: 'running' }] }],
    );
    expect(deriveStatus(signals({ events: list, sessionFile: { pid: 42, status: 'shell', statusUpdatedAt: NOW - 5 } }))).toMatchObject({ state: 'working', reason: '2 background subagents running, 1 background command running' });
    const shellOnly = events(['UserPromptSubmit'], ['PostToolUse', { tool_name: 'Bash', background_task_id: 'b1' }], ['Stop', { background_tasks: [{ id: 'b1', type: 'shell', status: 'running' }] }]);
    expect(deriveStatus(signals({ events: shellOnly })).reason).toBe('1 background command running');
    // Listed as done but not yet taken by Claude: still working until the notification turn.
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['Stop', { background_tasks: [{ id: 'b2', type: 'shell', status: 'completed' }] }]) })).reason).toMatch(/1 background task finished/);
    // Compaction inside a turn does not end it.
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Bash' }], ['SessionStart', { source: 'compact' }]) })).state).toBe('working');
    const shellDone = events(['UserPromptSubmit'], ['PostToolUse', { tool_name: 'Bash', background_task_id: 'b1' }], ['Stop', { background_tasks: [{ id: 'b1', type: 'shell', status: 'running' }] }], ['UserPromptSubmit', { prompt: '<task-notification>\n<task-id>b1</task-id>' }], ['Stop', { background_tasks: [] }]);
    expect(deriveStatus(signals({ events: shellDone })).state).toBe('idle');
  });

  it('with no PostToolUse for a call, its result in the transcript ends it: the tool is no longer "running"', () => {
    const turn = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Bash', tool_use_id: 'toolu_1', transcript_path: '/t/main.jsonl' }]);
    const running = deriveStatus(signals({ events: turn }));
    expect(running).toMatchObject({ state: 'working', currentTool: 'Bash', reason: 'running tool Bash' });
    const finished = deriveStatus(signals({ events: turn, toolFinished: true }));
    expect(finished).toMatchObject({ state: 'working', reason: 'finished tool Bash; the turn continues', since: running.since });
    expect(finished.currentTool).toBeUndefined();
    // The fold names the call and the transcript it will be in (a subagent's call names its agent instead).
    const fold = foldEvents(emptyFold(), [...turn].reverse());
    expect(fold.turn).toMatchObject({ toolUseId: 'toolu_1', pendingTool: 'Bash' });
    expect(fold.transcriptPath).toBe('/t/main.jsonl');
    const sub = foldEvents(emptyFold(), [...events(['UserPromptSubmit', { transcript_path: '/t/main.jsonl' }], ['PreToolUse', { tool_name: 'Read', tool_use_id: 'toolu_2', agent_id: 'a9', transcript_path: '/t/other.jsonl' }])].reverse());
    expect(sub.turn).toMatchObject({ toolUseId: 'toolu_2', toolAgentId: 'a9' });
    expect(sub.transcriptPath).toBe('/t/main.jsonl');
    // A Stop ends the call whatever the transcript says.
    expect(foldEvents(emptyFold(), [...events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Bash', tool_use_id: 'toolu_3' }], ['Stop'])].reverse()).turn.toolUseId).toBeUndefined();
  });

  it("leaves Claude's own permission dialog or question when the session file turns busy after it", () => {
    const asked = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'WebFetch', tool_use_id: 'toolu_4' }], ['PermissionRequest', { tool_name: 'WebFetch' }], ['Notification', { notification_type: 'permission_prompt' }]);
    const lastAt = asked[0]!.at;
    expect(deriveStatus(signals({ events: asked, sessionFile: { pid: 42, status: 'waiting', statusUpdatedAt: lastAt + 50 } })).state).toBe('waiting_permission');
    // A busy file from before the dialog says nothing.
    expect(deriveStatus(signals({ events: asked, sessionFile: { pid: 42, status: 'busy', statusUpdatedAt: lastAt - 5_000 } })).state).toBe('waiting_permission');
    const granted = deriveStatus(signals({ events: asked, sessionFile: { pid: 42, status: 'busy', statusUpdatedAt: lastAt + 3_000 } }));
    expect(granted).toMatchObject({ state: 'working', since: lastAt + 3_000, sinceExact: true, reason: 'the dialog was answered; the turn goes on (Claude reports busy)' });
    // The call's result alone does not end a dialog: Esc on it writes a refusal as the result, then the file turns idle.
    expect(deriveStatus(signals({ events: asked, toolFinished: true })).state).toBe('waiting_permission');
    expect(deriveStatus(signals({ events: asked, toolFinished: true, sessionFile: { pid: 42, status: 'idle', statusUpdatedAt: lastAt + 300 } }))).toMatchObject({ state: 'idle', reason: expect.stringMatching(/permission dialog was dismissed/) });
    const question = events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'AskUserQuestion', tool_use_id: 'toolu_5' }], ['PermissionRequest', { tool_name: 'AskUserQuestion' }]);
    expect(deriveStatus(signals({ events: question, sessionFile: { pid: 42, status: 'busy', statusUpdatedAt: question[0]!.at + 2_000 } }))).toMatchObject({ state: 'working', reason: expect.stringMatching(/^the question was answered/) });
  });

  it('knows a backgrounded command from its PreToolUse until the Stop names its task', () => {
    const started: Array<[string, Record<string, unknown>?]> = [
      ['UserPromptSubmit', { prompt: 'go' }],
      ['PreToolUse', { tool_name: 'Bash', tool_use_id: 'toolu_6', tool_input: { command: 'npm run watch', description: 'watch', run_in_background: true } }],
    ];
    expect(deriveStatus(signals({ events: events(...started) }))).toMatchObject({ state: 'working', reason: 'running tool Bash; 1 background command running' });
    // The Stop's own list replaces the announcement (no double count).
    const listed = events(...started, ['Stop', { background_tasks: [{ id: 'bash_1', type: 'shell', status: 'running', description: 'watch' }] }]);
    expect(deriveStatus(signals({ events: listed }))).toMatchObject({ state: 'working', reason: '1 background command running' });
    expect(foldEvents(emptyFold(), [...listed].reverse()).background.has('bash_1')).toBe(true);
    const over = events(...started, ['Stop', { background_tasks: [{ id: 'bash_1', type: 'shell', status: 'running' }] }], ['UserPromptSubmit', { prompt: '<task-notification>\n<task-id>bash_1</task-id>' }], ['Stop', { background_tasks: [] }]);
    expect(deriveStatus(signals({ events: over }))).toMatchObject({ state: 'idle', reason: 'the turn finished' });
    // A Claude whose Stop lists no tasks: the task-notification turn ends the announced command.
    const unlisted = events(...started, ['Stop'], ['UserPromptSubmit', { prompt: '<task-notification>\n<task-id>bash_9</task-id>' }], ['Stop']);
    expect(deriveStatus(signals({ events: unlisted })).state).toBe('idle');
    // A foreground call announces nothing; neither does a subagent's.
    expect(deriveStatus(signals({ events: events(['UserPromptSubmit'], ['PreToolUse', { tool_name: 'Bash', tool_use_id: 'toolu_7', tool_input: { command: 'ls' } }], ['Stop']) })).state).toBe('idle');
  });

  it('folds incrementally to the same status as folding everything at once', () => {
    const all = events(
      ['SessionStart', { source: 'startup' }],
      ['UserPromptSubmit', { prompt: 'go' }],
      ['SubagentStart', { agent_id: 'a1' }],
      ['PostToolUse', { tool_name: 'Agent', async_agent_id: 'a1' }],
      ['Stop', { background_tasks: [{ id: 'a1', type: 'subagent', status: 'running' }] }],
      ['PreToolUse', { tool_name: 'Bash', agent_id: 'a1' }],
      ['SubagentStop', { agent_id: 'a1' }],
      ['UserPromptSubmit', { prompt: '<task-notification><task-id>a1</task-id>' }],
      ['Stop', { background_tasks: [] }],
    ).reverse();
    const whole = deriveStatus(signals({ events: [...all].reverse() }));
    for (let cut = 1; cut < all.length; cut++) {
      const fold = foldEvents(emptyFold(), all.slice(0, cut));
      const before = statusFromFold(fold, undefined, NOW);
      foldEvents(fold, all.slice(cut));
      const after = statusFromFold(fold, undefined, NOW);
      expect({ state: after.state, since: after.since, reason: after.reason }).toEqual({ state: whole.state, since: whole.since, reason: whole.reason });
      expect(before.state).toBe(cut < 8 ? (cut < 2 ? 'starting' : 'working') : 'working');
    }
  });
});
