/**
 * Runs first in every test worker: point HOME at a throwaway folder so that
 * nothing a test starts (git, tmux, claude, ringmaster) can read or write the
 * real ~/.claude, ~/.claude.json or ~/.ringmaster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'rm-home-'));
process.env.HOME = home;
process.env.RINGMASTER_HOME = join(home, '.ringmaster');
process.env.GIT_AUTHOR_NAME = process.env.GIT_COMMITTER_NAME = 'Ringmaster Test';
process.env.GIT_AUTHOR_EMAIL = process.env.GIT_COMMITTER_EMAIL = 'test@ringmaster.invalid';
process.env.GIT_CONFIG_NOSYSTEM = '1';
delete process.env.TMUX;
delete process.env.CLAUDECODE;

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});
