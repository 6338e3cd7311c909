import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { CLI, FAKE_AGENT, makeRepo, makeWorld, type TestWorld } from '../helpers/fixtures.js';
import { connectStdio, resultText } from '../helpers/mcp.js';
import { holdStoreLock } from '../helpers/store-lock.js';

// The built server over stdio with a real SDK client, against store files that
// are damaged, from a newer ringmaster, locked, or in a folder it cannot write.
// Each time: initialize and tools/list work, every tool says what is wrong and
// how to fix it (never "Internal error"), and after the fix the same server
// completes the call.

const run = promisify(execFile);
let world: TestWorld;
let repo: string;

beforeAll(() => {
  world = makeWorld();
  repo = makeRepo(world.dir);
});
afterAll(() => world.close());

/** A fresh RINGMASTER_HOME holding `prepare`'s state.db, and the env of a server on it. */
function homeWith(name: string, prepare: (storeFile: string) => void) {
  const home = join(world.dir, name);
  mkdirSync(home, { recursive: true });
  const storeFile = join(home, 'state.db');
  prepare(storeFile);
  return { storeFile, env: { ...world.env, RINGMASTER_HOME: home, RINGMASTER_WORKTREE_ROOT: join(home, 'worktrees') } };
}

/** A real store with some rows in it, closed cleanly (no -wal or -shm left). */
function realStore(storeFile: string): void {
  const store = new Store(storeFile);
  for (let index = 0; index < 40; index++) {
    store.insertAgent({
      id: `id-${index}`,
      name: `old-${index}`,
      repo: '/nowhere',
      baseRef: 'main',
      baseCommit: 'c'.repeat(40),
      branch: `agent/old-${index}`,
      worktreePath: `/nowhere/old-${index}`,
      tmuxSocket: null,
      tmuxSession: `ringmaster-old-${index}`,
      agentKind: 'codex',
      model: null,
      task: 'x'.repeat(2_000),
      taskPreview: 'x',
    });
  }
  store.close();
}

async function expectServerExplains(client: Client, expected: RegExp): Promise<string> {
  expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('spawn_agent');
  for (const [name, args] of [
    ['list_agents', {}],
    ['spawn_agent', { repo, task: 'blocked by the store', name: 'store-fault', agent: 'codex' }],
  ] as const) {
    const result = await client.callTool({ name, arguments: args });
    expect(result.isError, name).toBe(true);
    expect(resultText(result), name).toMatch(expected);
    expect(resultText(result), name).not.toMatch(/Internal error/);
  }
  // The failed spawn made nothing.
  expect(existsSync(join(world.dir, 'repo', '.git', 'worktrees', 'store-fault'))).toBe(false);
  return resultText(await client.callTool({ name: 'list_agents', arguments: {} }));
}

// The claude check runs `claude --version`; any binary on PATH keeps the doctor quick here.
const doctor = (env: Record<string, string | undefined>, ...args: string[]) =>
  run(process.execPath, [CLI, 'doctor', ...args], { env: { ...env, RINGMASTER_CLAUDE: 'true' } as NodeJS.ProcessEnv }).then(
    (done) => done.stdout,
    (failed: { stdout: string }) => failed.stdout,
  );

describe('the server with a broken store', () => {
  it('a garbage store file: clear error naming the file; doctor --fix moves it aside; the same server then works', async () => {
    const { storeFile, env } = homeWith('garbage', (file) => writeFileSync(file, 'this is not a database\n'.repeat(400)));
    const client = await connectStdio(env);
    try {
      const text = await expectServerExplains(client, /^The state store .*garbage\/state\.db is damaged \(SQLite: file is not a database\)\. Run `ringmaster doctor --fix`/);
      expect(text).toContain(storeFile);

      const checked = await doctor(env);
      expect(checked).toMatch(/FAIL store +The state store .*is damaged/);
      const fixed = await doctor(env, '--fix');
      expect(fixed).toMatch(/ok {3}store +.*state\.db \(schema \d+, wal, integrity ok, writable\); the damaged store was moved to .*state\.db\.damaged-/);
      expect(readdirSync(join(storeFile, '..')).some((name) => name.startsWith('state.db.damaged-'))).toBe(true);

      const retry = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(retry.isError).toBeFalsy();
      expect(retry.structuredContent).toMatchObject({ agents: [] });
    } finally {
      await client.close();
    }
  });

  it('a truncated store file: the server still starts; tools name the file; doctor finds it, --fix repairs, the retry completes', async () => {
    const { env } = homeWith('truncated', (file) => {
      realStore(file);
      expect(statSync(file).size).toBeGreaterThan(8 * 4096);
      // A copy cut short after its first page, as a crash or a full disk during a copy leaves it.
      truncateSync(file, 4096);
    });
    const client = await connectStdio(env);
    try {
      await expectServerExplains(client, /^The state store .*truncated\/state\.db is damaged \(SQLite: database disk image is malformed\)\. Run `ringmaster doctor --fix`/);
      expect(await doctor(env)).toMatch(/FAIL store +.*truncated\/state\.db.*(damaged|integrity_check)/);
      expect(await doctor(env, '--fix')).toMatch(/ok {3}store +.*the damaged store was moved to/);
      const retry = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(retry.isError).toBeFalsy();
      expect(retry.structuredContent).toMatchObject({ agents: [] });
    } finally {
      await client.close();
    }
  });

  it('a store from a newer ringmaster: the server says to upgrade and leaves the file alone; once it is readable again the retry completes', async () => {
    const { storeFile, env } = homeWith('newer', (file) => {
      realStore(file);
      const db = new Database(file);
      db.pragma(`user_version = ${SCHEMA_VERSION + 7}`);
      db.close();
    });
    const client = await connectStdio(env);
    try {
      await expectServerExplains(
        client,
        new RegExp(`^The state store .*newer/state\\.db has schema version ${SCHEMA_VERSION + 7}, newer than this ringmaster understands \\(${SCHEMA_VERSION}\\)\\. Upgrade ringmaster`),
      );
      const db = new Database(storeFile);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 7);
      // As if ringmaster were upgraded: the schema is one this build knows again.
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.close();
      const retry = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(retry.isError).toBeFalsy();
      expect((retry.structuredContent as { agents: unknown[] }).agents).toHaveLength(40);
    } finally {
      await client.close();
    }
  });

  it('a store locked past the timeout: a write says so and changes nothing, reads still answer; after release the retry completes', async () => {
    const { storeFile, env } = homeWith('locked', realStore);
    // The store's 40 old rows read as spawns in progress, so the live-agent cap is off here: this test is about the lock.
    const client = await connectStdio({ ...env, RINGMASTER_STORE_BUSY_TIMEOUT_MS: '500', RINGMASTER_MAX_AGENTS: '0' });
    try {
      expect((await client.callTool({ name: 'list_agents', arguments: {} })).isError).toBeFalsy();
      const lock = await holdStoreLock(storeFile, 60_000);
      try {
        const spawned = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'wait for the lock', name: 'after-lock', agent: 'custom', command: [FAKE_AGENT] } });
        expect(spawned.isError).toBe(true);
        expect(resultText(spawned)).toBe(
          `The state store ${storeFile} is locked by another process (waited 500 ms); nothing was changed. ` +
            `Try again in a moment. If it stays locked, find the process holding it (fuser -v ${storeFile}) and let it finish or stop it.`,
        );
        const listed = await client.callTool({ name: 'list_agents', arguments: {} });
        expect(listed.isError).toBeFalsy();
        expect((listed.structuredContent as { agents: Array<{ name: string }> }).agents.map((agent) => agent.name)).not.toContain('after-lock');
      } finally {
        lock.release();
        await lock.done;
      }
      const retry = await client.callTool({ name: 'spawn_agent', arguments: { repo, task: 'wait for the lock', name: 'after-lock', agent: 'custom', command: [FAKE_AGENT] } });
      expect(retry.isError, resultText(retry)).toBeFalsy();
      const cleaned = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'after-lock', delete_branch: true, force: true } });
      expect(cleaned.isError, resultText(cleaned)).toBeFalsy();
      expect(cleaned.structuredContent).toMatchObject({ worktree: 'removed', branch: 'deleted' });
    } finally {
      await client.close();
    }
  });
});

describe('a store folder this user cannot write (run as nobody)', () => {
  const NOBODY = 65534;
  const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
  let base: string;
  // Running as another user needs root and setpriv (util-linux); without them these two tests are skipped, and say so.
  const canSwitchUser = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');
  if (!canSwitchUser) console.warn('skipping the read-only store tests: they run the server as nobody, which needs root and /usr/bin/setpriv');

  beforeAll(() => {
    // Under the system temp dir, not the test root: nobody must be able to reach it.
    base = mkdtempSync(join(tmpdir(), 'rm-readonly-'));
    chmodSync(base, 0o755);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  async function connectAsNobody(env: Record<string, string | undefined>): Promise<Client> {
    const transport = new StdioClientTransport({
      command: 'setpriv',
      args: [...asNobody, process.execPath, CLI, 'serve'],
      env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'ringmaster-nobody', version: '1.0.0' });
    await client.connect(transport);
    return client;
  }

  function nobodyWorld(name: string, withStore: boolean) {
    const dir = join(base, name);
    const home = join(dir, 'ringmaster');
    const userHome = join(dir, 'home');
    mkdirSync(home, { recursive: true });
    mkdirSync(userHome);
    for (const folder of [dir, home]) chmodSync(folder, 0o755);
    chownSync(userHome, NOBODY, NOBODY);
    if (withStore) realStore(join(home, 'state.db'));
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: userHome,
      RINGMASTER_HOME: home,
      RINGMASTER_TMUX_SOCKET: `rm-nobody-${process.pid}`,
    };
    return { home, storeFile: join(home, 'state.db'), env };
  }

  it.skipIf(!canSwitchUser)('no store yet: the CLI and every tool say which folder to make writable; after chown the same server completes', async () => {
    const { home, storeFile, env } = nobodyWorld('empty', false);
    const cli = await run('setpriv', [...asNobody, process.execPath, CLI, 'status'], { env: env as NodeJS.ProcessEnv }).catch((failed: { code: number; stderr: string }) => failed);
    expect((cli as { code: number }).code).toBe(1);
    expect((cli as { stderr: string }).stderr.trim()).toBe(
      `ringmaster: Cannot write the state store ${storeFile} (SQLite: unable to open database file). Make ${home} and the state.db files in it writable by this user (ls -la ${home}), or set RINGMASTER_HOME to a folder you can write.`,
    );
    const client = await connectAsNobody(env);
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(5);
      const listed = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(listed.isError).toBe(true);
      expect(resultText(listed)).toMatch(new RegExp(`^Cannot write the state store ${storeFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(SQLite: .*\\)\\. Make ${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*writable`));
      chownSync(home, NOBODY, NOBODY);
      const retry = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(retry.isError, resultText(retry)).toBeFalsy();
      expect(retry.structuredContent).toMatchObject({ agents: [] });
    } finally {
      await client.close();
    }
  });

  it.skipIf(!canSwitchUser)("another user's store: reads or the open fail with the clear error, never Internal error; after chown the same server completes", async () => {
    const { home, storeFile, env } = nobodyWorld('foreign', true);
    const client = await connectAsNobody(env);
    try {
      const cleaned = await client.callTool({ name: 'cleanup_worktree', arguments: { name: 'old-1' } });
      expect(cleaned.isError).toBe(true);
      expect(resultText(cleaned)).toMatch(/^Cannot write the state store .*foreign\/ringmaster\/state\.db \(SQLite: .*\)\. Make .* writable/);
      expect(resultText(cleaned)).toContain(storeFile);
      for (const name of [home, ...readdirSync(home).map((file) => join(home, file))]) chownSync(name, NOBODY, NOBODY);
      const retry = await client.callTool({ name: 'list_agents', arguments: {} });
      expect(retry.isError, resultText(retry)).toBeFalsy();
      expect((retry.structuredContent as { agents: unknown[] }).agents).toHaveLength(40);
    } finally {
      await client.close();
    }
  });
});
