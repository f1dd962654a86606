import type { OAuthProviderName } from '../config/index.js';

/** The OAuth tokens of one mailbox entry. */
export interface OAuthTokenSet {
  accessToken: string;
  refreshToken?: string;
  /** When the access token expires (ms since epoch). */
  expiresAt?: number;
  scope?: string;
  tokenType?: string;
}

/** A "Grant permission" that was started and not yet completed. */
export interface PendingGrant {
  /** The opaque `state` sent to the provider (the key). */
  state: string;
  /** PKCE code verifier (S256). */
  codeVerifier: string;
  userId: string;
  mailboxId: string;
  provider: OAuthProviderName;
  redirectUri: string;
  /** ms since epoch after which the grant is void. */
  expiresAt: number;
}

/**
 * Stores OAuth token sets per mailbox entry and the short-lived pending grants. The stores we
 * ship encrypt tokens at rest.
 */
export interface TokenStore {
  /** A mailbox entry's token set, or undefined. */
  getTokens(mailboxId: string): Promise<OAuthTokenSet | undefined>;
  /** Saves (replaces) a mailbox entry's token set. */
  setTokens(mailboxId: string, tokens: OAuthTokenSet): Promise<void>;
  /** Deletes a mailbox entry's tokens; none is no change. */
  deleteTokens(mailboxId: string): Promise<void>;
  /** Saves a started grant under its `state` (replacing one with the same state). */
  putPendingGrant(grant: PendingGrant): Promise<void>;
  /** Returns and removes the pending grant in one step, so a `state` can be used once only. */
  takePendingGrant(state: string): Promise<PendingGrant | undefined>;
}
