import type { MultiPopError } from '../../errors/index.js';

/**
 * What the {@link OAuthService} reports to its host (the fetcher maps these to its
 * `mailbox:needs-permission` event and status flag):
 * - `granted` — the user completed "Grant permission"; tokens are stored and the entry enabled;
 * - `needs-permission` — the grant is gone (revoked, expired, refused by the POP3 server even
 *   with a fresh token): collection of the entry should pause until the user grants again;
 * - `refreshed` — a new access token was stored (no token in the event).
 */
export type OAuthEvent =
  | { type: 'granted'; userId: string; mailboxId: string }
  | { type: 'needs-permission'; userId: string; mailboxId: string; error: MultiPopError }
  | { type: 'refreshed'; userId: string; mailboxId: string; expiresAt?: number };

/** Receives {@link OAuthEvent}s; exceptions it throws are swallowed. */
export type OAuthEventListener = (event: OAuthEvent) => void;
