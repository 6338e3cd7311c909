import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** True while a process with this id exists (zombies excluded on Linux). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A zombie still answers kill(0) but has finished running.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Finds an executable the way a shell would, on the given PATH. Returns its
 * path or undefined; used to refuse a spawn before anything is created.
 */
export function findExecutable(command: string, pathValue: string | undefined): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : (pathValue ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    if (!isAbsolute(candidate) && !command.includes('/')) continue;
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Direct children of a process: /proc on Linux, pgrep elsewhere (asynchronously: status reads must never block the server). */
export async function childPids(pid: number): Promise<number[]> {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return new Promise((resolve) => {
      execFile('pgrep', ['-P', String(pid)], { encoding: 'utf8' }, (error, stdout) => resolve(error ? [] : stdout.split(/\s+/).filter(Boolean).map(Number)));
    });
  }
}
