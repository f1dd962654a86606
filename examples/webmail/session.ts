/**
 * Webmail's own small session: a random id in an HttpOnly cookie, and on the server the CSRF
 * token of that session and a one-shot notice for the next page (post/redirect/get).
 *
 * Signing users in is the host's business (`currentUser`); this session only exists so that
 * every form carries a token an attacker's page cannot know, and so that a result survives the
 * redirect after a POST. A session is bound to the user it was made for: when `currentUser`
 * answers with someone else, a new session (with a new token) starts.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A message shown once at the top of the next page. */
export interface Notice {
  kind: 'success' | 'error' | 'info';
  text: string;
}

/** One browser's webmail session. */
export interface WebmailSession {
  readonly id: string;
  /** The local user the session belongs to. */
  readonly userId: string;
  /** Put into every form as `_csrf`; compared on every POST. */
  readonly csrfToken: string;
  /** Shown once, then cleared. */
  notice?: Notice;
  lastSeen: number;
}

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /** Name of the session cookie. @default 'webmail_sid' */
  cookieName?: string;
  /** Sessions unused this long are forgotten (ms). @default 8 hours */
  idleMs?: number;
  /** Upper bound on sessions kept; the least recently used go first. @default 10000 */
  maxSessions?: number;
  /** Add `Secure` to the cookie (serve webmail over HTTPS in production). @default false */
  secureCookie?: boolean;
  /** Clock. @default Date.now */
  now?: () => number;
}

/**
 * Sessions in memory, keyed by a 256-bit random id.
 *
 * @example
 * ```ts
 * const sessions = new SessionStore();
 * const session = sessions.open(req, res, 'ann@example.com');
 * if (req.method === 'POST' && !sessions.checkCsrf(session, form.get('_csrf'))) return forbidden();
 * ```
 */
export class SessionStore {
  // Map order is insertion order; `touch` re-inserts, so the first key is the least recently used.
  readonly #sessions = new Map<string, WebmailSession>();
  readonly #cookieName: string;
  readonly #idleMs: number;
  readonly #max: number;
  readonly #secure: boolean;
  readonly #now: () => number;

  constructor(options: SessionStoreOptions = {}) {
    this.#cookieName = options.cookieName ?? 'webmail_sid';
    this.#idleMs = options.idleMs ?? 8 * 3600_000;
    this.#max = options.maxSessions ?? 10_000;
    this.#secure = options.secureCookie ?? false;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The request's session for `userId`, or a new one (then the cookie is set on `res`).
   *
   * @example
   * ```ts
   * const session = sessions.open(req, res, userId);
   * ```
   */
  open(req: IncomingMessage, res: ServerResponse, userId: string): WebmailSession {
    const now = this.#now();
    const id = readCookie(req, this.#cookieName);
    const existing = id === undefined ? undefined : this.#sessions.get(id);
    if (existing && existing.userId === userId && now - existing.lastSeen <= this.#idleMs) {
      this.#touch(existing, now);
      return existing;
    }
    if (existing) this.#sessions.delete(existing.id);
    const session: WebmailSession = {
      id: randomBytes(32).toString('base64url'),
      userId,
      csrfToken: randomBytes(32).toString('base64url'),
      lastSeen: now,
    };
    this.#touch(session, now);
    this.#evict(now);
    const attributes = ['Path=/', 'HttpOnly', 'SameSite=Lax', ...(this.#secure ? ['Secure'] : [])];
    res.appendHeader('set-cookie', `${this.#cookieName}=${session.id}; ${attributes.join('; ')}`);
    return session;
  }

  /**
   * True when `submitted` is the session's CSRF token (compared in constant time).
   *
   * @example
   * ```ts
   * sessions.checkCsrf(session, form.get('_csrf')); // false for a forged form
   * ```
   */
  checkCsrf(session: WebmailSession, submitted: string | null | undefined): boolean {
    if (typeof submitted !== 'string') return false;
    const a = Buffer.from(submitted);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Returns and clears the session's notice.
   *
   * @example
   * ```ts
   * const notice = sessions.takeNotice(session);
   * ```
   */
  takeNotice(session: WebmailSession): Notice | undefined {
    const notice = session.notice;
    delete session.notice;
    return notice;
  }

  /** Number of sessions kept (for tests and metrics). */
  get size(): number {
    return this.#sessions.size;
  }

  #touch(session: WebmailSession, now: number): void {
    session.lastSeen = now;
    this.#sessions.delete(session.id);
    this.#sessions.set(session.id, session);
  }

  // Drops idle sessions from the old end, and the oldest ones beyond the cap.
  #evict(now: number): void {
    for (const [id, session] of this.#sessions) {
      const idle = now - session.lastSeen > this.#idleMs;
      if (!idle && this.#sessions.size <= this.#max) break;
      this.#sessions.delete(id);
    }
  }
}

/**
 * The value of a cookie in the request, or undefined.
 *
 * @example
 * ```ts
 * readCookie(req, 'webmail_sid');
 * ```
 */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
