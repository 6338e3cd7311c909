import { existsSync } from 'node:fs';
import type { Git } from '../adapters/git.js';
import type { AgentRecord } from '../store/store.js';

export interface GitSummary {
  branch: string | null;
  base: string;
  ahead: number;
  behind: number;
  dirtyFiles: string[];
  diffStat: { files: number; insertions: number; deletions: number };
  upstream: string | null;
  /** True when HEAD is on the upstream, or on some remote branch when there is no upstream. */
  pushed: boolean;
  unpushedCommits: number | null;
}

/** What the agent's worktree holds compared with its base. Undefined when the worktree is gone. */
export async function gitSummary(git: Git, agent: AgentRecord): Promise<GitSummary | undefined> {
  if (!existsSync(agent.worktreePath)) return undefined;
  // The base may be a moving branch; if it has vanished, compare with the commit the agent started from.
  const base = (await git.resolveCommit(agent.worktreePath, agent.baseRef)) ? agent.baseRef : agent.baseCommit;
  const [branch, counts, dirtyFiles, diffStat, push] = await Promise.all([
    git.currentBranch(agent.worktreePath),
    git.aheadBehind(agent.worktreePath, base),
    git.dirtyFiles(agent.worktreePath),
    git.diffStat(agent.worktreePath, base),
    git.pushState(agent.worktreePath),
  ]);
  return {
    branch: branch ?? null,
    base: agent.baseRef,
    ahead: counts.ahead,
    behind: counts.behind,
    dirtyFiles,
    diffStat,
    upstream: push.upstream,
    pushed: push.onRemote,
    unpushedCommits: push.unpushed,
  };
}
