import { randomBytes } from 'node:crypto';
import { UserInputError } from '../errors.js';

/**
 * Agent names become tmux session names, directory names and branch names, so
 * they are kept to a portable alphabet: tmux rewrites "." and ":", git forbids
 * "..", shells split on spaces, and some filesystems mangle non-ASCII.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

export function slugify(text: string, maxLength = 24): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[^\x00-\x7f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug;
}

export function validateName(name: string): string {
  if (NAME_PATTERN.test(name)) return name;
  const suggestion = slugify(name, 40) || 'agent-1';
  throw new UserInputError(
    `Invalid agent name ${JSON.stringify(name)}: use 1-40 ASCII letters, digits, "-" or "_", starting with a letter or digit ` +
      `(no "/", "..", spaces, shell characters or non-ASCII). For example "${suggestion}".`,
  );
}

/** A readable default: the first words of the task plus a short random suffix. */
export function nameFromTask(task: string): string {
  const firstWords = task.split(/\s+/).slice(0, 5).join(' ');
  const base = slugify(firstWords, 24) || 'agent';
  return `${base}-${randomBytes(2).toString('hex')}`;
}

export function sessionName(agentName: string): string {
  return `ringmaster-${agentName}`;
}

/** A filesystem-friendly folder name for a repository. */
export function repoSlug(repoPath: string): string {
  const base = repoPath.split('/').filter(Boolean).pop() ?? 'repo';
  return slugify(base, 40) || 'repo';
}
