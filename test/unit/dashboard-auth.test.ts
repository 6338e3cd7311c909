import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DashboardAuth, LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_MS } from '../../src/dashboard/auth.js';

const home = mkdtempSync(join(tmpdir(), 'rm-auth-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('dashboard login throttle', () => {
  it('refuses after ten wrong logins within a minute, until the oldest leaves the window', () => {
    const auth = new DashboardAuth('t'.repeat(43), home);
    const start = 1_000_000;
    for (let index = 0; index < LOGIN_FAILURES_ALLOWED - 1; index++) auth.loginFailed(start + index * 1000);
    expect(auth.loginWait(start + 9_500)).toBe(0);
    auth.loginFailed(start + 9_500);
    expect(auth.loginWait(start + 10_000)).toBe(50);
    expect(auth.loginWait(start + LOGIN_WINDOW_MS - 1)).toBe(1);
    // The first failure left the window: one more try is checked.
    expect(auth.loginWait(start + LOGIN_WINDOW_MS)).toBe(0);
  });
});
