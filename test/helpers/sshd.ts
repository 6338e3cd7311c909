import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI, waitUntil } from './fixtures.js';

/**
 * A real "remote host" for tests: Debian's sshd, started by the test on a
 * random 127.x.y.z address and port, with its own host key, a throwaway
 * client key, its own sshd_config, and a separate HOME for the remote side
 * (sshd's SetEnv), so the host has its own RINGMASTER_HOME, tmux socket and
 * repo clone. The client side gets its own ssh config file and known_hosts:
 * the real ~/.ssh is never read or written.
 */
export interface TestSshHost {
  /** The ssh config file to give ringmaster (RINGMASTER_SSH_CONFIG). */
  clientConfig: string;
  /** The Host alias in that file. */
  alias: string;
  address: string;
  port: number;
  /** The remote side's HOME and RINGMASTER_HOME. */
  home: string;
  ringmasterHome: string;
  tmuxSocket: string;
  /** Starts sshd (again, on the same address and port, with the same host key). */
  start: () => Promise<void>;
  /** The host goes away: the listener and every connection it serves are killed. */
  stop: () => void;
  close: () => void;
}

async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function children(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function startSshHost(dir: string, remoteEnv: Record<string, string>): Promise<TestSshHost> {
  const root = join(dir, 'sshhost');
  const home = join(root, 'home');
  const bin = join(root, 'bin');
  mkdirSync(home, { recursive: true });
  mkdirSync(bin);
  const ringmasterHome = join(home, '.ringmaster');
  mkdirSync(ringmasterHome);
  // The host's ringmaster: this checkout's build, as an installed `ringmaster` on the host's PATH.
  writeFileSync(join(bin, 'ringmaster'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
  chmodSync(join(bin, 'ringmaster'), 0o755);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(root, 'client_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(root, 'host_key')]);
  writeFileSync(join(root, 'authorized_keys'), readFileSync(join(root, 'client_key.pub')));
  chmodSync(join(root, 'authorized_keys'), 0o600);
  const address = `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
  const port = await freePort(address);
  const tmuxSocket = `rm-remote-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const env: Record<string, string> = {
    HOME: home,
    RINGMASTER_HOME: ringmasterHome,
    RINGMASTER_TMUX_SOCKET: tmuxSocket,
    PATH: `${bin}:${remoteEnv.PATH ?? process.env.PATH}`,
    ...Object.fromEntries(Object.entries(remoteEnv).filter(([key]) => key !== 'PATH')),
  };
  for (const [key, value] of Object.entries(env)) {
    if (/[\s"]/.test(value)) throw new Error(`sshd SetEnv cannot carry ${key}=${value} (spaces or quotes)`);
  }
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(root, 'sshd_config'),
    [
      `ListenAddress ${address}:${port}`,
      `HostKey ${join(root, 'host_key')}`,
      `AuthorizedKeysFile ${join(root, 'authorized_keys')}`,
      `PidFile ${join(root, 'sshd.pid')}`,
      `AllowUsers ${user}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'PrintMotd no',
      `SetEnv ${Object.entries(env).map(([key, value]) => `${key}=${value}`).join(' ')}`,
      '',
    ].join('\n'),
  );
  const alias = 'testbox';
  writeFileSync(join(root, 'known_hosts'), `[${address}]:${port} ${readFileSync(join(root, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const clientConfig = join(root, 'ssh_config');
  writeFileSync(
    clientConfig,
    [
      `Host ${alias}`,
      `  HostName ${address}`,
      `  Port ${port}`,
      `  User ${user}`,
      `  IdentityFile ${join(root, 'client_key')}`,
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      `  UserKnownHostsFile ${join(root, 'known_hosts')}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // sshd refuses to start without its privilege-separation folder.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let sshd: ChildProcess | undefined;
  const log = join(root, 'sshd.log');
  const start = async () => {
    sshd = spawn('/usr/sbin/sshd', ['-D', '-f', join(root, 'sshd_config'), '-E', log], { stdio: 'ignore' });
    await waitUntil(() => existsSync(log) && readFileSync(log, 'utf8').includes(`Server listening on ${address} port ${port}`), 15_000, 'sshd to listen');
  };
  const stop = () => {
    if (!sshd?.pid) return;
    // Each connection has its own sshd process under the listener: a host that goes away takes them too.
    const pids = [sshd.pid, ...children(sshd.pid).flatMap((pid) => [pid, ...children(pid)])];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    writeFileSync(log, '');
    sshd = undefined;
  };
  await start();
  return { clientConfig, alias, address, port, home, ringmasterHome, tmuxSocket, start, stop, close: stop };
}
