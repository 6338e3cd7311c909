import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Tmux } from '../../src/adapters/tmux.js';
import { waitUntil } from '../helpers/fixtures.js';

/**
 * listPanes reuses its last answer while the tmux server's child processes
 * are the same. Every change a status depends on must still show on the next
 * look, including changes made behind the adapter's back (a human's tmux
 * command), on a private tmux server.
 */
const socket = `rm-panes-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const raw = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

afterEach(() => {
  try {
    raw('kill-server');
  } catch {
    // already gone
  }
});

describe("the fleet's pane list", () => {
  it('sees sessions started, ended, respawned and killed outside the adapter on the very next look', async () => {
    const tmux = new Tmux('tmux', socket);
    expect((await tmux.listPanes()).size).toBe(0);
    await tmux.newSession({ session: 'one', cwd: '/tmp', command: ['sleep', '600'], env: {} });
    const first = await tmux.listPanes();
    expect([...first.keys()]).toEqual(['one']);
    expect(first.get('one')).toMatchObject({ paneDead: false });

    // Nothing changed: the same answer (served from the snapshot).
    expect(await tmux.listPanes()).toEqual(first);

    // A session made by hand, not through the adapter, whose process ignores the hangup a killed session sends.
    raw('new-session', '-d', '-s', 'two', 'trap "" HUP; sleep 600');
    expect([...(await tmux.listPanes()).keys()].sort()).toEqual(['one', 'two']);

    // Its process ends; the pane stays (remain-on-exit) and is dead, with its status.
    raw('set-option', '-w', '-t', '=one:', 'remain-on-exit', 'on');
    const pid = first.get('one')!.panePid;
    process.kill(pid, 'SIGTERM');
    await waitUntil(async () => (await tmux.listPanes()).get('one')?.paneDead === true, 10_000, 'the pane to show dead');

    // Respawned by hand: a new process, alive again.
    raw('respawn-pane', '-k', '-t', '=one:', 'sleep 600');
    const respawned = (await tmux.listPanes()).get('one')!;
    expect(respawned.paneDead).toBe(false);
    expect(respawned.panePid).not.toBe(pid);

    // A live session killed by hand is gone at once, though its process lives on as the server's child.
    raw('kill-session', '-t', '=two');
    expect([...(await tmux.listPanes()).keys()]).toEqual(['one']);
  });

  it('drops a session whose pane had already ended once it is killed by hand (within a second)', async () => {
    const tmux = new Tmux('tmux', socket);
    raw('new-session', '-d', '-s', 'keep', 'sleep 600');
    raw('new-session', '-d', '-s', 'done', 'sleep 600');
    raw('set-option', '-w', '-t', '=done:', 'remain-on-exit', 'on');
    raw('respawn-pane', '-k', '-t', '=done:', 'exit 3');
    // (tmux does not always reap a respawned pane's process at once, so its exit status may stay unknown.)
    await waitUntil(async () => (await tmux.listPanes()).get('done')?.paneDead === true, 10_000, 'the pane to end');
    // Killing a dead pane's session changes no process of the server: the snapshot must not outlive a second.
    raw('kill-session', '-t', '=done');
    await waitUntil(async () => !(await tmux.listPanes()).has('done'), 3_000, 'the killed session to leave the list');
    expect([...(await tmux.listPanes()).keys()]).toEqual(['keep']);
  });

  it('answers empty when the server stops, and sees a new server with the same socket', async () => {
    const tmux = new Tmux('tmux', socket);
    raw('new-session', '-d', '-s', 'old', 'sleep 600');
    expect([...(await tmux.listPanes()).keys()]).toEqual(['old']);
    raw('kill-server');
    expect((await tmux.listPanes()).size).toBe(0);
    raw('new-session', '-d', '-s', 'new', 'sleep 600');
    expect([...(await tmux.listPanes()).keys()]).toEqual(['new']);
  });
});
