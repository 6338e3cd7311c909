import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
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
    private readonly config: Config,
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
    const controlDir = join(this.config.home, 'ssh');
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
    if (result.exitCode === 255) {
      throw new HostUnreachableError(
        `Host ${this.name} (${this.host.destination}) is unreachable over ssh: ${lastLine(result.stderr) || 'exit 255'}. Its agents are kept as they are until it answers again; check with: ringmaster doctor --host ${this.name}`,
      );
    }
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
  }

  /** The host's ringmaster, JSON in and JSON out (`ringmaster host-exec <op>`); its errors come back as the same error classes. */
  async hostExec<T>(op: string, input: unknown, timeoutMs?: number, signal?: AbortSignal): Promise<T> {
    const env = this.host.workRoot ? `RINGMASTER_WORKTREE_ROOT=${shellQuote(this.host.workRoot)} ` : '';
    const result = await this.run(`${env}${shellQuote(this.host.ringmaster)} host-exec ${shellQuote(op)}`, { input: JSON.stringify(input), timeoutMs, signal });
    let answer: { ok: true; result: T } | { ok: false; code: string; message: string } | undefined;
    try {
      answer = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '');
    } catch {
      answer = undefined;
    }
    if (!answer) {
      const why = lastLine(result.stderr) || lastLine(result.stdout) || `exit ${result.exitCode}`;
      throw new ExternalToolError(`ringmaster on host ${this.name} did not answer "${op}" (${why}). Check it with: ringmaster doctor --host ${this.name}`);
    }
    if (!answer.ok) throw remoteError(answer.code, `On host ${this.name}: ${answer.message}`);
    return answer.result;
  }

  /** Closes the shared connection, if one is up. */
  async closeMaster(): Promise<void> {
    await execa(this.config.ssh.command, [...this.sshArgs(), '-O', 'exit', this.host.destination], { reject: false, timeout: 10_000 });
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
