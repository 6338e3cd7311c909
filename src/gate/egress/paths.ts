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

/** Whether this home's egress gate process runs: a pid file and a live process, no socket round trip (cheap enough for every status read). */
export function egressAlive(home: string): boolean {
  try {
    const pid = Number(readFileSync(egressPaths(home).pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && processAlive(pid);
  } catch {
    return false;
  }
}
