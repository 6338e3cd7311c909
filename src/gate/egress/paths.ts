import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function egressPaths(home: string) {
  const dir = join(home, 'egress');
  return { dir, socket: join(dir, 'control.sock'), pidFile: join(dir, 'egress.pid'), logFile: join(dir, 'egress.log') };
}

/** A live process that is a ringmaster egress gate (pids are reused). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('egress');
  } catch {
    return true;
  }
}
