import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './fixtures.js';

export interface StoreLock {
  /** Commits and exits now instead of at the end of its time. */
  release: () => void;
  /** Settles when the holder has let go. */
  done: Promise<void>;
}

// A second process, as another ringmaster or a hook would be: it opens the
// store with better-sqlite3 and holds BEGIN EXCLUSIVE until its time is up or
// it reads a line on stdin.
export const HOLDER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2]);
db.pragma('busy_timeout = 10000');
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
const release = () => { db.exec('COMMIT'); db.close(); process.exit(0); };
setTimeout(release, Number(process.argv[3]));
process.stdin.on('data', release);
`;

/**
 * A shell command that takes the store's write lock in a background process
 * for `ms` milliseconds and returns once it is held: for a lock that arrives
 * in the middle of an operation (as a spawn's setup command, say).
 */
export function lockInBackgroundCommand(dir: string, path: string, ms: number): string {
  const script = join(dir, 'hold-store-lock.cjs');
  writeFileSync(script, `process.argv.splice(1, 1);\n${HOLDER}`);
  const locked = join(dir, `locked-${Date.now()}`);
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  return (
    `${quote(process.execPath)} ${quote(script)} ${quote(join(ROOT, 'node_modules/better-sqlite3'))} ${quote(path)} ${ms} > ${quote(locked)} 2>/dev/null < /dev/null & ` +
    `while [ ! -s ${quote(locked)} ]; do sleep 0.05; done`
  );
}

/** Holds the store's write lock from another process for `ms` milliseconds; resolves once it is held. */
export async function holdStoreLock(path: string, ms: number): Promise<StoreLock> {
  const child = spawn(process.execPath, ['-e', HOLDER, join(ROOT, 'node_modules/better-sqlite3'), path, String(ms)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}: ${stderr}`)));
  });
  return {
    release: () => {
      if (child.exitCode === null) child.stdin.write('release\n');
    },
    done,
  };
}
