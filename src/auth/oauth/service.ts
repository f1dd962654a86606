import type { MailboxEntry, OAuthProviderName, ServerSettings } from '../../config/index.js';
import { createLog, type Logger, SecretRegistry } from '../../log/index.js';
import type { MailboxDirectory, TokenStore } from '../../ports/index.js';
import type { AuthProvider } from '../provider.js';
import { AuthorizationServerCache } from './authorization-server.js';
import type { OAuthCallbackInput } from './callback.js';
import { type OAuthContext, profileOf, safeEmitter } from './context.js';
import type { OAuthEventListener } from './events.js';
import {
  type BeginGrantInput,
  type BeginGrantResult,
  beginGrant,
  type CompleteGrantResult,
  completeGrant,
  DEFAULT_GRANT_TTL_MS,
  type GrantCompleter,
} from './grant-flow.js';
import { DEFAULT_OAUTH_TIMEOUT_MS, type OAuthFetch } from './http.js';
import { oauthAuthProvider } from './oauth-auth-provider.js';
import type { OAuthProfile, OAuthProfileOverrides } from './profiles.js';
import { DEFAULT_REFRESH_SKEW_MS, type GetAccessTokenOptions, TokenKeeper } from './token-keeper.js';

/** Options of {@link OAuthService}. Only `tokens` and `directory` are required. */
export interface OAuthServiceOptions {
  /**
   * Where tokens and pending grants live (encrypted at rest in the stores we ship).
   * @example
   * ```ts
   * new OAuthService({ tokens: memoryTokenStore(), directory });
   * ```
   */
  tokens: TokenStore;
  /**
   * The mailbox directory: entries are looked up (and enabled after a grant) here.
   * @example
   * <!-- doc-context declare const config: MultiPopConfig; -->
   * ```ts
   * new OAuthService({ tokens, directory: memoryDirectory(config) });
   * ```
   */
  directory: MailboxDirectory;
  /**
   * The server settings holding the OAuth apps (`settings.oauth`); read at every use.
   * @default () => directory.getSettings()
   * @example
   * <!-- doc-context declare const currentSettings: ServerSettings; -->
   * ```ts
   * new OAuthService({ tokens, directory, settings: () => currentSettings });
   * ```
   */
  settings?: () => ServerSettings | Promise<ServerSettings>;
  /**
   * Clock in ms since the epoch.
   * @default Date.now
   * @example
   * ```ts
   * new OAuthService({ tokens, directory, now: () => clock.now() });
   * ```
   */
  now?: () => number;
  /**
   * How long a started "Grant permission" may take before its callback is refused, in ms.
   * @default 600000 (10 minutes)
   * @example
   * ```ts
   * new OAuthService({ tokens, directory, grantTtlMs: 5 * 60_000 });
   * ```
   */
  grantTtlMs?: number;
  /**
   * Refresh an access token when it expires within this many ms.
   * @default 300000 (5 minutes)
   * @example
   * ```ts
   * new OAuthService({ tokens, directory, refreshSkewMs: 60_000 });
   * ```
   */
  refreshSkewMs?: number;
  /**
   * How long one process may hold an entry's refresh lease in the token store, in ms; other
   * processes sharing the store wait up to this long for its refresh (then it is taken over).
   * @default max(30000, 2 × requestTimeoutMs + 5000)
   * @example
   * ```ts
   * new OAuthService({ tokens, directory, refreshLeaseMs: 60_000 });
   * ```
   */
  refreshLeaseMs?: number;
  /**
   * Where to log (pino-shaped); tokens, codes and secrets are never written.
   * @default silent
   * @example
   * ```ts
   * new OAuthService({ tokens, directory, logger: pino() });
   * ```
   */
  logger?: Logger | false;
  /**
   * The secret registry of your logs: client secrets and tokens are added so that every log
   * line of the library scrubs them. The fetcher passes its own.
   * @default a private registry
   * @internal
   * @example
   * <!-- doc-context declare const secrets: OAuthServiceOptions['secrets']; -->
   * ```ts
   * new OAuthService({ tokens, directory, secrets });
   * ```
   */
  secrets?: SecretRegistry;
  /**
   * Receives `granted`, `needs-permission` and `refreshed` events (the fetcher maps them).
   * @example
   * <!-- doc-context declare function notify(userId: string): void; -->
   * ```ts
   * new OAuthService({ tokens, directory, onEvent: (e) => e.type === 'needs-permission' && notify(e.userId) });
   * ```
   */
  onEvent?: OAuthEventListener;
  /**
   * Replaces `fetch` for every request to an authorization server.
   * @default globalThis.fetch
   * @example
   * <!-- doc-context declare const proxyAgent: NonNullable<RequestInit['dispatcher']>; -->
   * ```ts
   * new OAuthService({ tokens, directory, fetch: (url, init) => fetch(url, { ...init, dispatcher: proxyAgent }) });
   * ```
   */
  fetch?: OAuthFetch;
  /**
   * Allows `http://` authorization servers — for local test servers only.
   * @default false
   * @example
   * ```ts
   * new OAuthService({ tokens, directory, allowInsecureRequests: true, providers: { generic: { issuer: 'http://127.0.0.1:4000' } } });
   * ```
   */
  allowInsecureRequests?: boolean;
  /**
   * Time limit of one request to an authorization server, in ms.
   * @default 15000
   * @example
   * ```ts
   * new OAuthService({ tokens, directory, requestTimeoutMs: 5000 });
   * ```
   */
  requestTimeoutMs?: number;
  /**
   * Replaces parts of a provider's profile: endpoints (a test server), client authentication,
   * SASL form, scopes. Give an endpoint as `undefined` to remove it (then it is discovered).
   * @example
   * <!-- doc-context declare const issuer: string; -->
   * ```ts
   * new OAuthService({ tokens, directory, providers: { gmail: { authorizationEndpoint: `${issuer}/auth`, tokenEndpoint: `${issuer}/token` } } });
   * ```
   */
  providers?: Partial<Record<OAuthProviderName, OAuthProfileOverrides>>;
}

/**
 * OAuth 2.0 for remote mailboxes: the "Grant permission" flow (authorization code + PKCE),
 * the token life cycle (refresh ahead of expiry, single flight, rotation, "needs permission"),
 * and the {@link AuthProvider} that logs in with XOAUTH2 / OAUTHBEARER.
 *
 * @example
 * <!-- doc-context declare const request: { url: string }; -->
 * ```ts
 * const oauth = new OAuthService({ tokens: memoryTokenStore(), directory });
 * // webmail, "Grant permission" clicked:
 * const { url } = await oauth.beginGrant({ userId: 'ann@example.com', mailboxId: 'gmail-ann', domain: 'example.com' });
 * // webmail, the provider redirected back to the redirect URI:
 * await oauth.completeGrant(request.url, { userId: 'ann@example.com' });
 * // the collector:
 * const auth = oauth.authProviderFor(entry);
 * ```
 */
export class OAuthService {
  readonly #ctx: OAuthContext;
  readonly #keeper: TokenKeeper;
  readonly #grantTtlMs: number;

  constructor(options: OAuthServiceOptions) {
    const secrets = options.secrets ?? new SecretRegistry();
    const log = createLog(options.logger, { component: 'oauth' }, secrets);
    const http = {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.allowInsecureRequests ? { allowInsecureRequests: true } : {}),
      ...(options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs }),
    };
    const now = options.now ?? Date.now;
    this.#ctx = {
      tokens: options.tokens,
      directory: options.directory,
      settings: options.settings ?? (() => options.directory.getSettings()),
      overrides: options.providers ?? {},
      now,
      log,
      secrets,
      emit: safeEmitter(options.onEvent, log),
      http,
      servers: new AuthorizationServerCache(http, { now }),
    };
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_OAUTH_TIMEOUT_MS;
    this.#keeper = new TokenKeeper(this.#ctx, options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS, {
      // Held longer than a refresh can take (two requests: discovery and the token endpoint).
      leaseMs: options.refreshLeaseMs ?? Math.max(30_000, 2 * timeoutMs + 5_000),
      pollMs: 100,
    });
    this.#grantTtlMs = options.grantTtlMs ?? DEFAULT_GRANT_TTL_MS;
  }

  /**
   * Starts "Grant permission" for a user's OAuth entry: returns the provider URL to send the
   * browser to. The redirect URI is the app's one for `domain`. The grant is bound to
   * `startedBy` (default: the user): only that party can complete it.
   *
   * @example
   * <!-- doc-context declare const response: { redirect(url: string): void }; -->
   * ```ts
   * const { url } = await oauth.beginGrant({ userId: 'ann@example.com', mailboxId: 'gmail-ann', domain: 'example.com' });
   * response.redirect(url);
   * ```
   * @throws MultiPopError `NOT_FOUND` (no such entry for this user), `CONFIG_INVALID` (not an OAuth
   *   entry), `OAUTH_NOT_CONFIGURED` (no app, or no redirect URI for the domain),
   *   `OAUTH_TRANSIENT` / `OAUTH_PROVIDER_ERROR` (issuer discovery failed)
   */
  beginGrant(input: BeginGrantInput): Promise<BeginGrantResult> {
    return beginGrant(this.#ctx, input, this.#grantTtlMs);
  }

  /**
   * Completes "Grant permission" from the redirect back (the whole URL, its query string, or
   * the parameters), in the session that started it: `{ userId }` for a user, `{ role: 'admin' }`
   * (with the `adminId` given to `beginGrant`, if any) for an administrator. A callback from
   * another session is refused and leaves the pending grant usable. The consenting account is
   * verified against the entry's user name where the provider supports it (Gmail, Microsoft, a
   * generic app with `identityClaim`). Tokens are stored only on success, and then the entry is
   * enabled and a `granted` event is emitted.
   *
   * @example
   * <!-- doc-context declare const req: { url: string }; declare const session: { user: string }; -->
   * ```ts
   * const { mailboxId } = await oauth.completeGrant(new URL(req.url, 'https://mail.example.com'), { userId: session.user });
   * ```
   * @throws MultiPopError `OAUTH_STATE_INVALID` (`context.reason`: `unknown` — never issued or
   *   already used —, `other-session`, `expired`, `entry-changed`, `no-session`, `malformed`),
   *   `OAUTH_ACCOUNT_MISMATCH` (another account consented; `context.signedInAs`),
   *   `OAUTH_ACCESS_DENIED`, `OAUTH_PROVIDER_ERROR`, `OAUTH_APP_REJECTED`, `OAUTH_TRANSIENT`,
   *   `NOT_FOUND`, `STORE_ERROR`
   */
  completeGrant(callback: OAuthCallbackInput, completedBy: GrantCompleter): Promise<CompleteGrantResult> {
    return completeGrant(this.#ctx, callback, completedBy, (mailboxId) => this.#keeper.granted(mailboxId));
  }

  /**
   * A valid access token for the entry: refreshed when it expires within the skew (or when
   * `forceRefresh`), one refresh at a time per entry, a rotated refresh token stored.
   *
   * @example
   * ```ts
   * const token = await oauth.getAccessToken('gmail-ann');
   * ```
   * @throws MultiPopError `OAUTH_NEEDS_PERMISSION` (emitted as an event too), `OAUTH_TRANSIENT`,
   *   `OAUTH_APP_REJECTED`, `OAUTH_PROVIDER_ERROR`, `OAUTH_NOT_CONFIGURED`, `NOT_FOUND`
   */
  getAccessToken(mailboxId: string, options: GetAccessTokenOptions = {}): Promise<string> {
    return this.#keeper.getAccessToken(mailboxId, options);
  }

  /**
   * The {@link AuthProvider} for an OAuth entry. On a refused token it refreshes once and throws
   * `AUTH_FAILED` with `context.retryWithFreshToken = true`: the session runner then closes the
   * connection, reconnects and calls `authenticate` once more.
   *
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, authFor: (userId, entry) => oauth.authProviderFor(entry) });
   * ```
   */
  authProviderFor(entry: MailboxEntry): AuthProvider {
    return oauthAuthProvider(this.#ctx, this.#keeper, entry);
  }

  /**
   * The profile of a provider as the current settings (and overrides) make it — endpoints,
   * scopes, SASL form. For diagnostics and admin pages.
   *
   * @example
   * ```ts
   * (await oauth.profile('microsoft')).sasl // 'xoauth2-continuation'
   * ```
   * @throws MultiPopError `OAUTH_NOT_CONFIGURED`
   */
  profile(provider: OAuthProviderName): Promise<OAuthProfile> {
    return profileOf(this.#ctx, provider);
  }
}
