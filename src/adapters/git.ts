import { lstatSync, realpathSync, statSync } from 'node:fs';
import { runProcess } from './run.js';
import { ExternalToolError, NotFoundError, UserInputError } from '../errors.js';

/**
 * The git adapter: every git call ringmaster makes goes through here. Paths are
 * passed as argv, never through a shell, so spaces and unicode are safe.
 * (Plain child processes rather than simple-git: simple-git resolves quiet commands that
 * fail without stderr, such as `show-ref --quiet`, as if they had succeeded.)
 */
export class Git {
  constructor(private readonly binary = 'git') {}

  async run(cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
    const result = await runProcess(this.binary, args, {
      cwd,
      // Never stop to ask for credentials or an editor: there is nobody to answer.
      env: { GIT_TERMINAL_PROMPT: '0', GIT_EDITOR: 'true', LC_ALL: 'C', ...extraEnv },
    });
    if (result.exitCode === 0) return result.stdout;
    if (result.exitCode === undefined) {
      throw new ExternalToolError(`git could not be run (${result.error?.message ?? 'killed by a signal'}). Install git 2.25 or newer and make sure it is on PATH.`);
    }
    throw new GitCommandError(args, result.stderr.trim() || `exit code ${result.exitCode}`, undefined);
  }

  /** Like run(), but a failing command yields undefined instead of throwing. */
  async tryRun(cwd: string, args: string[]): Promise<string | undefined> {
    try {
      return await this.run(cwd, args);
    } catch (error) {
      if (error instanceof GitCommandError) return undefined;
      throw error;
    }
  }

  async version(): Promise<string> {
    return (await this.run(process.cwd(), ['--version'])).trim();
  }

  /**
   * Turns any path inside a work tree into the repository's top level, or
   * explains exactly why it can't be used.
   */
  async resolveRepo(path: string): Promise<string> {
    let stats;
    try {
      stats = statSync(path);
    } catch {
      throw new NotFoundError(`Repository path ${JSON.stringify(path)} does not exist. Pass the absolute path of a git checkout.`);
    }
    if (!stats.isDirectory()) throw new UserInputError(`${JSON.stringify(path)} is a file, not a directory. Pass the path of a git checkout.`);
    const bare = await this.tryRun(path, ['rev-parse', '--is-bare-repository']);
    if (bare === undefined) {
      throw new UserInputError(`${JSON.stringify(path)} is not a git repository. Pass a git checkout, or run \`git init\` there and commit first.`);
    }
    if (bare.trim() === 'true') {
      throw new UserInputError(
        `${JSON.stringify(path)} is a bare repository, which has no working tree to branch from. Clone it (\`git clone ${path} <dir>\`) and pass the clone.`,
      );
    }
    const topLevel = (await this.run(path, ['rev-parse', '--show-toplevel'])).trim();
    if (!topLevel) throw new UserInputError(`${JSON.stringify(path)} is inside a .git directory, not a work tree. Pass the checkout itself.`);
    return realpathSync(topLevel);
  }

  /** Host names of the repository's remotes (https, ssh and scp-like URLs); local paths have none. */
  async remoteHosts(repo: string): Promise<string[]> {
    const out = (await this.tryRun(repo, ['remote', '-v'])) ?? '';
    const hosts = new Set<string>();
    for (const line of out.split('\n')) {
      const url = line.split(/\s+/)[1];
      if (!url) continue;
      const host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)/i.exec(url)?.[1] ?? /^(?:[^@/]+@)?([^:/]+):(?!\/)/.exec(url)?.[1];
      if (host) hosts.add(host.toLowerCase());
    }
    return [...hosts];
  }

  async hasCommits(repo: string): Promise<boolean> {
    return (await this.tryRun(repo, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])) !== undefined;
  }

  /** The branch HEAD points to, or undefined when HEAD is detached. */
  async currentBranch(repo: string): Promise<string | undefined> {
    const name = await this.tryRun(repo, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
    return name?.trim() || undefined;
  }

  async resolveCommit(repo: string, ref: string): Promise<string | undefined> {
    if (ref.startsWith('-')) return undefined;
    const sha = await this.tryRun(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return sha?.trim() || undefined;
  }

  async branchExists(repo: string, branch: string): Promise<boolean> {
    return (await this.tryRun(repo, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`])) !== undefined;
  }

  async isValidBranchName(repo: string, branch: string): Promise<boolean> {
    if (branch.startsWith('-')) return false;
    return (await this.tryRun(repo, ['check-ref-format', '--branch', branch])) !== undefined;
  }

  async addWorktree(repo: string, worktreePath: string, branch: string, baseCommit: string): Promise<void> {
    await withRepoLock(repo, () =>
      retryOnLock(() => this.run(repo, ['worktree', 'add', '--quiet', '--no-track', '-b', branch, worktreePath, baseCommit])),
    );
  }

  /** Removes a registered worktree (and its files) even if dirty; callers check for unsaved work first. */
  async removeWorktree(repo: string, worktreePath: string): Promise<void> {
    await withRepoLock(repo, () => retryOnLock(() => this.run(repo, ['worktree', 'remove', '--force', '--force', worktreePath])));
  }

  async pruneWorktrees(repo: string): Promise<void> {
    await withRepoLock(repo, () => retryOnLock(() => this.run(repo, ['worktree', 'prune'])));
  }

  async listWorktreePaths(repo: string): Promise<string[]> {
    const out = await this.run(repo, ['worktree', 'list', '--porcelain', '-z']);
    return out
      .split('\0')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));
  }

  /** Uncommitted changes, including untracked files that aren't ignored. One entry per path. */
  async dirtyFiles(worktreePath: string): Promise<string[]> {
    const out = await this.run(worktreePath, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
    const entries: string[] = [];
    const parts = out.split('\0');
    for (let i = 0; i < parts.length; i++) {
      const entry = parts[i]!;
      if (entry.length < 4) continue;
      entries.push(entry.slice(3));
      // Renames and copies carry the original path as the next NUL-separated field.
      if (entry[0] === 'R' || entry[0] === 'C') i++;
    }
    return entries;
  }

  async headCommit(worktreePath: string): Promise<string | undefined> {
    return (await this.tryRun(worktreePath, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']))?.trim() || undefined;
  }

  /**
   * Commits reachable from `commit` that no other local branch and no
   * remote-tracking branch contains: the work that would be lost with `branch`.
   */
  async commitsOnlyOn(repo: string, commit: string, branch: string): Promise<string[]> {
    // With --branches, --exclude patterns are relative to refs/heads/ (git-rev-list(1)).
    const out = await this.run(repo, ['rev-list', commit, '--not', `--exclude=${branch}`, '--branches', '--remotes']);
    return out.split('\n').filter(Boolean);
  }

  /** Commits on HEAD not in base (ahead) and in base not on HEAD (behind). */
  async aheadBehind(worktreePath: string, base: string): Promise<{ ahead: number; behind: number }> {
    const out = await this.run(worktreePath, ['rev-list', '--left-right', '--count', `${base}...HEAD`]);
    const [behind = 0, ahead = 0] = out.trim().split(/\s+/).map(Number);
    return { ahead, behind };
  }

  /** Files, insertions and deletions from the fork point with base to the working tree (committed or not). */
  async diffStat(worktreePath: string, base: string): Promise<{ files: number; insertions: number; deletions: number }> {
    const forkPoint = (await this.run(worktreePath, ['merge-base', base, 'HEAD'])).trim();
    const out = await this.run(worktreePath, ['diff', '--shortstat', forkPoint]);
    const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1] ?? 0);
    return { files: number(/(\d+) files? changed/), insertions: number(/(\d+) insertions?/), deletions: number(/(\d+) deletions?/) };
  }

  /** The upstream of HEAD's branch and how many commits it lacks; or, with no upstream, whether any remote branch has HEAD. */
  async pushState(worktreePath: string): Promise<{ upstream: string | null; unpushed: number | null; onRemote: boolean }> {
    const upstream = (await this.tryRun(worktreePath, ['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}']))?.trim() || null;
    if (upstream) {
      const count = Number((await this.run(worktreePath, ['rev-list', '--count', '@{upstream}..HEAD'])).trim());
      return { upstream, unpushed: count, onRemote: count === 0 };
    }
    const remotes = (await this.run(worktreePath, ['branch', '--remotes', '--contains', 'HEAD'])).trim();
    return { upstream: null, unpushed: null, onRemote: remotes !== '' };
  }

  /**
   * One `git status` for a summary: the branch, its upstream with how far HEAD
   * is ahead of it (none when the upstream is gone), and the dirty files. It
   * takes no optional lock, so reading never rewrites the index.
   */
  async worktreeStatus(worktreePath: string): Promise<{ branch: string | undefined; head: string | null; upstream: string | null; aheadOfUpstream: number | null; dirtyFiles: string[] }> {
    const out = await this.run(worktreePath, ['status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all'], { GIT_OPTIONAL_LOCKS: '0' });
    let branch: string | undefined;
    let head: string | null = null;
    let upstream: string | null = null;
    let aheadOfUpstream: number | null = null;
    const dirtyFiles: string[] = [];
    const parts = out.split('\0');
    for (let i = 0; i < parts.length; i++) {
      const entry = parts[i]!;
      if (entry.startsWith('# branch.oid ')) {
        const oid = entry.slice('# branch.oid '.length);
        head = /^[0-9a-f]{40,64}$/.test(oid) ? oid : null;
      } else if (entry.startsWith('# branch.head ')) {
        const head = entry.slice('# branch.head '.length);
        branch = head === '(detached)' ? undefined : head;
      } else if (entry.startsWith('# branch.upstream ')) upstream = entry.slice('# branch.upstream '.length);
      else if (entry.startsWith('# branch.ab ')) aheadOfUpstream = Number(/\+(\d+)/.exec(entry)?.[1] ?? 0);
      else if (entry.startsWith('1 ')) dirtyFiles.push(fieldsAfter(entry, 8));
      else if (entry.startsWith('2 ')) {
        dirtyFiles.push(fieldsAfter(entry, 9));
        i++; // the original path of a rename or copy
      } else if (entry.startsWith('u ')) dirtyFiles.push(fieldsAfter(entry, 10));
      else if (entry.startsWith('? ')) dirtyFiles.push(entry.slice(2));
    }
    // An upstream that is gone has no `branch.ab` line: it counts as none, as `@{upstream}` fails for it.
    return { branch, head, upstream: aheadOfUpstream === null ? null : upstream, aheadOfUpstream, dirtyFiles };
  }

  /** diffStat in one process (`git diff --merge-base`, git 2.30+), falling back to two on older git. */
  async diffStatFromForkPoint(worktreePath: string, base: string): Promise<{ files: number; insertions: number; deletions: number }> {
    const out = await this.tryRun(worktreePath, ['diff', '--shortstat', '--merge-base', base]);
    if (out === undefined) return this.diffStat(worktreePath, base);
    const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1] ?? 0);
    return { files: number(/(\d+) files? changed/), insertions: number(/(\d+) insertions?/), deletions: number(/(\d+) deletions?/) };
  }

  /** Whether some remote-tracking branch contains HEAD: no commit of HEAD is outside all of them. */
  async headOnSomeRemote(worktreePath: string): Promise<boolean> {
    return Number((await this.run(worktreePath, ['rev-list', '--count', 'HEAD', '--not', '--remotes'])).trim()) === 0;
  }

  async deleteBranch(repo: string, branch: string): Promise<void> {
    await withRepoLock(repo, () => retryOnLock(() => this.run(repo, ['branch', '--delete', '--force', '--end-of-options', branch])));
  }
}

/** The path of a porcelain v2 entry: everything after its first `count` space-separated fields. */
function fieldsAfter(entry: string, count: number): string {
  let index = 0;
  for (let field = 0; field < count; field++) index = entry.indexOf(' ', index) + 1;
  return entry.slice(index);
}

export class GitCommandError extends ExternalToolError {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    cause: unknown,
  ) {
    super(`git ${args.join(' ')} failed: ${stderr}`, { cause });
  }
}

// In-process serialisation of ref and worktree writes per repository; git's own
// lock files protect us across processes, and retryOnLock waits those out.
const repoLocks = new Map<string, Promise<unknown>>();

async function withRepoLock<T>(repo: string, action: () => Promise<T>): Promise<T> {
  const previous = repoLocks.get(repo) ?? Promise.resolve();
  const next = previous.then(action, action);
  const settled = next.catch(() => undefined);
  repoLocks.set(repo, settled);
  try {
    return await next;
  } finally {
    if (repoLocks.get(repo) === settled) repoLocks.delete(repo);
  }
}

async function retryOnLock<T>(action: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      const transient = error instanceof GitCommandError && /\.lock'?: File exists|Unable to create .*\.lock|could not lock/i.test(error.stderr);
      if (!transient || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
    }
  }
}

/** What `git merge-tree --write-tree` says about merging two commits, without touching any worktree or ref. */
export interface MergePreview {
  clean: boolean;
  /** The files that would conflict (empty when clean). */
  conflictedFiles: string[];
}

/**
 * A merge of `ours` and `theirs` computed in the object store only (git ≥ 2.38):
 * exit 0 is clean, exit 1 is a conflict with the files listed after the tree id.
 */
export async function previewMerge(repo: string, ours: string, theirs: string, binary = 'git'): Promise<MergePreview> {
  const result = await runProcess(binary, ['merge-tree', '--write-tree', '--name-only', '--no-messages', ours, theirs], {
    cwd: repo,
    env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
  });
  if (result.exitCode === 0) return { clean: true, conflictedFiles: [] };
  if (result.exitCode === 1) {
    const files = result.stdout.split('\n').slice(1).filter(Boolean);
    return { clean: false, conflictedFiles: [...new Set(files)] };
  }
  throw new GitCommandError(['merge-tree', '--write-tree', ours, theirs], result.stderr.trim() || `exit code ${result.exitCode}`, undefined);
}

/**
 * Drops entries that are no real file (sockets, devices, fifos): while a
 * sandboxed command runs, the sandbox masks dotfiles in the worktree with
 * placeholder devices, which are nobody's work. Deleted paths are kept.
 */
export function realChanges(worktreePath: string, paths: string[]): string[] {
  return paths.filter((path) => {
    try {
      const stat = lstatSync(`${worktreePath}/${path}`);
      return stat.isFile() || stat.isSymbolicLink() || stat.isDirectory();
    } catch {
      return true;
    }
  });
}
