import { describe, expect, it } from 'vitest';
import { nameFromTask, repoSlug, validateName } from '../../src/fleet/names.js';

describe('agent names', () => {
  it('accepts the portable alphabet', () => {
    for (const name of ['a', 'fix-login', 'Agent_07', '9lives', 'x'.repeat(40)]) expect(validateName(name)).toBe(name);
  });

  it('rejects names that tmux, git or a shell would mangle, and suggests one', () => {
    expect(() => validateName('fix login/part 2')).toThrow(/Invalid agent name "fix login\/part 2".*For example "fix-login-part-2"/);
    for (const name of ['a.b', 'a:b', '-a', '_a', 'a b', 'a$b', 'é', '..', 'x'.repeat(41)]) expect(() => validateName(name)).toThrow(/Invalid agent name/);
  });

  it('derives a valid, readable default name from the task', () => {
    const name = nameFromTask('Fix the Login bug in src/auth.ts — urgently!');
    expect(name).toMatch(/^fix-the-login-bug-in-[0-9a-f]{4}$/);
    expect(validateName(name)).toBe(name);
    expect(nameFromTask('漢字だけ')).toMatch(/^agent-[0-9a-f]{4}$/);
    expect(nameFromTask('same task')).not.toBe(nameFromTask('same task'));
  });

  it('makes folder names for repos', () => {
    expect(repoSlug('/home/me/My Repo ünï')).toBe('my-repo-uni');
    expect(repoSlug('/x/漢字')).toBe('repo');
  });
});
