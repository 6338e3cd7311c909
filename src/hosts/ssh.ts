import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ConflictError, ExternalToolError, NotFoundError, RingmasterError, UserInputError } from '../errors.js';
import { shellQuote } from '../adapters/tmux.js';

/** The host did not answer over SSH (connection refused, timed out, the master died): its agents are `unreachable`, not gone. */
export class HostUnreachableError extends RingmasterError {
  override readonly code = 'HOST_UNREACHABLE';
}

/** The caller no longer wanted the answer (a wait another host or this machine already answered). */
export class HostCallCancelled extends RingmasterError {
  override readonly code = 'CANCELLED';
}

export type HostConfig = Config['hosts'][string];

/**
 * One remote host, reached with the user's own ssh: their config, agent and
 * known_hosts, never a stored key. Every call goes over one multiplexed
 * connection per host (ControlMaster, its socket under $RINGMASTER_HOME/ssh,
 * kept for a while after the last call), so a call costs a round trip, not a
 * handshake.
 */
export class SshHost {
  constructor(
    readonly name: string,
    readonly host: HostConfig,
    readonly config: Config,
  ) {}

  static of(config: Config, name: string): SshHost {
    const host = config.hosts[name];
    if (!host) {
      const known = Object.keys(config.hosts);
      throw new NotFoundError(`No host named ${JSON.stringify(name)} in ${join(config.home, 'config.json')}${known.length ? ` (hosts: ${known.join(', ')})` : '; add one: "hosts": {"box": {"destination": "me@box"}}'}.`);
    }
    return new SshHost(name, host, config);
  }

  /** ssh's own options: the user's config (or the configured one), the shared master, no questions, a short connect timeout. */
  sshArgs(): string[] {
    const controlDir = controlDirFor(this.config.home);
    mkdirSync(controlDir, { recursive: true, mode: 0o700 });
    return [
      ...(this.config.ssh.configFile ? ['-F', this.config.ssh.configFile] : []),
      '-o', 'ControlMaster=auto',
      // %C is a hash of the connection: short enough for a socket path whatever RINGMASTER_HOME is.
      '-o', `ControlPath=${join(controlDir, '%C')}`,
      '-o', 'ControlPersist=300',
      '-o', 'BatchMode=yes',
      '-o', `ConnectTimeout=${this.config.ssh.connectTimeoutSec}`,
      '-o', 'ServerAliveInterval=2',
      '-o', 'ServerAliveCountMax=3',
    ];
  }

  /** The shell command a human runs here to reach `remoteCommand` on the host with a terminal. */
  interactiveCommand(remoteCommand: string): string {
    return [this.config.ssh.command, ...(this.config.ssh.configFile ? ['-F', this.config.ssh.configFile] : []), '-t', this.host.destination].map(shellQuote).join(' ') + ' ' + shellQuote(remoteCommand);
  }

  /**
   * Runs a shell command on the host. A connection failure (ssh's own exit
   * 255) is HostUnreachableError; the remote command's own exit code is
   * returned for the caller to judge.
   */
  async run(remoteCommand: string, options: { input?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    let result;
    // Loaded on first use: a server without hosts never pays for execa.
    const { execa } = await import('execa');
    try {
      const child = execa(this.config.ssh.command, [...this.sshArgs(), this.host.destination, remoteCommand], {
        reject: false,
        timeout: options.timeoutMs ?? 120_000,
        cancelSignal: options.signal,
        // A persisted master must not hold our pipes open.
        env: { SSH_ASKPASS: undefined },
      });
      // The request is one line; stdin then stays open while the call runs, so the host sees its end
      // (and gives up a wait nobody reads any more) when this side goes away or cancels.
      child.stdin?.write(`${options.input ?? ''}\n`);
      result = await child;
    } catch (error) {
      throw new ExternalToolError(`Could not run ${this.config.ssh.command}: ${(error as Error).message}. Install an OpenSSH client.`, { cause: error });
    }
    if (result.isCanceled) throw new HostCallCancelled(`The call to host ${this.name} was cancelled.`);
    if (result.timedOut) throw new HostUnreachableError(`Host ${this.name} (${this.host.destination}) did not answer within ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s.`);
    if (result.failed && result.exitCode === undefined) {
      throw new ExternalToolError(`Could not run ${this.config.ssh.command}: ${result.shortMessage}. Install an OpenSSH client or set ssh.command in config.json.`);
    }
    if (result.exitCode === 255) throw this.unreachable(result.stderr);
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
  }

  /** The host's ringmaster command line for `_host-exec <op>`, with the host's work root. */
  hostExecCommand(op: string): string {
    const env = this.host.workRoot ? `RINGMASTER_WORKTREE_ROOT=${shellQuote(this.host.workRoot)} ` : '';
    return `${env}${shellQuote(this.host.ringmaster)} _host-exec ${shellQuote(op)}`;
  }

  /**
   * One call to the host's ringmaster, JSON in and JSON out, on this
   * process's session with the host (`_host-exec serve` over the shared
   * connection, started on first use and again after it ended); its errors
   * come back as the same error classes.
   */
  async hostExec<T>(op: string, input: unknown, timeoutMs = 120_000, signal?: AbortSignal): Promise<T> {
    const key = JSON.stringify([this.config.home, this.config.ssh, this.name, this.host]);
    let session = sessions.get(key);
    if (!session || session.closed) sessions.set(key, (session = new HostSession(this, () => sessions.delete(key))));
    const answer = await session.request(op, input, timeoutMs, signal);
    if (!answer.ok) throw remoteError(answer.code, `On host ${this.name}: ${answer.message}`);
    return answer.result as T;
  }

  /** The failure when ssh itself gave up (exit 255): the host is unreachable. */
  unreachable(stderr: string): HostUnreachableError {
    return new HostUnreachableError(
      `Host ${this.name} (${this.host.destination}) is unreachable over ssh: ${lastLine(stderr) || 'exit 255'}. Its agents are kept as they are until it answers again; check with: ringmaster doctor --host ${this.name}`,
    );
  }

  /** Ends this process's sessions with every host (the host-side processes leave when their stdin ends). */
  static closeSessions(): void {
    for (const session of sessions.values()) session.close();
    sessions.clear();
  }

  /** Closes the shared connection, if one is up. */
  async closeMaster(): Promise<void> {
    const { execa } = await import('execa');
    await execa(this.config.ssh.command, [...this.sshArgs(), '-O', 'exit', this.host.destination], { reject: false, timeout: 10_000 });
  }
}

/**
 * Where the shared connections' sockets live: $RINGMASTER_HOME/ssh, unless that
 * path is too long for a unix socket (108 bytes, and %C adds 40), then a
 * private folder in the temp dir named after the home.
 */
export function controlDirFor(home: string): string {
  const dir = join(home, 'ssh');
  if (dir.length + 41 <= 100) return dir;
  return join(tmpdir(), `ringmaster-ssh-${process.getuid?.() ?? 0}-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`);
}

type Answer = { ok: true; result: unknown } | { ok: false; code: string; message: string };

const sessions = new Map<string, HostSession>();

/**
 * This process's line to one host: `ssh host ringmaster _host-exec serve`
 * through the shared connection, JSON lines both ways, requests numbered so
 * any number can be in flight. If ssh ends (the host went away: exit 255; or
 * its ringmaster is missing), every open request fails with why, and the next
 * call starts a new session.
 */
class HostSession {
  closed = false;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (answer: Answer) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  private stderr = '';

  constructor(
    private readonly host: SshHost,
    private readonly forget: () => void,
  ) {
    this.child = spawn(host.config.ssh.command, [...host.sshArgs(), host.host.destination, host.hostExecCommand('serve')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.on('error', () => undefined);
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let answer: ({ id: number } & Answer) | undefined;
      try {
        answer = JSON.parse(line);
      } catch {
        return;
      }
      const waiting = answer && this.pending.get(answer.id);
      if (!waiting) return;
      this.settle(answer!.id);
      waiting.resolve(answer!);
    });
    this.child.on('error', (error) => this.fail(new ExternalToolError(`Could not run ${host.config.ssh.command}: ${error.message}. Install an OpenSSH client or set ssh.command in config.json.`)));
    this.child.on('close', (code) =>
      this.fail(
        code === 255
          ? host.unreachable(this.stderr)
          : new ExternalToolError(`ringmaster on host ${host.name} did not answer (${lastLine(this.stderr) || `exit ${code}`}). Check it with: ringmaster doctor --host ${host.name}`),
      ),
    );
    this.idle();
  }

  request(op: string, input: unknown, timeoutMs: number, signal?: AbortSignal): Promise<Answer> {
    if (signal?.aborted) return Promise.reject(new HostCallCancelled(`The call to host ${this.host.name} was cancelled.`));
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id);
        reject(new HostUnreachableError(`Host ${this.host.name} (${this.host.host.destination}) did not answer "${op}" within ${Math.round(timeoutMs / 1000)} s.`));
        // A host that stops answering mid-session is not trusted with the next call: start afresh.
        this.close();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.pending.has(id)) return;
          this.settle(id);
          this.child.stdin!.write(`${JSON.stringify({ id, cancel: true })}\n`);
          reject(new HostCallCancelled(`The call to host ${this.host.name} was cancelled.`));
        },
        { once: true },
      );
      this.busy();
      this.child.stdin!.write(`${JSON.stringify({ id, op, input })}\n`);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    this.child.stdin!.end();
    this.child.kill();
  }

  private settle(id: number): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.idle();
  }

  private fail(error: Error): void {
    this.closed = true;
    this.forget();
    for (const [id, waiting] of [...this.pending]) {
      this.settle(id);
      waiting.reject(error);
    }
  }

  /** An idle session does not keep this process alive (a CLI command ends when its work is done). */
  private idle(): void {
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  private busy(): void {
    this.child.ref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) (stream as unknown as { ref?: () => void } | null)?.ref?.();
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1)?.trim() ?? '';
}

/** The host's error, as the same class here, so exit codes and isError results read the same. */
function remoteError(code: string, message: string): Error {
  const classes: Record<string, new (message: string) => Error> = {
    INVALID_INPUT: UserInputError,
    NOT_FOUND: NotFoundError,
    CONFLICT: ConflictError,
    HOST_UNREACHABLE: HostUnreachableError,
  };
  return new (classes[code] ?? ExternalToolError)(message);
}
