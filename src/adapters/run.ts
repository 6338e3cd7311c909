import { spawn } from 'node:child_process';

export interface RunResult {
  /** Undefined when the program could not be started (then `error` says why) or was killed by a signal. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

/** Output kept per stream; past it the process is killed and the call fails rather than filling memory. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Runs a program with argv (never a shell) and collects its output: the
 * adapters' hot path (git, tmux) without execa's per-call cost and its
 * modules' memory. `env` adds to the process's own; an undefined value
 * removes a variable.
 */
export function runProcess(file: string, args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(file, args, { cwd: options.cwd, env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    } catch (error) {
      resolve({ exitCode: undefined, stdout: '', stderr: '', error: error as NodeJS.ErrnoException });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let failure: NodeJS.ErrnoException | undefined;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        failure ??= Object.assign(new Error(`${file} wrote more than ${MAX_OUTPUT_BYTES} bytes`), { code: 'EMAXBUFFER' });
        child.kill('SIGKILL');
        return;
      }
      into.push(chunk);
    };
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    child.on('error', (error) => (failure ??= error));
    if (options.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a program that exits without reading its input
      child.stdin!.end(options.input);
    }
    child.on('close', (code) => {
      resolve({ exitCode: failure ? undefined : (code ?? undefined), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ...(failure ? { error: failure } : {}) });
    });
  });
}
