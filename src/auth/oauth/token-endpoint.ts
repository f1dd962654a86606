import * as oauth from 'oauth4webapi';
import type { OAuthTokenSet } from '../../ports/index.js';
import type { ResolvedAuthorizationServer } from './authorization-server.js';
import { type OAuthHttpOptions, requestOptions } from './http.js';
import type { OAuthProfile } from './profiles.js';

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

/**
 * Exchanges an authorization code (already validated from the callback) for tokens, with the
 * same redirect URI and the PKCE verifier of the authorization request. Plain OAuth 2.0
 * processing: an ID token, if the provider sends one (only when `openid` was asked for), has
 * its claims checked by oauth4webapi; nothing else depends on it.
 *
 * @example
 * ```ts
 * const tokens = await exchangeCode(parts, params, grant.redirectUri, grant.codeVerifier, http, Date.now());
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
): Promise<OAuthTokenSet> {
  const response = await oauth.authorizationCodeGrantRequest(
    parts.server,
    parts.client,
    parts.clientAuth,
    callbackParams,
    redirectUri,
    codeVerifier,
    requestOptions(http),
  );
  const result = await oauth.processAuthorizationCodeResponse(parts.server, parts.client, response);
  return toTokenSet(result, undefined, now);
}

/**
 * Uses a refresh token. A rotated refresh token in the answer replaces the old one; otherwise
 * the old one is kept.
 *
 * @example
 * ```ts
 * const next = await refreshTokens(parts, current, http, Date.now());
 * ```
 */
export async function refreshTokens(
  parts: OAuthClientParts,
  current: OAuthTokenSet & { refreshToken: string },
  http: OAuthHttpOptions,
  now: number,
): Promise<OAuthTokenSet> {
  const response = await oauth.refreshTokenGrantRequest(
    parts.server,
    parts.client,
    parts.clientAuth,
    current.refreshToken,
    requestOptions(http),
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
