import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { runProcess } from './run.js';
import { ExternalToolError } from '../errors.js';

export interface PaneInfo {
  panePid: number;
  paneDead: boolean;
  /** The exit status of a dead pane's process (sessions keep dead panes: remain-on-exit). */
  deadStatus: number | null;
  currentCommand: string;
}

/**
 * The tmux adapter. `socket` selects the server: unset is the user's default
 * server, a bare name is `-L name`, a path is `-S path`. Tests always pass a
 * private socket so they never touch the user's server.
 */
export class Tmux {
  constructor(
    readonly command = 'tmux',
    readonly socket: string | null = null,
  ) {}

  static socketArgs(socket: string | null): string[] {
    if (!socket) return [];
    return socket.includes('/') ? ['-S', socket] : ['-L', socket];
  }

  /** The exact shell command a human types to reach a session on this server. */
  attachCommand(session: string): string {
    return ['tmux', ...Tmux.socketArgs(this.socket), 'attach', '-t', session].map(shellQuote).join(' ');
  }

  private async run(args: string[], input?: string): Promise<{ stdout: string; exitCode: number; stderr: string }> {
    // Whatever may add, remove or restart a pane makes the next listPanes ask tmux again.
    if (!READ_ONLY_COMMANDS.has(args[0]!)) paneSnapshots.delete(this.key);
    try {
      // -u: without a UTF-8 locale (an ssh command, cron) tmux prints a format's tabs as "_", and every pane would look gone.
      const result = await runProcess(this.command, ['-u', ...Tmux.socketArgs(this.socket), ...args], { input, env: { TMUX: undefined, TMUX_PANE: undefined } });
      if (result.exitCode === undefined) {
        throw Object.assign(new Error(result.error?.message ?? `${this.command} was killed by a signal`), { code: result.error?.code });
      }
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT' || /ENOENT/.test((error as Error).message)) {
        throw new ExternalToolError(
          `tmux is not installed or not on PATH (looked for "${this.command}"). Install tmux 3.0 or newer (apt-get install tmux, brew install tmux), or set RINGMASTER_TMUX to its path.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  private async check(args: string[], input?: string): Promise<string> {
    const result = await this.run(args, input);
    if (result.exitCode !== 0) throw new ExternalToolError(`tmux ${args[0]} failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    return result.stdout;
  }

  async version(): Promise<string> {
    return (await this.check(['-V'])).trim();
  }

  async hasSession(session: string): Promise<boolean> {
    return (await this.run(['has-session', '-t', `=${session}`])).exitCode === 0;
  }

  /**
   * Starts `command` in a new detached session whose pane survives the
   * command's exit (remain-on-exit), keeping its exit status and last screen.
   * The session starts on a placeholder, gets the option, and only then is the
   * pane respawned with the real command, so even an instant exit is kept.
   */
  async newSession(options: { session: string; cwd: string; command: string[]; env: Record<string, string>; width?: number; height?: number }): Promise<void> {
    const envArgs = Object.entries(options.env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    const pane = `=${options.session}:`;
    await this.check([
      'new-session', '-d', '-s', options.session, '-c', options.cwd,
      '-x', String(options.width ?? 200), '-y', String(options.height ?? 50),
      'sleep', '3600',
      ';', 'set-option', '-w', '-t', pane, 'remain-on-exit', 'on',
      ';', 'respawn-pane', '-k', '-t', pane, '-c', options.cwd, ...envArgs, ...options.command,
    ]);
  }

  /** Replaces the (dead or live) process of a session's pane with `command`, keeping the session and its window. */
  async respawnPane(options: { session: string; cwd: string; command: string[]; env: Record<string, string> }): Promise<void> {
    const envArgs = Object.entries(options.env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    await this.check(['respawn-pane', '-k', '-t', `=${options.session}:`, '-c', options.cwd, ...envArgs, ...options.command]);
  }

  /** Shows a message in the status line of every client attached to the session (best effort). */
  async displayMessage(session: string, message: string): Promise<void> {
    await this.run(['display-message', '-t', `=${session}:`, message]);
  }

  /** True when a session was killed, false when there was none. */
  async killSession(session: string): Promise<boolean> {
    const result = await this.run(['kill-session', '-t', `=${session}`]);
    return result.exitCode === 0;
  }

  async pane(session: string): Promise<PaneInfo | undefined> {
    const result = await this.run(['list-panes', '-t', `=${session}:`, '-F', PANE_FORMAT]);
    if (result.exitCode !== 0) return undefined;
    const [pid, dead, deadStatus, current] = result.stdout.split('\n')[0]!.split('\t');
    return parsePane(pid, dead, deadStatus, current);
  }

  /**
   * A session's pane (the one paste and send-keys reach) and its visible
   * screen, as capturePane gives it, from one tmux process. Undefined when
   * the session is gone.
   */
  async paneAndScreen(session: string): Promise<{ pane: PaneInfo; screen: string } | undefined> {
    const target = `=${session}:`;
    // The pane's line first, then the screen.
    const result = await this.run(['display-message', '-p', '-t', target, PANE_FORMAT, ';', 'capture-pane', '-p', '-J', '-t', target]);
    if (result.exitCode !== 0) return undefined;
    const newline = result.stdout.indexOf('\n');
    const [pid, dead, deadStatus, current] = (newline < 0 ? result.stdout : result.stdout.slice(0, newline)).split('\t');
    return { pane: parsePane(pid, dead, deadStatus, current), screen: newline < 0 ? '' : result.stdout.slice(newline + 1).replace(/\s+$/, '') };
  }

  private get key(): string {
    return `${this.command}\0${this.socket ?? ''}`;
  }

  /**
   * Every pane on this server by session name, from one tmux call; empty when
   * no server runs. The answer is reused while the tmux server's child
   * processes and open files are the same, read from /proc (serverFingerprint):
   * a pane that starts, ends, is respawned or killed changes them, and every command of this
   * adapter that can change panes drops the snapshot. A look at the fleet then
   * starts no tmux process when nothing changed. A snapshot is never reused
   * past PANE_SNAPSHOT_MS while one of its panes is dead, since killing a
   * session whose pane already ended leaves the server's children as they were.
   */
  async listPanes(): Promise<Map<string, PaneInfo>> {
    const known = paneSnapshots.get(this.key);
    const server = known ?? serverPids.get(this.key);
    // Taken before tmux is asked: a pane that changes while it answers shows as a new fingerprint next time.
    const before = server && serverFingerprint(server.serverPid, server.serverStart);
    if (known && before === known.fingerprint && (!known.anyDead || performance.now() - known.at < PANE_SNAPSHOT_MS)) return new Map(known.panes);
    paneSnapshots.delete(this.key);
    const result = await this.run(['list-panes', '-a', '-F', '#{pid}\t#{session_name}\t#{pane_pid}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_current_command}']);
    const panes = new Map<string, PaneInfo>();
    if (result.exitCode !== 0) return panes;
    let serverPid = 0;
    for (const line of result.stdout.split('\n')) {
      const [pid, session, panePid, dead, deadStatus, current] = line.split('\t');
      serverPid ||= Number(pid);
      if (!session || panes.has(session)) continue;
      panes.set(session, parsePane(panePid, dead, deadStatus, current));
    }
    if (server && before && server.serverPid === serverPid) {
      paneSnapshots.set(this.key, { ...server, fingerprint: before, panes, anyDead: [...panes.values()].some((pane) => pane.paneDead), at: performance.now() });
    } else {
      // A server seen for the first time (or a new one): its fingerprint is taken before the next look.
      const serverStart = serverPid > 0 ? processStart(serverPid) : undefined;
      if (serverStart) serverPids.set(this.key, { serverPid, serverStart });
    }
    return new Map(panes);
  }

  /**
   * The visible screen (plus `scrollback` lines above it), wrapped lines joined,
   * trailing blanks dropped. Undefined when the session is gone. A dead pane's
   * output has scrolled into the history, so read it with scrollback.
   */
  async capturePane(session: string, scrollback = 0): Promise<string | undefined> {
    const range = scrollback > 0 ? ['-S', `-${scrollback}`] : [];
    const result = await this.run(['capture-pane', '-p', '-J', ...range, '-t', `=${session}:`]);
    if (result.exitCode !== 0) return undefined;
    return result.stdout.replace(/\s+$/, '');
  }

  async sendKeys(session: string, keys: string[]): Promise<void> {
    await this.check(['send-keys', '-t', `=${session}:`, ...keys]);
  }

  /**
   * Delivers text as one bracketed paste from a uniquely named buffer, so that
   * newlines don't submit line by line and long text never hits "command too long".
   */
  async paste(session: string, text: string): Promise<void> {
    const buffer = `ringmaster-${randomBytes(6).toString('hex')}`;
    await this.check(['load-buffer', '-b', buffer, '-'], text);
    await this.check(['paste-buffer', '-p', '-d', '-b', buffer, '-t', `=${session}:`]);
  }

  /**
   * The same bracketed paste followed by an Enter key, as one tmux process:
   * the Enter reaches the pane after the paste's closing bracket, as a key of
   * its own. A failed paste sends no Enter and leaves no buffer behind.
   */
  async pasteAndEnter(session: string, text: string): Promise<void> {
    const buffer = `ringmaster-${randomBytes(6).toString('hex')}`;
    const target = `=${session}:`;
    const result = await this.run(['load-buffer', '-b', buffer, '-', ';', 'paste-buffer', '-p', '-d', '-b', buffer, '-t', target, ';', 'send-keys', '-t', target, 'Enter'], text);
    if (result.exitCode !== 0) {
      await this.run(['delete-buffer', '-b', buffer]);
      throw new ExternalToolError(`tmux paste-buffer failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    }
  }
}

const PANE_FORMAT = '#{pane_pid}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_current_command}';

/** tmux commands that never add, remove or restart a pane. */
const READ_ONLY_COMMANDS = new Set(['list-panes', 'capture-pane', 'has-session', 'display-message', 'send-keys', 'load-buffer', 'paste-buffer', 'delete-buffer', 'show-options', '-V']);
/** How long a pane list with a dead pane in it may be reused (see listPanes). */
const PANE_SNAPSHOT_MS = 1_000;

interface PaneSnapshot {
  serverPid: number;
  serverStart: string;
  fingerprint: string;
  panes: Map<string, PaneInfo>;
  anyDead: boolean;
  at: number;
}

const paneSnapshots = new Map<string, PaneSnapshot>();
/** The tmux server process behind each socket, once seen. */
const serverPids = new Map<string, { serverPid: number; serverStart: string }>();

/** A process's start time (field 22 of /proc/<pid>/stat), which tells a restarted server from a reused pid; undefined once it exits. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/**
 * What changes whenever the tmux server's panes do: its child processes (one
 * per live pane) and its open files (a pane's terminal closes the moment its
 * session is killed, even when its process ignores the hangup and stays).
 * Undefined when /proc cannot tell (then nothing is reused).
 */
function serverFingerprint(pid: number, start: string): string | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    const files = readdirSync(`/proc/${pid}/fd`).join(',');
    return processStart(pid) === start ? `${children}|${files}` : undefined;
  } catch {
    return undefined;
  }
}

function parsePane(pid?: string, dead?: string, deadStatus?: string, current?: string): PaneInfo {
  return {
    panePid: Number(pid),
    paneDead: dead === '1',
    deadStatus: dead === '1' && deadStatus ? Number(deadStatus) : null,
    currentCommand: current ?? '',
  };
}

export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
