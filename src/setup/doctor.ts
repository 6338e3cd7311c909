import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { claudeJsonFor, readClaudeJson } from '../adapters/claude-config.js';
import { describeError } from '../errors.js';
import { checkStore, type StoreCheckOptions } from './store-check.js';
import { egressHealth, egressPaths, enforcementOf, ensureEgress, ensureGateHelper, gateHelperStatus, loadPolicy, SANDBOX_PACKAGES, sandboxProblem } from '../gate/index.js';
import { agentCommandHint, type Context, findAgentCommand, packageRoot } from '../core/index.js';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about it, when not ok. */
  fix?: string;
  /** What `doctor --fix` changed for this check. */
  fixed?: string;
}

export interface DoctorOptions extends StoreCheckOptions {
  /** Repair what is safe to repair (the hooks' run bits, a damaged store moved aside); never touches Claude's own settings. */
  fix?: boolean;
  /** The folder whose project and local registrations count; default the current one. */
  cwd?: string;
}

/** Checks everything ringmaster depends on, each with a concrete fix. */
export async function runDoctor(context: Context, options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const attempt = async (name: string, check: () => Promise<Omit<DoctorCheck, 'name'>>, fix: string) => {
    try {
      checks.push({ name, ...(await check()) });
    } catch (error) {
      checks.push({ name, ok: false, detail: describeError(error), fix });
    }
  };

  await attempt(
    'git',
    async () => {
      const version = await context.git.version();
      const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
      const ok = major > 2 || (major === 2 && minor >= 25);
      return { ok, detail: version, ...(ok ? {} : { fix: 'Upgrade git to 2.25 or newer.' }) };
    },
    'Install git 2.25 or newer (apt-get install git, brew install git).',
  );
  await attempt('tmux', () => checkTmux(context), 'Install tmux 3.0 or newer (apt-get install tmux, brew install tmux), or set RINGMASTER_TMUX to its path.');
  await attempt('hooks', async () => checkHooks(packageRoot(), options.fix === true), 'Reinstall ringmaster (npm install -g ringmaster), or run `npm run build` in a checkout.');
  await attempt('gate helper', async () => checkGateHelper(context, options.fix === true), 'Install a C compiler (apt-get install gcc) and run `ringmaster doctor --fix`.');
  await attempt('server front', async () => checkListing(options.fix === true), 'Run `npm run build` in a checkout, or reinstall ringmaster.');
  await attempt('claude', () => checkClaude(context), 'Check that `claude --version` runs in a terminal.');
  await attempt('store', () => checkStore(context, options), `Make ${context.config.home} writable, or set RINGMASTER_HOME to a writable folder.`);
  await attempt('sandbox', async () => checkSandbox(context), `Install ${SANDBOX_PACKAGES} (apt-get install -y ${SANDBOX_PACKAGES}).`);
  await attempt('egress', async () => checkEgress(context, options.fix === true), 'Run `ringmaster doctor --fix` to start it, or `ringmaster egress` in a terminal to see why it stops.');
  await attempt('registration', async () => checkRegistration(context, options.cwd ?? process.cwd()), 'Run `ringmaster install`.');
  await attempt(
    'onboarding',
    async () => {
      const path = claudeJsonFor(context.env);
      const done = readClaudeJson(path)?.hasCompletedOnboarding === true;
      return done
        ? { ok: true, detail: `Claude Code onboarding is complete (${path})` }
        : { ok: false, detail: `Claude Code onboarding is not complete in ${path}; children would stop at the first-run screens`, fix: 'Run `claude` once in a terminal and finish the setup.' };
    },
    'Run `claude` once in a terminal and finish the setup.',
  );
  await attempt(
    'worktrees',
    async () => {
      const root = context.config.worktreeRoot;
      mkdirSync(root, { recursive: true });
      accessSync(root, constants.W_OK);
      return { ok: true, detail: `${root} (writable)` };
    },
    'Set RINGMASTER_WORKTREE_ROOT to a writable folder.',
  );
  return checks;
}

/** tmux 3.0 is the oldest with everything ringmaster uses (remain-on-exit per window, respawn-pane -e). */
export const MIN_TMUX = [3, 0] as const;

async function checkTmux(context: Context): Promise<Omit<DoctorCheck, 'name'>> {
  const version = await context.tmux.version();
  const where = context.tmux.socket ? ` (server: ${context.tmux.socket})` : ' (default server)';
  const match = /(\d+)\.(\d+)/.exec(version);
  if (!match) return { ok: true, detail: `${version}${where}; version not recognised, assuming a development build` };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const ok = major > MIN_TMUX[0] || (major === MIN_TMUX[0] && minor >= MIN_TMUX[1]);
  return ok
    ? { ok, detail: `${version}${where}` }
    : { ok, detail: `${version} is older than 3.0`, fix: 'Upgrade tmux to 3.0 or newer (apt-get install tmux, brew install tmux), or set RINGMASTER_TMUX to a newer one.' };
}

/** Every file a child's hooks run, relative to the package root: the shell hooks need their run bit. */
export const HOOK_FILES = [
  { path: 'src/hooks/record-event.sh', executable: true },
  { path: 'src/hooks/gate.sh', executable: true },
  { path: 'dist/src/hooks/gate.js', executable: false },
] as const;

export function checkHooks(root: string, fix: boolean): Omit<DoctorCheck, 'name'> {
  const missing: string[] = [];
  const notExecutable: string[] = [];
  for (const hook of HOOK_FILES) {
    const path = join(root, hook.path);
    if (!existsSync(path)) missing.push(hook.path);
    else if (hook.executable && (statSync(path).mode & 0o111) === 0) notExecutable.push(hook.path);
  }
  if (missing.length > 0) {
    return { ok: false, detail: `missing from ${root}: ${missing.join(', ')}; children would run without their gate`, fix: 'Reinstall ringmaster (npm install -g ringmaster), or run `npm run build` in a checkout.' };
  }
  if (notExecutable.length > 0 && fix) {
    for (const path of notExecutable) chmodSync(join(root, path), statSync(join(root, path)).mode | 0o755);
    return { ok: true, detail: `${HOOK_FILES.length} hook files in ${root}`, fixed: `made executable: ${notExecutable.join(', ')}` };
  }
  if (notExecutable.length > 0) {
    return { ok: false, detail: `not executable: ${notExecutable.join(', ')}`, fix: `Run \`ringmaster doctor --fix\` (or chmod +x ${notExecutable.map((path) => join(root, path)).join(' ')}).` };
  }
  return { ok: true, detail: `${HOOK_FILES.length} hook files present in ${root}` };
}

/**
 * The listing the stdio server answers a client's first requests from
 * (src/server/front.ts). Without one that matches the built code the server
 * loads the MCP SDK at start: it works the same, with about 10 MB more at
 * rest, so a missing or stale listing is reported but is not a failure;
 * --fix writes it again (the same step as `npm run build`).
 */
async function checkListing(fix: boolean): Promise<Omit<DoctorCheck, 'name'>> {
  const { LISTING_FILE, readListing } = await import('../server/listing.js');
  const matches = `answers a client's connection without loading the MCP SDK (${LISTING_FILE} matches the build)`;
  const found = readListing();
  if ('listing' in found) return { ok: true, detail: matches };
  const heavier = 'the stdio server loads the MCP SDK at start (the same answers, about 10 MB more at rest)';
  if (!fix) return { ok: true, detail: `${found.problem}; until then ${heavier}: run \`ringmaster doctor --fix\`` };
  await (await import('../server/listing-build.js')).writeListing();
  const after = readListing();
  if ('listing' in after) return { ok: true, detail: matches, fixed: `wrote ${LISTING_FILE}` };
  return { ok: true, detail: `${after.problem}; ${heavier}` };
}

/**
 * The compiled hook (src/gate/gate-helper.ts). Without it the hooks run as
 * bash and decide the same way, a few milliseconds slower per tool call, so
 * its absence is reported but is not a failure; --fix builds it.
 */
function checkGateHelper(context: Context, fix: boolean): Omit<DoctorCheck, 'name'> {
  const before = gateHelperStatus(context.config.home, context.env);
  if (before.path) return { ok: true, detail: `compiled hooks: ${before.path}` };
  if (fix && before.compiler) {
    const built = ensureGateHelper(context.config.home, context.env);
    if (built) return { ok: true, detail: `compiled hooks: ${built}`, fixed: `built with ${before.compiler}` };
    return { ok: true, detail: `the compiled hooks did not build or failed their self-test with ${before.compiler}; hooks run as bash (same decisions, a few ms slower per tool call)` };
  }
  const remedy = before.compiler ? 'run `ringmaster doctor --fix` (or the next spawn) to build it' : 'install a C compiler (apt-get install gcc) and run `ringmaster doctor --fix`';
  return { ok: true, detail: `no compiled hooks (${before.problem}); hooks run as bash (same decisions, a few ms slower per tool call): ${remedy}` };
}

async function checkClaude(context: Context): Promise<Omit<DoctorCheck, 'name'>> {
  const found = findAgentCommand(context.config, context.env, 'claude');
  if (!found.path) return { ok: false, detail: `not found (looked at: ${found.looked.join(', ')})`, fix: agentCommandHint('claude', found) };
  const { execa } = await import('execa');
  const { stdout } = await execa(found.path, ['--version'], { timeout: 20_000, env: { CLAUDECODE: undefined }, extendEnv: true });
  const note = found.source === 'bundled' ? '; the bundled copy (not on PATH): run it as that full path' : '';
  return { ok: true, detail: `${stdout.trim()} at ${found.path}${note}` };
}

type ServerEntry = { command?: string; args?: string[] };

/** Registered at any of Claude Code's three scopes: user (~/.claude.json), local (its project entry), project (.mcp.json). */
async function checkRegistration(context: Context, cwd: string): Promise<Omit<DoctorCheck, 'name'>> {
  const path = claudeJsonFor(context.env);
  const json = readClaudeJson(path);
  const projects = (json?.projects ?? {}) as Record<string, { mcpServers?: Record<string, ServerEntry> }>;
  let projectFile: Record<string, ServerEntry> = {};
  try {
    projectFile = (JSON.parse(readFileSync(join(cwd, '.mcp.json'), 'utf8')) as { mcpServers?: Record<string, ServerEntry> }).mcpServers ?? {};
  } catch {
    // no .mcp.json here
  }
  const found: Array<[string, ServerEntry]> = [];
  const user = (json?.mcpServers as Record<string, ServerEntry> | undefined)?.ringmaster;
  if (user) found.push(['user scope', user]);
  const local = projects[cwd]?.mcpServers?.ringmaster;
  if (local) found.push([`local scope (${cwd})`, local]);
  if (projectFile.ringmaster) found.push([`project scope (${join(cwd, '.mcp.json')})`, projectFile.ringmaster]);
  if (found.length === 0) {
    return { ok: false, detail: `ringmaster is not registered at user scope in ${path}, nor for ${cwd}`, fix: 'Run `ringmaster install` (add --scope project or local for this folder only).' };
  }
  for (const [scope, entry] of found) {
    const script = entry.args?.find((arg) => arg.endsWith('.js'));
    if (script && !existsSync(script)) {
      return { ok: false, detail: `registered at ${scope}, but ${script} no longer exists`, fix: 'Run `ringmaster install` again from the ringmaster you use now (after `npm run build` in a checkout).' };
    }
  }
  return { ok: true, detail: found.map(([scope, entry]) => `${scope}: ${[entry.command, ...(entry.args ?? [])].join(' ')}`).join('; ') };
}

/** The OS sandbox every child runs in: bubblewrap, socat and ripgrep present, and user namespaces allowed. */
function checkSandbox(context: Context): Omit<DoctorCheck, 'name'> {
  const policy = loadPolicy(context.config.home);
  if (!policy.sandbox.enabled) {
    return { ok: true, detail: 'switched off in policy.json: children run UNENFORCED (only the hook gate, a classifier, stands in the way)' };
  }
  const problem = sandboxProblem(context.env);
  if (problem) return { ok: false, detail: problem, fix: `Install ${SANDBOX_PACKAGES} (apt-get install -y ${SANDBOX_PACKAGES}), or allow user namespaces; until then spawn refuses to start children.` };
  return { ok: true, detail: 'bubblewrap, socat and ripgrep present; user namespaces work' };
}

/** The egress gate's process: children's network is closed while it is down. */
async function checkEgress(context: Context, fix: boolean): Promise<Omit<DoctorCheck, 'name'>> {
  const { logFile } = egressPaths(context.config.home);
  const running = await egressHealth(context.config.home);
  if (running) {
    // An older gate process has no counts: it predates the classifier service.
    const served = running.classified ? `; gate hooks it classified: ${running.classified.allow} allowed, ${running.classified.check} sent on to gate.js` : '; no classifier service (an older process: restart it to get one)';
    return { ok: true, detail: `running (pid ${running.pid}, ${running.agents} agent(s) bound${served}); log ${logFile}` };
  }
  const sandboxed = [...enforcementOf(context.store).entries()].filter(([id, enforcement]) => enforcement.sandboxed && context.store.getAgent(id)?.state === 'running');
  if (fix) {
    const pid = await ensureEgress(context.config.home, context.env);
    return { ok: true, detail: `was not running; started (pid ${pid})`, fixed: `started the egress gate (pid ${pid})` };
  }
  if (sandboxed.length === 0) return { ok: true, detail: 'not running (no sandboxed agent needs it; spawn starts it)' };
  return {
    ok: false,
    detail: `not running: the network of ${sandboxed.length} sandboxed agent(s) is closed (fail-closed) until it is back`,
    fix: 'Run `ringmaster doctor --fix` to start it (spawn also starts it).',
  };
}
