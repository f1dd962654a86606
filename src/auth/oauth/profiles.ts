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

/** Google's endpoints and the one scope POP3 needs (full mail access; there is no narrower one for POP). */
export const GMAIL_OAUTH = Object.freeze({
  issuer: 'https://accounts.google.com',
  authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenEndpoint: 'https://oauth2.googleapis.com/token',
  scopes: Object.freeze(['https://mail.google.com/']),
});

/** Microsoft identity platform (v2.0) endpoints; `{tenant}` is replaced by the app's tenant. */
export const MICROSOFT_OAUTH = Object.freeze({
  authorizationEndpoint: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize',
  tokenEndpoint: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
  scopes: Object.freeze(['https://outlook.office.com/POP.AccessAsUser.All', 'offline_access']),
});

/**
 * The Gmail profile: Google's endpoints, scope `https://mail.google.com/`, `access_type=offline`
 * and `prompt=consent` (without them Google issues no refresh token on a second grant), client
 * secret in the POST body, one-line XOAUTH2.
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
      issuer: GMAIL_OAUTH.issuer,
      authorizationEndpoint: GMAIL_OAUTH.authorizationEndpoint,
      tokenEndpoint: GMAIL_OAUTH.tokenEndpoint,
    },
    overrides,
  );
}

/**
 * The Microsoft 365 profile: the tenant's v2.0 endpoints, scopes
 * `https://outlook.office.com/POP.AccessAsUser.All offline_access`, client secret in the POST
 * body, two-line XOAUTH2 (Microsoft rejects the one-line form). No issuer check: with the
 * `common`/`organizations` tenants the real issuer is only known per user.
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
  return withOverrides(
    {
      provider: 'generic',
      ...appCredentials(app),
      clientAuthMethod: method ?? 'client_secret_post',
      scopes: app.scopes,
      authorizationParams: app.extraAuthorizationParams ?? {},
      loginHint: false,
      sasl: app.sasl === 'oauthbearer' ? 'oauthbearer' : 'xoauth2-initial-response',
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
