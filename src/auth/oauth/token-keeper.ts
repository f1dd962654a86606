import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ErrorContext, MultiPopError } from '../../errors/index.js';
import type { OAuthTokenSet } from '../../ports/index.js';
import { locateOAuthEntry, type OAuthContext, type OAuthEntryLocation, profileOf } from './context.js';
import { classifyOAuthError } from './errors.js';
import { SingleFlight } from './single-flight.js';
import { clientParts, refreshTokens } from './token-endpoint.js';

/** Default: refresh an access token when it has less than five minutes left. */
export const DEFAULT_REFRESH_SKEW_MS = 5 * 60_000;

/** How the keeper shares refreshes with other processes over the token store. */
export interface RefreshLeaseTiming {
  /** How long a refresh lease is held at most (longer than one token request may take). */
  leaseMs: number;
  /** How often a process waiting for another one's refresh looks at the store. */
  pollMs: number;
}

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
 * per entry — concurrent callers in this process share it, and other processes sharing the
 * token store wait for it through the store's refresh lease, so a rotating refresh token is
 * never presented twice — stores rotated refresh tokens, and turns a dead grant into "needs
 * permission".
 */
export class TokenKeeper {
  readonly #ctx: OAuthContext;
  readonly #skewMs: number;
  readonly #lease: RefreshLeaseTiming;
  /** This keeper's name in the store's leases (one per process and service). */
  readonly #holder = `keeper-${randomUUID()}`;
  readonly #flights = new SingleFlight<string>();
  /**
   * Mailbox → the access token obtained right after the POP3 server refused the previous one.
   * If the server refuses this one too, a refresh cannot help: the user must grant again.
   * Cleared by a successful login and by a new grant. In memory only: on another process the
   * worst case is one more refresh-and-reconnect before the same conclusion.
   */
  readonly #afterRejection = new Map<string, string>();

  constructor(ctx: OAuthContext, skewMs: number, lease: RefreshLeaseTiming) {
    this.#ctx = ctx;
    this.#skewMs = skewMs;
    this.#lease = lease;
  }

  /**
   * A valid access token for the entry, refreshed first when it expires within the skew (or
   * when forced).
   *
   * @throws MultiPopError `OAUTH_NEEDS_PERMISSION` (no grant, no refresh token, `invalid_grant`,
   *   `interaction_required`, …), `OAUTH_TRANSIENT` (network, timeout, 429, 5xx, another
   *   process's refresh did not finish), `OAUTH_APP_REJECTED`, `OAUTH_PROVIDER_ERROR`,
   *   `OAUTH_NOT_CONFIGURED`, `NOT_FOUND`
   */
  async getAccessToken(mailboxId: string, options: GetAccessTokenOptions = {}): Promise<string> {
    return this.#obtain(mailboxId, { force: options.forceRefresh === true });
  }

  /**
   * Called when the POP3 server refused `token` for the entry. Either concludes that a token
   * cannot help (`OAUTH_TOKEN_REFUSED`: the token refused was already the fresh one obtained
   * after an earlier refusal — POP access is off, or the grant is for another account; the
   * grant itself is kept, and no new grant is asked for), or forces a refresh and throws
   * `AUTH_FAILED` with `context.retryWithFreshToken = true`: the session runner must close this
   * connection, open a new one and authenticate once more (servers may close the connection
   * after a failed AUTH).
   */
  async tokenRejected(location: OAuthEntryLocation, token: string, rejection: MultiPopError): Promise<never> {
    const mailboxId = location.entry.id;
    const serverSaid = rejection.context['saslError'];
    if (this.#afterRejection.get(mailboxId) === token) {
      this.#afterRejection.delete(mailboxId);
      this.#ctx.log.warn(
        { mailboxId, userId: location.userId, provider: location.provider },
        'the POP3 server refused a fresh access token',
      );
      throw new MultiPopError(
        'OAUTH_TOKEN_REFUSED',
        `The POP3 server refused a freshly issued access token for ${location.entry.username}. ${refusalAdvice(location.provider)} Granting permission again does not help unless it was granted with another account.`,
        {
          mailboxId,
          userId: location.userId,
          provider: location.provider,
          ...(serverSaid === undefined ? {} : { saslError: serverSaid }),
        },
        { cause: rejection },
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
    // A forced refresh is satisfied by any token newer than the one seen now (another
    // process's refresh included).
    const wanted =
      intent.force && intent.rejected === undefined && current
        ? { ...intent, rejected: current.accessToken }
        : intent;
    if (current && this.#usable(current, wanted)) return current.accessToken;
    return this.#flights.run(mailboxId, () => this.#refreshShared(mailboxId, wanted));
  }

  #usable(tokens: OAuthTokenSet, intent: Intent): boolean {
    if (intent.force && (intent.rejected === undefined || tokens.accessToken === intent.rejected))
      return false;
    // Without an expiry the token is used until a server refuses it.
    return tokens.expiresAt === undefined || tokens.expiresAt - this.#skewMs > this.#ctx.now();
  }

  /**
   * Refreshes under the store's lease. While another process holds it, waits for its result:
   * a token it stored that serves the intent is used as it is; its lease is free or expired →
   * this process takes it over and looks again.
   */
  async #refreshShared(mailboxId: string, intent: Intent): Promise<string> {
    const location = await locateOAuthEntry(this.#ctx, mailboxId);
    const started = performance.now();
    while (
      !(await this.#ctx.tokens.acquireRefreshLease(
        mailboxId,
        this.#holder,
        this.#ctx.now(),
        this.#lease.leaseMs,
      ))
    ) {
      const latest = await this.#ctx.tokens.getTokens(mailboxId);
      if (latest && this.#usable(latest, intent)) return latest.accessToken;
      if (performance.now() - started > this.#lease.leaseMs + this.#lease.pollMs) {
        throw new MultiPopError(
          'OAUTH_TRANSIENT',
          'Another process has been refreshing this access token for too long; trying again later',
          { mailboxId, userId: location.userId, provider: location.provider, operation: 'refresh' },
        );
      }
      await sleep(this.#lease.pollMs);
    }
    try {
      return await this.#refresh(location, intent);
    } finally {
      await this.#ctx.tokens.releaseRefreshLease(mailboxId, this.#holder).catch((err: unknown) => {
        // It expires on its own; the others only wait a little longer.
        this.#ctx.log.warn({ err, mailboxId }, 'releasing the refresh lease failed');
      });
    }
  }

  /**
   * Refreshes the stored grant. `afterReplacement` is set on the second pass, after a new
   * grant replaced the one whose refresh the provider refused: that refusal concerned the old
   * grant, and the new one is used instead (once; its own refusal is final).
   */
  async #refresh(location: OAuthEntryLocation, intent: Intent, afterReplacement = false): Promise<string> {
    const mailboxId = location.entry.id;
    // Read again under the lease: a refresh that finished just before may have done the work.
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
        // What was granted (the token response's scope), else what was asked for: a refresh
        // may not ask for more than the grant holds.
        profile.refreshWithScope ? (tokens.scope ?? profile.scopes.join(' ')) : undefined,
      );
    } catch (err) {
      const error = classifyOAuthError(err, 'refresh', context);
      if (error.code === 'OAUTH_NEEDS_PERMISSION') {
        // The grant is dead: forget its tokens — unless a new grant replaced them meanwhile
        // (compared and deleted in one step in the store, also against other processes).
        const deleted = await this.#ctx.tokens.deleteTokensIfRefreshToken(mailboxId, refreshToken);
        if (!deleted && !afterReplacement) {
          // The user granted again (in the webmail, say) while this refresh was under way: the
          // refusal was about the old grant. Not "needs permission" — the new grant is here.
          this.#ctx.log.info(
            { ...context, ...providerSaid(error) },
            'the refreshed grant is gone, but the stored tokens changed meanwhile (a new grant?); looking again',
          );
          return this.#refresh(location, intent, true);
        }
        this.#ctx.emit({ type: 'needs-permission', userId: location.userId, mailboxId, error });
        this.#ctx.log.warn({ ...context, code: error.code, ...providerSaid(error) }, 'OAuth grant is gone');
      } else {
        this.#ctx.log.warn(
          { ...context, code: error.code, status: error.context['status'], ...providerSaid(error) },
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

/** The provider's own error codes, for the log (OAuth `error`; Microsoft's AADSTS numbers). */
function providerSaid(error: MultiPopError): Record<string, unknown> {
  const { oauthError, aadsts } = error.context;
  return {
    ...(oauthError === undefined ? {} : { oauthError }),
    ...(aadsts === undefined ? {} : { aadsts }),
  };
}

/** What to do when a provider's POP3 server refuses a valid token. */
function refusalAdvice(provider: OAuthEntryLocation['provider']): string {
  switch (provider) {
    case 'gmail':
      return 'POP is probably turned off for this Gmail account: turn it on in Gmail settings, "Forwarding and POP/IMAP".';
    case 'microsoft':
      return 'POP is probably disabled for this mailbox: an Exchange Online administrator must enable it (Set-CASMailbox -PopEnabled $true).';
    default:
      return 'POP access is probably disabled for this mailbox at the provider.';
  }
}
