import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgetStaleProjects, prepareClaudeProject, readClaudeJson } from '../../src/adapters/claude-config.js';
import { tempDir } from '../helpers/fixtures.js';

const projects = (path: string) => Object.keys(readClaudeJson(path)?.projects ?? {}).sort();

describe('~/.claude.json entries ringmaster writes', () => {
  it('trusts the worktree and the inbox before launch, and sweeps entries of agents that are gone in the same write', () => {
    const dir = tempDir();
    const path = join(dir, '.claude.json');
    writeFileSync(path, JSON.stringify({ hasCompletedOnboarding: true, projects: { '/home/me/code': { allowedTools: ['x'] }, '/rm/worktrees/r/old': { hasTrustDialogAccepted: true }, '/rm/agents/ag_old/inbox': { hasTrustDialogAccepted: true }, '/rm/worktrees/r/alive': { hasTrustDialogAccepted: true } } }));
    prepareClaudeProject({
      claudeJsonPath: path,
      folder: '/rm/worktrees/r/new',
      extraFolders: ['/rm/agents/ag_new/inbox'],
      mainCheckout: '/home/me/code',
      projectMcpServers: [],
      stale: { ownedRoots: ['/rm/worktrees', '/rm/agents'], keep: ['/rm/worktrees/r/alive'] },
    });
    expect(projects(path)).toEqual(['/home/me/code', '/rm/agents/ag_new/inbox', '/rm/worktrees/r/alive', '/rm/worktrees/r/new']);
    const json = readClaudeJson(path)!;
    expect(json.projects!['/rm/agents/ag_new/inbox']).toEqual({ hasTrustDialogAccepted: true });
    expect(json.projects!['/home/me/code']).toEqual({ allowedTools: ['x'] });
    expect(json.hasCompletedOnboarding).toBe(true);
  });

  it('removes a stale entry again after a running Claude wrote it back from its own copy, keeping what Claude changed', () => {
    const dir = tempDir();
    const path = join(dir, '.claude.json');
    const claudesCopy = { numStartups: 1, projects: { '/rm/worktrees/r/gone': { hasTrustDialogAccepted: true }, '/home/me/code': {} } };
    writeFileSync(path, JSON.stringify(claudesCopy));
    expect(forgetStaleProjects(path, ['/rm/worktrees'], [])).toBe(1);
    expect(projects(path)).toEqual(['/home/me/code']);
    // A Claude process that started before the cleanup rewrites the file from memory.
    writeFileSync(path, JSON.stringify({ ...claudesCopy, numStartups: 2 }));
    expect(forgetStaleProjects(path, ['/rm/worktrees'], [])).toBe(1);
    expect(projects(path)).toEqual(['/home/me/code']);
    expect(JSON.parse(readFileSync(path, 'utf8')).numStartups).toBe(2);
    expect(forgetStaleProjects(path, ['/rm/worktrees'], [])).toBe(0);
  });
});
