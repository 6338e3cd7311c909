/**
 * The gate's compiled fast path (src/hooks/gate-fast.c): built from source on
 * this machine the first time it is needed, then reused.
 *
 * A bash start alone costs about as much as a hook may cost, so every hook runs
 * this small C program when it exists (the gate's fast path; `--record` for
 * the other events) and gate.sh / record-event.sh when it does not.
 * It is compiled with the machine's C compiler (`$CC`, cc, gcc or clang;
 * statically linked when the C library allows) into
 * `<package>/dist/bin/` or, when the package folder is read-only,
 * `<RINGMASTER_HOME>/bin/`, named by a hash of its source so that a changed
 * source is never served by an old binary. A build is checked before it is
 * used: it must allow an ordinary call and send a gated one on to the full
 * check. No compiler, a failed build or a failed check: no helper, and the
 * hook runs gate.sh (same decisions, slower).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, copyFileSync, chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { packageRoot } from '../core/paths.js';

const built = new Map<string, string | undefined>();

export function gateHelperSource(): string {
  return join(packageRoot(), 'src', 'hooks', 'gate-fast.c');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findCompiler(env: NodeJS.ProcessEnv): string | undefined {
  const names = [env.CC, 'cc', 'gcc', 'clang'].filter((name): name is string => Boolean(name));
  for (const name of names) {
    if (name.includes('/')) {
      if (executable(name)) return name;
      continue;
    }
    for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The helper must decide the two plainest cases as gate.sh does, and record an event, before it is trusted. */
function selfTest(binary: string, dir: string): boolean {
  const home = join(dir, 'self-test-home');
  const payload = (command: string) =>
    JSON.stringify({ session_id: 's', cwd: join(home, 'worktrees', 'a'), hook_event_name: 'PreToolUse', tool_name: 'Bash', tool_input: { command }, tool_use_id: 't' });
  const run = (command: string) =>
    spawnSync(binary, ['/bin/false', '/nonexistent/gate.js', join(home, 'worktrees')], {
      input: payload(command),
      env: { PATH: process.env.PATH, RINGMASTER_HOME: home },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const ordinary = run('ls -la && git status');
  const gated = run('aws s3 ls');
  const spool = join(dir, `self-test-spool-${process.pid}`);
  try {
    mkdirSync(spool, { recursive: true });
    const recorded = spawnSync(binary, ['--record', spool], { input: '{"hook_event_name":"Stop"}', encoding: 'utf8', timeout: 10_000 });
    const files = readdirSync(spool);
    const recordOk = recorded.status === 0 && recorded.stdout === '' && files.length === 1 && readFileSync(join(spool, files[0]!), 'utf8') === '{"hook_event_name":"Stop"}';
    return recordOk && ordinary.status === 0 && ordinary.stdout === '' && gated.status === 0 && /"permissionDecision":"deny"/.test(gated.stdout) && /fail-closed/.test(gated.stdout);
  } finally {
    rmSync(spool, { recursive: true, force: true });
  }
}

function buildInto(dir: string, source: string, name: string, compiler: string): string | undefined {
  return placeExecutable(join(dir, name), (temp) => {
    // Static when the C library allows it: no dynamic loader, a little less to start on every hook.
    try {
      execFileSync(compiler, ['-O2', '-static', '-o', temp, source], { stdio: 'ignore', timeout: 120_000 });
    } catch {
      execFileSync(compiler, ['-O2', '-o', temp, source], { stdio: 'ignore', timeout: 120_000 });
    }
    return selfTest(temp, dir);
  });
}

/**
 * `target` as it is when already executable; otherwise `make` fills a temp
 * file beside it (true: use it), which is renamed into place, so no hook ever
 * runs a half-written program. Undefined when that fails.
 */
function placeExecutable(target: string, make: (temp: string) => boolean): string | undefined {
  if (executable(target)) return target;
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}`);
  try {
    mkdirSync(dirname(target), { recursive: true });
    if (!make(temp)) return undefined;
    renameSync(temp, target);
    return target;
  } catch {
    return undefined;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * The path of the compiled gate helper, building it when it is missing;
 * undefined when it cannot be built here (the hook then runs gate.sh).
 */
export function ensureGateHelper(ringmasterHome?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = ringmasterHome ?? '';
  if (built.has(key)) return built.get(key);
  let result: string | undefined;
  try {
    const { source, name, dirs } = helperPlaces(ringmasterHome);
    result = dirs.map((dir) => join(dir, name)).find(executable);
    if (!result) {
      const compiler = findCompiler(env);
      if (compiler) for (const dir of dirs) if ((result = buildInto(dir, source, name, compiler))) break;
    }
  } catch {
    result = undefined;
  }
  built.set(key, result);
  return result;
}

/**
 * The helper a child's hooks run, under `<RINGMASTER_HOME>/bin/` (a hard link
 * to the built one, or a copy across file systems), or undefined when there
 * is none (the hooks then run the bash scripts). Children's settings name
 * this path and Claude starts it directly, with no shell in front that could
 * fall back to gate.sh, so it must outlive the package folder: reinstalling
 * or upgrading ringmaster replaces `<package>/dist/bin`, never this folder,
 * and nothing deletes from it. Children cannot write it (`bin` is one of the
 * sandbox's protected state paths).
 */
export function pinnedGateHelper(ringmasterHome: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const built = ensureGateHelper(ringmasterHome, env);
  if (!built) return undefined;
  const pinned = join(ringmasterHome, 'bin', basename(built));
  if (built === pinned) return pinned;
  return placeExecutable(pinned, (temp) => {
    try {
      linkSync(built, temp);
    } catch {
      copyFileSync(built, temp);
      chmodSync(temp, 0o755);
    }
    return true;
  });
}

function helperPlaces(ringmasterHome?: string): { source: string; name: string; dirs: string[] } {
  const source = gateHelperSource();
  const name = `gate-fast-${createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12)}`;
  return { source, name, dirs: [join(packageRoot(), 'dist', 'bin'), ...(ringmasterHome ? [join(ringmasterHome, 'bin')] : [])] };
}

/** For doctor: the built helper for the current source, or why there is none; builds nothing. */
export function gateHelperStatus(ringmasterHome?: string, env: NodeJS.ProcessEnv = process.env): { path?: string; compiler?: string; problem?: string } {
  try {
    const { name, dirs } = helperPlaces(ringmasterHome);
    const path = dirs.map((dir) => join(dir, name)).find(executable);
    const compiler = findCompiler(env);
    if (path) return { path, compiler };
    return { compiler, problem: compiler ? `not built yet in ${dirs.join(' or ')}` : 'no C compiler ($CC, cc, gcc or clang) on PATH' };
  } catch (error) {
    return { problem: `its source cannot be read (${(error as Error).message})` };
  }
}
