import { describe, expect, it } from 'vitest';
import { chooseMethod } from '../../src/forge/land.js';
import { ExternalToolError, UserInputError } from '../../src/errors.js';

const settings = (merge: boolean, squash: boolean, rebase: boolean, preferred: string | null) => ({ mergeCommitAllowed: merge, squashMergeAllowed: squash, rebaseMergeAllowed: rebase, viewerDefaultMergeMethod: preferred });

describe('the merge method land uses', () => {
  it("takes the repository's preferred method when allowed, else the first allowed one", () => {
    expect(chooseMethod(settings(true, true, true, 'SQUASH'), undefined)).toBe('squash');
    expect(chooseMethod(settings(true, true, true, 'REBASE'), undefined)).toBe('rebase');
    expect(chooseMethod(settings(false, true, true, 'MERGE'), undefined)).toBe('squash');
    expect(chooseMethod(settings(false, false, true, null), undefined)).toBe('rebase');
  });

  it('takes a requested method only when the repository allows it', () => {
    expect(chooseMethod(settings(true, false, true, 'MERGE'), 'rebase')).toBe('rebase');
    expect(() => chooseMethod(settings(true, false, true, 'MERGE'), 'squash')).toThrow(UserInputError);
    expect(() => chooseMethod(settings(true, false, true, 'MERGE'), 'squash')).toThrow('The repository does not allow squash merges; it allows merge, rebase.');
    expect(() => chooseMethod(settings(false, false, false, null), undefined)).toThrow(ExternalToolError);
  });
});
