import type { GenericApp, GmailApp, MicrosoftApp, OAuthProviderName } from '../../config/index.js';

/**
 * How the access token is presented to the POP3 server:
 * - `xoauth2-initial-response` — `AUTH XOAUTH2 <b64>` on one line (Gmail, Dovecot);
 * - `xoauth2-continuation` — `AUTH XOAUTH2`, wait for `+`, then `<b64>` (Microsoft 365, which
 *   rejects the one-line form);
 * - `oauthbearer` — `AUTH OAUTHBEARER` (RFC 7628).
 */
export type OAuthSaslForm = 'xoauth2-initial-response' | 'xoauth2-continuation' | 'oauthbearer';

/** How the client authenticates at the token endpoint. */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic';

/**
 * How the account that consented is verified: the code exchange must return an OpenID Connect
 * ID token (validated by oauth4webapi: issuer, audience, expiry), and one of `claims` must
 * name the mailbox entry's user name.
 */
export interface OAuthIdentityCheck {
  /**
   * ID token claims that name the account, in order of preference (the first one present is
   * the account reported on a mismatch and filled into an empty user name). An `email` claim
   * with `email_verified: false` does not count.
   */
  readonly claims: readonly string[];
  /**
   * The ID token's issuer when it is not the authorization server's issuer. `{tid}` stands for
   * the token's own `tid` claim (Microsoft's `common` and `organizations` endpoints issue
   * tokens in the user's tenant).
   */
  readonly issuer?: string;
  /**
   * Microsoft's tenant setting: which tenants (`tid`) may consent — `common` any,
   * `organizations` any but personal accounts, `consumers` personal accounts only, a tenant
   * id that tenant only. A tenant domain name is enforced by the endpoints alone.
   */
  readonly tenant?: string;
}

/**
 * Everything needed to run the authorization-code flow and the SASL login for one provider:
 * built from the administrator's app settings (`settings.oauth`) by {@link gmailOAuth},
 * {@link microsoftOAuth} or {@link genericOAuth}.
 */
export interface OAuthProfile {
  readonly provider: OAuthProviderName;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly clientAuthMethod: ClientAuthMethod;
  /** Redirect URI by webmail domain (`redirectUris`). */
  readonly redirectUris: Readonly<Record<string, string>>;
  readonly scopes: readonly string[];
  /** Extra authorization-request parameters (`access_type`, `prompt`, …). */
  readonly authorizationParams: Readonly<Record<string, string>>;
  /** Add `login_hint=<mailbox address>` so the provider proposes the right account. */
  readonly loginHint: boolean;
  readonly sasl: OAuthSaslForm;
  /**
   * Send `scope` with every refresh (the Microsoft identity platform requires it): the scope
   * the grant's token response named, else {@link OAuthProfile.scopes}.
   */
  readonly refreshWithScope: boolean;
  /** How the consenting account is verified; undefined: it is not (see docs/oauth.md). */
  readonly identity?: OAuthIdentityCheck;
  /**
   * The issuer identifier. With explicit endpoints it is only used to check the `iss`
   * parameter of the callback (RFC 9207); when absent, that parameter is ignored. Without
   * explicit endpoints, the endpoints are discovered from it.
   */
  readonly issuer?: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
}

/**
 * Replaces parts of a profile: endpoints of a test server, another client authentication, …
 *
 * @example
 * ```ts
 * const overrides: OAuthProfileOverrides = { issuer: 'http://127.0.0.1:4000', authorizationEndpoint: undefined };
 * ```
 */
export type OAuthProfileOverrides = Partial<
  Omit<OAuthProfile, 'provider' | 'clientId' | 'clientSecret' | 'redirectUris'>
>;

/**
 * Google's endpoints, the one scope POP3 needs (full mail access; there is no narrower one for
 * POP), and `openid email` to learn which account consented.
 */
export const GMAIL_OAUTH = Object.freeze({
  issuer: 'https://accounts.google.com',
  authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenEndpoint: 'https://oauth2.googleapis.com/token',
  scopes: Object.freeze(['https://mail.google.com/', 'openid', 'email']),
});

/**
 * Microsoft identity platform (v2.0) endpoints (`{tenant}` is replaced by the app's tenant),
 * the POP scope, `offline_access` for a refresh token, and `openid profile email` to learn
 * which account consented (`preferred_username`, `email`, `tid`).
 */
export const MICROSOFT_OAUTH = Object.freeze({
  authorizationEndpoint: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
  tokenEndpoint: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
  idTokenIssuer: 'https://login.microsoftonline.com/{tid}/v2.0',
  scopes: Object.freeze([
    'https://outlook.office.com/POP.AccessAsUser.All',
    'offline_access',
    'openid',
    'profile',
    'email',
  ]),
});

/**
 * The Gmail profile: Google's endpoints, scopes `https://mail.google.com/ openid email`,
 * `access_type=offline` and `prompt=consent` (without them Google issues no refresh token on a
 * second grant), client secret in the POST body, one-line XOAUTH2, and the consenting account
 * verified by the ID token's (verified) `email`.
 *
 * @example
 * ```ts
 * const profile = gmailOAuth({ clientId: '….apps.googleusercontent.com', clientSecret: 'GOCSPX-…', redirectUris: { 'example.com': 'https://mail.example.com/oauth/callback' } });
 * ```
 */
export function gmailOAuth(app: GmailApp, overrides: OAuthProfileOverrides = {}): OAuthProfile {
  return withOverrides(
    {
      provider: 'gmail',
      ...appCredentials(app),
      clientAuthMethod: 'client_secret_post',
      scopes: GMAIL_OAUTH.scopes,
      authorizationParams: { access_type: 'offline', prompt: 'consent' },
      loginHint: true,
      sasl: 'xoauth2-initial-response',
      refreshWithScope: false,
      identity: { claims: ['email'] },
      issuer: GMAIL_OAUTH.issuer,
      authorizationEndpoint: GMAIL_OAUTH.authorizationEndpoint,
      tokenEndpoint: GMAIL_OAUTH.tokenEndpoint,
    },
    overrides,
  );
}

/**
 * The Microsoft 365 profile: the tenant's v2.0 endpoints, scopes
 * `https://outlook.office.com/POP.AccessAsUser.All offline_access openid profile email`, client
 * secret in the POST body, two-line XOAUTH2 (Microsoft rejects the one-line form), `scope` sent
 * with every refresh (required by the v2.0 endpoint: `AADSTS900144` otherwise). The consenting
 * account is verified by the ID token's `preferred_username` or `email`, issued in the user's
 * tenant (`https://login.microsoftonline.com/{tid}/v2.0`) and allowed by the app's tenant
 * setting. No check of the callback's `iss`: with `common`/`organizations` the real issuer is
 * only known per user.
 *
 * @example
 * ```ts
 * const profile = microsoftOAuth({ clientId: '0b1c…', clientSecret: '…', tenant: 'common', redirectUris: { 'example.com': 'https://mail.example.com/oauth/callback' } });
 * ```
 */
export function microsoftOAuth(app: MicrosoftApp, overrides: OAuthProfileOverrides = {}): OAuthProfile {
  const tenant = encodeURIComponent(app.tenant ?? 'common');
  return withOverrides(
    {
      provider: 'microsoft',
      ...appCredentials(app),
      clientAuthMethod: 'client_secret_post',
      scopes: MICROSOFT_OAUTH.scopes,
      authorizationParams: {},
      loginHint: true,
      sasl: 'xoauth2-continuation',
      refreshWithScope: true,
      identity: {
        claims: ['preferred_username', 'email'],
        issuer: MICROSOFT_OAUTH.idTokenIssuer,
        tenant: app.tenant ?? 'common',
      },
      authorizationEndpoint: MICROSOFT_OAUTH.authorizationEndpoint.replace('{tenant}', tenant),
      tokenEndpoint: MICROSOFT_OAUTH.tokenEndpoint.replace('{tenant}', tenant),
    },
    overrides,
  );
}

/**
 * Any other OAuth 2.0 provider: endpoints discovered from `issuer` (OpenID Connect discovery,
 * then RFC 8414) or given explicitly, the app's scopes and extra authorization parameters,
 * `xoauth2` (one-line) or `oauthbearer`. The token endpoint client authentication is
 * `client_secret_post` unless the app says `tokenEndpointAuthMethod: 'client_secret_basic'`.
 * The consenting account is verified only when the app names an `identityClaim` (then `openid`
 * is requested too); otherwise nothing compares it with the entry's user name.
 *
 * @example
 * ```ts
 * const profile = genericOAuth({ clientId: 'multipop', clientSecret: '…', issuer: 'https://id.example.net',
 *   scopes: ['pop', 'offline_access'], sasl: 'oauthbearer', extraAuthorizationParams: {},
 *   redirectUris: { 'example.com': 'https://mail.example.com/oauth/callback' } });
 * ```
 */
export function genericOAuth(app: GenericApp, overrides: OAuthProfileOverrides = {}): OAuthProfile {
  const method = (app as { tokenEndpointAuthMethod?: ClientAuthMethod }).tokenEndpointAuthMethod;
  const claim = app.identityClaim;
  const scopes =
    claim === undefined || app.scopes.includes('openid') ? app.scopes : [...app.scopes, 'openid'];
  return withOverrides(
    {
      provider: 'generic',
      ...appCredentials(app),
      clientAuthMethod: method ?? 'client_secret_post',
      scopes,
      authorizationParams: app.extraAuthorizationParams ?? {},
      loginHint: false,
      sasl: app.sasl === 'oauthbearer' ? 'oauthbearer' : 'xoauth2-initial-response',
      refreshWithScope: false,
      ...(claim === undefined ? {} : { identity: { claims: [claim] } }),
      ...(app.issuer === undefined ? {} : { issuer: app.issuer }),
      ...(app.authorizationEndpoint === undefined
        ? {}
        : { authorizationEndpoint: app.authorizationEndpoint }),
      ...(app.tokenEndpoint === undefined ? {} : { tokenEndpoint: app.tokenEndpoint }),
    },
    overrides,
  );
}

function appCredentials(app: GmailApp | MicrosoftApp | GenericApp) {
  return { clientId: app.clientId, clientSecret: app.clientSecret, redirectUris: app.redirectUris };
}

function withOverrides(base: OAuthProfile, overrides: OAuthProfileOverrides): OAuthProfile {
  const out: Record<string, unknown> = { ...base };
  // An override given as `undefined` removes the value (e.g. explicit endpoints → discovery).
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return Object.freeze(out) as unknown as OAuthProfile;
}
