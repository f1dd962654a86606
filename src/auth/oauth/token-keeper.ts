import { type ErrorContext, MultiPopError } from '../../errors/index.js';
import type { OAuthTokenSet } from '../../ports/index.js';
import { locateOAuthEntry, type OAuthContext, type OAuthEntryLocation, profileOf } from './context.js';
import { classifyOAuthError } from './errors.js';
import { SingleFlight } from './single-flight.js';
import { clientParts, refreshTokens } from './token-endpoint.js';

/** Default: refresh an access token when it has less than five minutes left. */
export const DEFAULT_REFRESH_SKEW_MS = 5 * 60_000;

/** Options of `TokenKeeper.getAccessToken` (the OAuth service passes them through). */
export interface GetAccessTokenOptions {
  /** Refresh even though the stored token has not expired (it was rejected). @default false */
  forceRefresh?: boolean;
}

interface Intent {
  force: boolean;
  /** The token the POP3 server refused: a stored token other than this one is already newer. */
  rejected?: string;
}

/**
 * Hands out access tokens per mailbox entry: refreshes ahead of expiry, one refresh at a time
 * per entry (concurrent callers share it), stores rotated refresh tokens, and turns a dead
 * grant into "needs permission".
 */
export class TokenKeeper {
  readonly #ctx: OAuthContext;
  readonly #skewMs: number;
  readonly #flights = new SingleFlight<string>();
  /**
   * Mailbox → the access token obtained right after the POP3 server refused the previous one.
   * If the server refuses this one too, a refresh cannot help: the user must grant again.
   * Cleared by a successful login and by a new grant. In memory only: on another process the
   * worst case is one more refresh-and-reconnect before the same conclusion.
   */
  readonly #afterRejection = new Map<string, string>();

  constructor(ctx: OAuthContext, skewMs: number) {
    this.#ctx = ctx;
    this.#skewMs = skewMs;
  }

  /**
   * A valid access token for the entry, refreshed first when it expires within the skew (or
   * when forced).
   *
   * @throws MultiPopError `OAUTH_NEEDS_PERMISSION` (no grant, no refresh token, `invalid_grant`),
   *   `OAUTH_TRANSIENT` (network, timeout, 429, 5xx), `OAUTH_PROVIDER_ERROR`, `OAUTH_NOT_CONFIGURED`,
   *   `NOT_FOUND`
   */
  async getAccessToken(mailboxId: string, options: GetAccessTokenOptions = {}): Promise<string> {
    return this.#obtain(mailboxId, { force: options.forceRefresh === true });
  }

  /**
   * Called when the POP3 server refused `token` for the entry. Either concludes that the grant
   * is unusable (`OAUTH_NEEDS_PERMISSION`: the token refused was already the fresh one obtained
   * after an earlier refusal), or forces a refresh and throws `AUTH_FAILED` with
   * `context.retryWithFreshToken = true`: the session runner must close this connection, open a
   * new one and authenticate once more (servers may close the connection after a failed AUTH).
   */
  async tokenRejected(location: OAuthEntryLocation, token: string, rejection: MultiPopError): Promise<never> {
    const mailboxId = location.entry.id;
    const serverSaid = rejection.context['saslError'];
    if (this.#afterRejection.get(mailboxId) === token) {
      this.#afterRejection.delete(mailboxId);
      throw this.#needsPermission(
        location,
        'The POP3 server refused a freshly refreshed access token: the user must grant permission again (with the account of this mailbox)',
        { reason: 'token-rejected', saslError: serverSaid },
        rejection,
      );
    }
    const fresh = await this.#obtain(mailboxId, { force: true, rejected: token });
    this.#afterRejection.set(mailboxId, fresh);
    this.#ctx.log.info(
      { mailboxId, userId: location.userId },
      'access token refused by the POP3 server; refreshed it',
    );
    throw new MultiPopError(
      'AUTH_FAILED',
      'The POP3 server refused the access token; a fresh one was obtained: reconnect and authenticate once more',
      { mailboxId, retryWithFreshToken: true, saslError: serverSaid },
      { cause: rejection },
    );
  }

  /** The token worked: forget that it came from a rejection. */
  loginSucceeded(mailboxId: string): void {
    this.#afterRejection.delete(mailboxId);
  }

  /** A new grant replaced whatever was stored. */
  granted(mailboxId: string): void {
    this.#afterRejection.delete(mailboxId);
  }

  async #obtain(mailboxId: string, intent: Intent): Promise<string> {
    const current = await this.#ctx.tokens.getTokens(mailboxId);
    if (current && this.#usable(current, intent)) return current.accessToken;
    return this.#flights.run(mailboxId, () => this.#refresh(mailboxId, intent));
  }

  #usable(tokens: OAuthTokenSet, intent: Intent): boolean {
    if (intent.force && (intent.rejected === undefined || tokens.accessToken === intent.rejected))
      return false;
    // Without an expiry the token is used until a server refuses it.
    return tokens.expiresAt === undefined || tokens.expiresAt - this.#skewMs > this.#ctx.now();
  }

  async #refresh(mailboxId: string, intent: Intent): Promise<string> {
    const location = await locateOAuthEntry(this.#ctx, mailboxId);
    // Read again inside the flight: a refresh that finished just before may have done the work.
    const tokens = await this.#ctx.tokens.getTokens(mailboxId);
    if (!tokens) {
      throw this.#needsPermission(location, 'No permission has been granted for this mailbox yet', {
        reason: 'no-grant',
      });
    }
    if (this.#usable(tokens, intent)) return tokens.accessToken;
    if (tokens.refreshToken === undefined) {
      throw this.#needsPermission(
        location,
        'The access token expired and the provider gave no refresh token',
        {
          reason: 'no-refresh-token',
        },
      );
    }
    const refreshToken = tokens.refreshToken;
    const context = { mailboxId, userId: location.userId, provider: location.provider };
    const profile = await profileOf(this.#ctx, location.provider);
    const resolved = await this.#ctx.servers.resolve(profile);
    this.#ctx.secrets.add(refreshToken);
    let next: OAuthTokenSet;
    try {
      next = await refreshTokens(
        clientParts(profile, resolved),
        { ...tokens, refreshToken },
        this.#ctx.http,
        this.#ctx.now(),
      );
    } catch (err) {
      const error = classifyOAuthError(err, 'refresh', context);
      if (error.code === 'OAUTH_NEEDS_PERMISSION') {
        // The grant is dead: forget its tokens — unless a new grant replaced them meanwhile.
        const latest = await this.#ctx.tokens.getTokens(mailboxId);
        if (latest?.refreshToken === refreshToken) await this.#ctx.tokens.deleteTokens(mailboxId);
        this.#ctx.emit({ type: 'needs-permission', userId: location.userId, mailboxId, error });
        this.#ctx.log.warn(
          { ...context, code: error.code, oauthError: error.context['oauthError'] },
          'OAuth grant is gone',
        );
      } else {
        this.#ctx.log.warn(
          { ...context, code: error.code, status: error.context['status'] },
          'token refresh failed',
        );
      }
      throw error;
    }
    this.#ctx.secrets.add(next.accessToken);
    this.#ctx.secrets.add(next.refreshToken);
    await this.#ctx.tokens.setTokens(mailboxId, next);
    // The replaced values can no longer appear anywhere new; keep the registry from growing.
    if (tokens.accessToken !== next.accessToken) this.#ctx.secrets.delete(tokens.accessToken);
    if (next.refreshToken !== refreshToken) this.#ctx.secrets.delete(refreshToken);
    this.#ctx.log.debug(
      {
        ...context,
        expiresAt: next.expiresAt,
        rotated: next.refreshToken !== refreshToken,
        forced: intent.force,
      },
      'access token refreshed',
    );
    this.#ctx.emit({
      type: 'refreshed',
      userId: location.userId,
      mailboxId,
      ...(next.expiresAt === undefined ? {} : { expiresAt: next.expiresAt }),
    });
    return next.accessToken;
  }

  #needsPermission(
    location: OAuthEntryLocation,
    message: string,
    extra: ErrorContext,
    cause?: unknown,
  ): MultiPopError {
    const mailboxId = location.entry.id;
    const error = new MultiPopError(
      'OAUTH_NEEDS_PERMISSION',
      message,
      { mailboxId, userId: location.userId, provider: location.provider, ...extra },
      cause === undefined ? undefined : { cause },
    );
    this.#ctx.emit({ type: 'needs-permission', userId: location.userId, mailboxId, error });
    this.#ctx.log.warn(
      { mailboxId, userId: location.userId, reason: extra['reason'] },
      'mailbox needs permission again',
    );
    return error;
  }
}
