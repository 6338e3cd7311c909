import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tmux } from '../../src/adapters/tmux.js';
import { ExternalToolError } from '../../src/errors.js';
import { waitUntil } from '../helpers/fixtures.js';

// A private tmux server; never the user's.
const socket = `rm-paste-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const tmux = new Tmux('tmux', socket);
const dir = mkdtempSync(join(process.env.RINGMASTER_TEST_ROOT ?? tmpdir(), 'paste-'));
const raw = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

afterAll(() => {
  try {
    raw('kill-server');
  } catch {
    // no server left
  }
});

/**
 * A pane whose program asks for bracketed paste (as Claude Code does), puts
 * the terminal in raw mode and records the first `bytes` bytes it receives.
 */
async function recordingPane(session: string, bytes: number): Promise<string> {
  const out = join(dir, `${session}.bytes`);
  const ready = join(dir, `${session}.ready`);
  const script = `stty raw -echo; printf '\\033[?2004h'; : > '${ready}'; head -c ${bytes} > '${out}'; sleep 600`;
  await tmux.newSession({ session, cwd: dir, command: ['bash', '-c', script], env: {} });
  await waitUntil(() => existsSync(ready), 10_000, 'the recording pane to be ready');
  return out;
}

describe('tmux paste and look in one process each', () => {
  it('pastes the text as one bracketed paste, then an Enter of its own, in that order', async () => {
    const text = `first line "quoted" 'single' $HOME \`tick\` back\\slash\nsecond line ünï 🎪\nthird`;
    const expected = `\x1b[200~${text.replace(/\n/g, '\r')}\x1b[201~\r`;
    const out = await recordingPane('paste-ok', Buffer.byteLength(expected));
    await tmux.pasteAndEnter('paste-ok', text);
    await waitUntil(() => existsSync(out) && readFileSync(out).length === Buffer.byteLength(expected), 10_000, 'the pane to receive every byte');
    expect(readFileSync(out, 'utf8')).toBe(expected);
    // The paste used its own buffer and deleted it.
    expect(raw('list-buffers')).toBe('');
  });

  it('fails with a clear error for a session that is gone, pressing nothing and leaving no buffer behind', async () => {
    await expect(tmux.pasteAndEnter('no-such-session', 'hello')).rejects.toThrow(ExternalToolError);
    await expect(tmux.pasteAndEnter('no-such-session', 'hello')).rejects.toThrow(/paste-buffer failed: .*no-such-session/);
    expect(raw('list-buffers')).toBe('');
  });

  it('reads a pane and its screen together, as the separate calls do', async () => {
    await tmux.newSession({ session: 'look', cwd: dir, command: ['bash', '-c', 'printf "one\\ntwo   \\n\\n"; sleep 600'], env: {} });
    await waitUntil(async () => ((await tmux.capturePane('look')) ?? '').includes('two'), 10_000, 'the pane to print');
    const look = await tmux.paneAndScreen('look');
    expect(look).toBeDefined();
    expect(look!.pane).toEqual(await tmux.pane('look'));
    expect(look!.pane).toMatchObject({ paneDead: false, deadStatus: null });
    expect(look!.screen).toBe(await tmux.capturePane('look'));
    expect(look!.screen).toBe('one\ntwo');

    // A dead pane (sessions keep it: remain-on-exit) reads as dead. tmux 3.3a may lose the exit
    // status of a fast exit (launch.sh records it for agents), so only a status it has must be right.
    await tmux.newSession({ session: 'dead', cwd: dir, command: ['bash', '-c', 'sleep 0.3; exit 3'], env: {} });
    const dead = await waitUntil(async () => {
      const now = await tmux.paneAndScreen('dead');
      return now?.pane.paneDead ? now : undefined;
    }, 10_000, 'the pane to die');
    expect(dead.pane.panePid).toBe((await tmux.pane('dead'))!.panePid);
    expect([3, null]).toContain(dead.pane.deadStatus);

    expect(await tmux.paneAndScreen('no-such-session')).toBeUndefined();
  });
});
