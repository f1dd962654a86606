import * as oauth from 'oauth4webapi';
import type { OAuthTokenSet } from '../../ports/index.js';
import type { ResolvedAuthorizationServer } from './authorization-server.js';
import { type OAuthHttpOptions, requestOptions } from './http.js';
import { expectedIdTokenIssuer } from './identity.js';
import type { OAuthIdentityCheck, OAuthProfile } from './profiles.js';

/** The client side of one profile as oauth4webapi takes it. */
export interface OAuthClientParts {
  server: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
}

/** Builds the oauth4webapi client and its token-endpoint authentication for a profile. */
export function clientParts(profile: OAuthProfile, resolved: ResolvedAuthorizationServer): OAuthClientParts {
  const clientAuth =
    profile.clientAuthMethod === 'client_secret_basic'
      ? oauth.ClientSecretBasic(profile.clientSecret)
      : oauth.ClientSecretPost(profile.clientSecret);
  return { server: resolved.server, client: { client_id: profile.clientId }, clientAuth };
}

/** What the code exchange returns: the tokens, and the validated ID token claims if asked for. */
export interface CodeExchangeResult {
  tokens: OAuthTokenSet;
  /** Present when `identity` was given: oauth4webapi validated issuer, audience and expiry. */
  idToken?: oauth.IDToken;
}

/**
 * Exchanges an authorization code (already validated from the callback) for tokens, with the
 * same redirect URI and the PKCE verifier of the authorization request. With an identity check
 * the answer must carry an OpenID Connect ID token, validated by oauth4webapi against the
 * expected issuer (for Microsoft, the user's tenant) and our client id; its claims are returned.
 * The token comes straight from the token endpoint over TLS, so its signature need not be
 * checked (OpenID Connect Core §3.1.3.7).
 *
 * @example
 * ```ts
 * const { tokens, idToken } = await exchangeCode(parts, params, grant.redirectUri, grant.codeVerifier, http, Date.now(), profile.identity);
 * ```
 * @throws whatever oauth4webapi or fetch threw (classify with `classifyOAuthError`)
 */
export async function exchangeCode(
  parts: OAuthClientParts,
  callbackParams: URLSearchParams,
  redirectUri: string,
  codeVerifier: string,
  http: OAuthHttpOptions,
  now: number,
  identity?: OAuthIdentityCheck,
): Promise<CodeExchangeResult> {
  const response = await oauth.authorizationCodeGrantRequest(
    parts.server,
    parts.client,
    parts.clientAuth,
    callbackParams,
    redirectUri,
    codeVerifier,
    requestOptions(http),
  );
  if (identity === undefined) {
    const result = await oauth.processAuthorizationCodeResponse(parts.server, parts.client, response);
    return { tokens: toTokenSet(result, undefined, now) };
  }
  const issuer = await expectedIdTokenIssuer(identity, response, parts.server.issuer);
  const result = await oauth.processAuthorizationCodeResponse(
    { ...parts.server, issuer },
    parts.client,
    response,
    { requireIdToken: true },
  );
  const idToken = oauth.getValidatedIdTokenClaims(result);
  return { tokens: toTokenSet(result, undefined, now), ...(idToken ? { idToken } : {}) };
}

/**
 * Uses a refresh token. A rotated refresh token in the answer replaces the old one; otherwise
 * the old one is kept. `scope`, when given, is sent along (Microsoft requires it).
 *
 * @example
 * ```ts
 * const next = await refreshTokens(parts, current, http, Date.now(), 'https://outlook.office.com/POP.AccessAsUser.All offline_access');
 * ```
 */
export async function refreshTokens(
  parts: OAuthClientParts,
  current: OAuthTokenSet & { refreshToken: string },
  http: OAuthHttpOptions,
  now: number,
  scope?: string,
): Promise<OAuthTokenSet> {
  const response = await oauth.refreshTokenGrantRequest(
    parts.server,
    parts.client,
    parts.clientAuth,
    current.refreshToken,
    { ...requestOptions(http), ...(scope === undefined ? {} : { additionalParameters: { scope } }) },
  );
  const result = await oauth.processRefreshTokenResponse(parts.server, parts.client, response);
  return toTokenSet(result, current, now);
}

function toTokenSet(
  result: oauth.TokenEndpointResponse,
  previous: OAuthTokenSet | undefined,
  now: number,
): OAuthTokenSet {
  const refreshToken = result.refresh_token ?? previous?.refreshToken;
  const scope = result.scope ?? previous?.scope;
  return {
    accessToken: result.access_token,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(result.expires_in === undefined ? {} : { expiresAt: now + result.expires_in * 1000 }),
    ...(scope === undefined ? {} : { scope }),
    tokenType: result.token_type,
  };
}
