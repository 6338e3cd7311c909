/**
 * Runs first in every test worker: point HOME at a throwaway folder so that
 * nothing a test starts (git, tmux, claude, ringmaster) can read or write the
 * real ~/.claude, ~/.claude.json or ~/.ringmaster.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Everything a test creates lives under this one folder, removed when the file is done.
const root = mkdtempSync(join(tmpdir(), 'rm-test-'));
process.env.RINGMASTER_TEST_ROOT = root;
const home = join(root, 'home');
mkdirSync(home);
process.env.HOME = home;
process.env.RINGMASTER_HOME = join(home, '.ringmaster');
process.env.GIT_AUTHOR_NAME = process.env.GIT_COMMITTER_NAME = 'Ringmaster Test';
process.env.GIT_AUTHOR_EMAIL = process.env.GIT_COMMITTER_EMAIL = 'test@ringmaster.invalid';
process.env.GIT_CONFIG_NOSYSTEM = '1';
delete process.env.TMUX;
delete process.env.CLAUDECODE;

afterAll(() => {
  // A killed Claude child may still write its logs for a moment; retry, and
  // never fail a test run over a temp folder.
  try {
    rmSync(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  } catch (error) {
    console.warn(`could not remove ${root}: ${(error as Error).message}`);
  }
});
