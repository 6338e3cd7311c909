import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../core/index.js';
import type { AgentRecord } from '../store/store.js';

/** One file of an agent's branch diff. */
export interface DiffFile {
  path: string;
  status: 'modified' | 'added' | 'deleted' | 'renamed' | 'untracked' | 'binary';
  lines: string[];
  additions: number;
  deletions: number;
}

export interface BranchDiff {
  base: string;
  files: DiffFile[];
  truncated: boolean;
}

const MAX_DIFF_BYTES = 2 * 1024 * 1024;
const MAX_UNTRACKED_BYTES = 256 * 1024;

/**
 * What the agent changed against the commit it started from: commits on its
 * branch and uncommitted edits (`git diff <base commit>` in its worktree),
 * plus new files git does not track yet.
 */
export async function branchDiff(context: Context, record: AgentRecord): Promise<BranchDiff> {
  const cwd = record.worktreePath;
  const text = await context.git.run(cwd, ['diff', '--no-color', '--no-ext-diff', '-M', record.baseCommit]);
  const truncated = text.length > MAX_DIFF_BYTES;
  const files = parseDiff(truncated ? text.slice(0, MAX_DIFF_BYTES) : text);
  const untracked = (await context.git.run(cwd, ['ls-files', '--others', '--exclude-standard', '-z'])).split('\0').filter(Boolean);
  for (const path of untracked) {
    let lines: string[] = [];
    let status: DiffFile['status'] = 'untracked';
    try {
      if (statSync(join(cwd, path)).size > MAX_UNTRACKED_BYTES) lines = ['(larger than 256 KB; not shown)'];
      else {
        const content = readFileSync(join(cwd, path));
        if (content.includes(0)) status = 'binary';
        else lines = content.toString('utf8').replace(/\n$/, '').split('\n').map((line) => `+${line}`);
      }
    } catch {
      continue;
    }
    files.push({ path, status, lines, additions: lines.length, deletions: 0 });
  }
  return { base: `${record.baseRef} (${record.baseCommit.slice(0, 10)})`, files, truncated };
}

/** Splits `git diff` output into files; each keeps its hunk headers and +/-/context lines. */
export function parseDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  let current: DiffFile | undefined;
  let inHunk = false;
  for (const line of text.split('\n')) {
    const header = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
    if (header) {
      current = { path: header[2]!, status: 'modified', lines: [], additions: 0, deletions: 0 };
      files.push(current);
      inHunk = false;
      continue;
    }
    if (!current) continue;
    if (!inHunk) {
      if (line.startsWith('new file')) current.status = 'added';
      else if (line.startsWith('deleted file')) current.status = 'deleted';
      else if (line.startsWith('rename from')) current.status = 'renamed';
      else if (line.startsWith('Binary files')) current.status = 'binary';
      if (!line.startsWith('@@')) continue;
    }
    inHunk = true;
    if (line.startsWith('+')) current.additions++;
    else if (line.startsWith('-')) current.deletions++;
    if (line !== '' || current.lines.length) current.lines.push(line);
  }
  for (const file of files) while (file.lines.at(-1) === '') file.lines.pop();
  return files;
}
