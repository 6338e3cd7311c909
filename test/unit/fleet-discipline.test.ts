import { describe, expect, it } from 'vitest';
import { renderFleet } from '../../src/cockpit/render.js';
import { budgetNotice, noticeFor } from '../../src/notify/notices.js';
import { fingerprintOf } from '../../src/state/stall.js';

describe('stall fingerprint of a screen', () => {
  const screen = (spinner: string, body = 'I will read the file now.') => `╭────╮\n│ > fix it │\n╰────╯\n⏺ ${body}\n\n${spinner}\n\n> \n  ? for shortcuts`;

  it("ignores Claude's spinner line, its clock and token count", () => {
    expect(fingerprintOf(screen('✻ Thinking… (3s · ↓ 12 tokens · esc to interrupt)'))).toBe(fingerprintOf(screen('✽ Thinking… (41s · ↓ 12 tokens · esc to interrupt)')));
  });

  it('changes when the agent writes something new', () => {
    expect(fingerprintOf(screen('✻ Thinking… (3s · esc to interrupt)'))).not.toBe(fingerprintOf(screen('✻ Thinking… (3s · esc to interrupt)', 'Now editing src/a.ts.')));
  });
});

describe('stall fingerprint of a real Claude Code 2.1 screen', () => {
  // As captured from a child whose model request hangs: the clock appears
  // after a few seconds, the effort hint and the agents hint go away.
  const rule = '─'.repeat(120);
  const claude = (conversation: string[], zone: string[]) =>
    [' ▐▛███▛█   Claude Code v2.1.329', '▝▜██████▀  Opus 5.5 · API Usage Billing', '', '❯ Start, then go silent.', ...conversation, '', '', ...zone, rule, '❯  ', rule, '  ⏵⏵ auto mode on (shift+tab to cycle) · esc to interrupt'].join('\n');
  const early = claude([], ['✽ Scurrying…                  ', '                                   ◐ medium · /effort']);
  const later = claude([], ['* Scurrying… (1m 16s)            ']);

  it('is the same while only the live status zone changes', () => {
    expect(fingerprintOf(early)).toBe(fingerprintOf(later));
    expect(fingerprintOf(early.replace('esc to interrupt', 'esc to interrupt · ← for agents'))).toBe(fingerprintOf(later));
  });

  it('changes when the conversation above the zone changes', () => {
    expect(fingerprintOf(claude(['⏺ Bash(npm test)', '  ⎿  Running…'], ['* Scurrying… (1m 16s)']))).not.toBe(fingerprintOf(later));
  });

  it("ignores a running tool's blinking dot and its timers (Claude Code 2.1.329, a Bash call that prints nothing)", () => {
    const command = '  ⎿  $ for i in 1 2 3; do sleep 3; done';
    const tick = claude(['● Waiting a while · 23s', `${command} (24s)`, '     (ctrl+b ctrl+b (twice) to run in background)'], ['· Tinkering… (25s · ↓ 51 tokens)']);
    const tock = claude(['  Waiting a while · 25s', `${command} (26s)`, '     (ctrl+b ctrl+b (twice) to run in background)'], ['· Tinkering… (27s · ↓ 51 tokens)']);
    expect(fingerprintOf(tick)).toBe(fingerprintOf(tock));
  });

  it("ignores a running tool's own timer, but counts a moving percentage as progress", () => {
    const running = (status: string) => claude(['⏺ Bash(npm ci)', `  ⎿  ${status}`], ['* Scurrying… (1m 16s)']);
    expect(fingerprintOf(running('Running… (5s · timeout 10m)'))).toBe(fingerprintOf(running('Running… (1m 12s · timeout 10m)')));
    expect(fingerprintOf(running('Running… 12:00:01'))).toBe(fingerprintOf(running('Running… 12:04:59')));
    expect(fingerprintOf(running('added 120 packages, 45% done'))).not.toBe(fingerprintOf(running('added 120 packages, 46% done')));
  });

  it('keeps a screen with no input box and no spinner whole (another CLI)', () => {
    expect(fingerprintOf('$ make\nbuilding a.o')).not.toBe(fingerprintOf('$ make\nbuilding b.o'));
  });
});

describe('notices for stalls and budgets', () => {
  it('tells the human about a stall once the status turns stalled', () => {
    const notice = noticeFor({ name: 'a', id: 'ag_1', from: 'working', to: { state: 'stalled', since: '2026-01-01T00:00:00.000Z', secondsInState: 900, reason: 'no progress for 900 s', exitStatus: null, currentTool: null } });
    expect(notice).toMatchObject({ kind: 'stalled', title: 'a is stalled', message: 'no progress for 900 s. Look with: ringmaster peek a' });
  });

  it('rings loud for a hold and says how to approve more', () => {
    expect(budgetNotice({ name: 'a', id: 'ag_1', kind: 'held', reason: '110 of 100 tokens' })).toMatchObject({
      kind: 'budget',
      urgent: true,
      title: 'a reached its budget and is held',
      message: '110 of 100 tokens. Approve more with: ringmaster budget approve a --usd <dollars>',
    });
    expect(budgetNotice({ name: 'a', id: 'ag_1', kind: 'warning', reason: '80%' }).urgent).toBe(false);
  });
});

describe('watch shows the queue and budget holds', () => {
  it('lists queued spawns with their place and why, and a held agent with how to let it go', () => {
    const lines = renderFleet(
      {
        rows: [
          {
            id: 'ag_1',
            name: 'spender',
            agent: 'claude',
            status: { state: 'idle', since: '2026-01-01T00:00:00.000Z', secondsInState: 5, reason: 'the turn finished', exitStatus: null, currentTool: null },
            costUsd: 1.5,
            lastMessage: 'done',
            pending: undefined,
            heldAtBudget: '$1.50 of $1.00 of its own budget',
          },
        ],
        pending: [],
        queued: [
          { queueId: 1, id: 'ag_2', name: 'next', repo: '/r', branch: 'agent/next', state: 'queued', position: 1, after: [], baseAfter: false, reason: '2 agents are live, the cap is 2', createdAt: '', taskPreview: 't' },
          { queueId: 2, id: 'ag_3', name: 'broken', repo: '/r', branch: 'agent/broken', state: 'failed', position: null, after: [], baseAfter: false, reason: 'could not start: boom', createdAt: '', taskPreview: 't' },
        ],
        at: Date.parse('2026-01-01T00:00:05.000Z'),
      },
      { selected: 0 },
      { columns: 160, rows: 40 },
      false,
    );
    expect(lines.find((line) => line.includes('spender'))).toMatch(/HELD AT BUDGET: \$1\.50 of \$1\.00 of its own budget \(ringmaster budget approve spender\)/);
    const queued = lines.indexOf('QUEUED (2)');
    expect(queued).toBeGreaterThan(0);
    expect(lines[queued + 1]).toMatch(/^ {2}#1 +next +2 agents are live, the cap is 2$/);
    expect(lines[queued + 2]).toMatch(/^ {2}failed +broken +could not start: boom$/);
  });
});
