import type { MailboxEntry } from '../config/index.js';
import type { Log } from '../log/index.js';
import type { Pop3ClientApi } from '../pop3/api.js';

/** What an {@link AuthProvider} gets for one session. */
export interface AuthRequest {
  /** The local user the entry belongs to. */
  userId: string;
  entry: MailboxEntry;
  log: Log;
  signal?: AbortSignal;
}

/**
 * Authenticates one POP3 session for a mailbox entry: password (USER/PASS or SASL PLAIN), APOP,
 * or OAuth 2.0 (XOAUTH2/OAUTHBEARER with a fresh access token). The collector calls it after the
 * connection (and TLS) is established and before listing the maildrop.
 * Rejects with a `MultiPopError` (`AUTH_FAILED`, `OAUTH_NEEDS_PERMISSION`, …).
 */
export interface AuthProvider {
  /** A short name for logs: `password`, `apop`, `gmail-oauth`, … */
  readonly name: string;
  /** Logs `client` in for `request.entry`; resolves once the server accepted the login. */
  authenticate(client: Pop3ClientApi, request: AuthRequest): Promise<void>;
}
