import type { OAuthProviderName } from '../config/index.js';
import type { Actor } from './actor.js';

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
  /** The owner of the entry. */
  userId: string;
  mailboxId: string;
  provider: OAuthProviderName;
  redirectUri: string;
  /** ms since epoch after which the grant is void. */
  expiresAt: number;
  /** The session that started the grant; only it may complete it. */
  startedBy: Actor;
}

/**
 * Stores OAuth token sets per mailbox entry, the short-lived pending grants, and the refresh
 * leases that keep several processes sharing the store from refreshing one entry at once. The
 * stores we ship encrypt tokens at rest.
 */
export interface TokenStore {
  /** A mailbox entry's token set, or undefined. */
  getTokens(mailboxId: string): Promise<OAuthTokenSet | undefined>;
  /** Saves (replaces) a mailbox entry's token set. */
  setTokens(mailboxId: string, tokens: OAuthTokenSet): Promise<void>;
  /** Deletes a mailbox entry's tokens; none is no change. */
  deleteTokens(mailboxId: string): Promise<void>;
  /**
   * Deletes a mailbox entry's tokens only while its refresh token is still `refreshToken`, in
   * one atomic step: a dead grant is cleaned up without deleting a newer grant that another
   * process stored meanwhile. Returns whether it deleted.
   */
  deleteTokensIfRefreshToken(mailboxId: string, refreshToken: string): Promise<boolean>;
  /** Saves a started grant under its `state` (replacing one with the same state). */
  putPendingGrant(grant: PendingGrant): Promise<void>;
  /**
   * Reads a pending grant without using it up (to check who may complete it first). Expired
   * grants are returned too: the caller checks `expiresAt`.
   */
  findPendingGrant(state: string): Promise<PendingGrant | undefined>;
  /** Returns and removes the pending grant in one step, so a `state` can be used once only. */
  takePendingGrant(state: string): Promise<PendingGrant | undefined>;
  /** Removes the pending grants that expired before `now` (ms since epoch); returns how many. */
  purgeExpiredGrants(now: number): Promise<number>;
  /**
   * Takes the refresh lease of a mailbox entry for `holder` until `now + ttlMs`, in one atomic
   * step. Succeeds when no lease is held, the held one expired, or `holder` holds it already.
   * Only the holder refreshes; everyone else waits for its result.
   */
  acquireRefreshLease(mailboxId: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease back if `holder` still holds it (a lease taken over after expiry stays). */
  releaseRefreshLease(mailboxId: string, holder: string): Promise<void>;
}
