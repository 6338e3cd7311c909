import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';

/** The browser session cookie: HttpOnly, SameSite=Strict, never readable by a page's script. */
export const SESSION_COOKIE = 'ringmaster_session';
const SESSION_MS = 12 * 60 * 60 * 1000;
/** How long a one-time code from `ringmaster dashboard` can be exchanged. */
export const CODE_MS = 2 * 60 * 1000;

export interface Session {
  id: string;
  /** Sent back in every state-changing form; a cross-site page cannot read it. */
  csrf: string;
  expiresAt: number;
  flash?: { kind: 'ok' | 'error'; text: string };
}

/** Where a server announces itself and where `ringmaster dashboard` leaves one-time codes. */
export function dashboardDir(home: string): string {
  return join(home, 'dashboard');
}

const codeFile = (home: string, code: string) => join(dashboardDir(home), 'codes', createHash('sha256').update(code).digest('hex'));

/**
 * Writes a single-use login code (only its hash is stored, in a folder only the
 * user can read) for `ringmaster dashboard`; the server that shares this
 * RINGMASTER_HOME exchanges it once for a session.
 */
export function createLoginCode(home: string): string {
  const code = randomBytes(24).toString('base64url');
  mkdirSync(join(dashboardDir(home), 'codes'), { recursive: true, mode: 0o700 });
  writeFileSync(codeFile(home, code), String(Date.now()), { mode: 0o600 });
  return code;
}

/** Wrong logins (token or one-time code) allowed per window before the login stops checking. */
export const LOGIN_FAILURES_ALLOWED = 10;
export const LOGIN_WINDOW_MS = 60_000;

/**
 * Browser sessions of one server: log in with the bearer token (POST) or a
 * one-time code, then a cookie; every state-changing request carries the
 * session's CSRF token.
 */
export class DashboardAuth {
  private readonly sessions = new Map<string, Session>();
  private readonly expected: Buffer;

  constructor(
    token: string,
    private readonly home: string,
  ) {
    this.expected = Buffer.from(token);
  }

  private failures: number[] = [];

  /**
   * Seconds to wait before the login checks another secret, or 0. Past
   * LOGIN_FAILURES_ALLOWED wrong tries within LOGIN_WINDOW_MS every try is
   * refused unchecked until the oldest leaves the window: a guesser gets ten
   * tries a minute, the user who mistyped waits at most a minute.
   */
  loginWait(now = Date.now()): number {
    this.failures = this.failures.filter((at) => now - at < LOGIN_WINDOW_MS);
    if (this.failures.length < LOGIN_FAILURES_ALLOWED) return 0;
    return Math.max(1, Math.ceil((this.failures[0]! + LOGIN_WINDOW_MS - now) / 1000));
  }

  loginFailed(now = Date.now()): void {
    this.failures.push(now);
  }

  tokenMatches(given: string): boolean {
    const bytes = Buffer.from(given);
    return bytes.length === this.expected.length && timingSafeEqual(bytes, this.expected);
  }

  /** Claims a one-time code: true only for the first claim within CODE_MS of its creation. */
  claimCode(code: string): boolean {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(code)) return false;
    const file = codeFile(this.home, code);
    let created: number;
    try {
      created = Number(readFileSync(file, 'utf8')) || statSync(file).mtimeMs;
      // Deleting is the claim: of two racing exchanges only one unlink succeeds.
      unlinkSync(file);
    } catch {
      return false;
    }
    return Date.now() - created <= CODE_MS;
  }

  open(): Session {
    const session: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(24).toString('base64url'), expiresAt: Date.now() + SESSION_MS };
    this.sessions.set(session.id, session);
    return session;
  }

  close(session: Session): void {
    this.sessions.delete(session.id);
  }

  sessionOf(request: IncomingMessage): Session | undefined {
    const id = cookies(request)[SESSION_COOKIE];
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) return undefined;
    if (session.expiresAt < Date.now()) {
      this.sessions.delete(session.id);
      return undefined;
    }
    return session;
  }

  csrfMatches(session: Session, given: string | undefined): boolean {
    const a = Buffer.from(given ?? '');
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  cookie(session: Session): string {
    return `${SESSION_COOKIE}=${session.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}`;
  }
}

export const CLEARED_COOKIE = `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;

function cookies(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}
