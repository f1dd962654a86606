import * as oauth from 'oauth4webapi';
import { MultiPopError } from '../../errors/index.js';
import { classifyOAuthError } from './errors.js';
import { type OAuthHttpOptions, requestOptions } from './http.js';
import type { OAuthProfile } from './profiles.js';

/**
 * The authorization server metadata of a profile, as oauth4webapi needs it, plus whether the
 * issuer is really known (only then is the callback's `iss` parameter checked).
 */
export interface ResolvedAuthorizationServer {
  server: oauth.AuthorizationServer;
  issuerKnown: boolean;
}

/**
 * Resolves and caches the metadata of authorization servers: explicit endpoints are used as
 * they are; otherwise the issuer's metadata is discovered (OpenID Connect discovery first, then
 * RFC 8414) and cached per issuer for `ttlMs`. A failed discovery is not cached.
 *
 * @example
 * ```ts
 * const servers = new AuthorizationServerCache({ allowInsecureRequests: true });
 * const { server } = await servers.resolve(profile);
 * ```
 */
export class AuthorizationServerCache {
  readonly #http: OAuthHttpOptions;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Issuer → pending or settled discovery; entries older than the TTL are replaced. */
  readonly #discovered = new Map<string, { at: number; metadata: Promise<oauth.AuthorizationServer> }>();

  constructor(http: OAuthHttpOptions, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#http = http;
    this.#ttlMs = options.ttlMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  async resolve(profile: OAuthProfile): Promise<ResolvedAuthorizationServer> {
    if (profile.authorizationEndpoint !== undefined && profile.tokenEndpoint !== undefined) {
      // oauth4webapi needs an issuer string; without a known one the token endpoint's origin
      // stands in, and the callback's `iss` is then not compared against it.
      const issuer = profile.issuer ?? new URL(profile.tokenEndpoint).origin;
      return {
        server: {
          issuer,
          authorization_endpoint: profile.authorizationEndpoint,
          token_endpoint: profile.tokenEndpoint,
        },
        issuerKnown: profile.issuer !== undefined,
      };
    }
    if (profile.issuer === undefined) {
      throw new MultiPopError(
        'OAUTH_NOT_CONFIGURED',
        `The ${profile.provider} OAuth app has neither an issuer nor both endpoints`,
        { provider: profile.provider, field: `oauth.${profile.provider}.issuer` },
      );
    }
    const discovered = await this.#discover(profile.issuer);
    const server: oauth.AuthorizationServer = {
      ...discovered,
      ...(profile.authorizationEndpoint ? { authorization_endpoint: profile.authorizationEndpoint } : {}),
      ...(profile.tokenEndpoint ? { token_endpoint: profile.tokenEndpoint } : {}),
    };
    if (!server.authorization_endpoint || !server.token_endpoint) {
      throw new MultiPopError(
        'OAUTH_PROVIDER_ERROR',
        `The metadata of ${profile.issuer} lacks an authorization or token endpoint`,
        { provider: profile.provider },
      );
    }
    return { server, issuerKnown: true };
  }

  #discover(issuer: string): Promise<oauth.AuthorizationServer> {
    const cached = this.#discovered.get(issuer);
    if (cached && this.#now() - cached.at < this.#ttlMs) return cached.metadata;
    const metadata = discover(new URL(issuer), this.#http);
    this.#discovered.set(issuer, { at: this.#now(), metadata });
    metadata.catch(() => {
      if (this.#discovered.get(issuer)?.metadata === metadata) this.#discovered.delete(issuer);
    });
    return metadata;
  }
}

async function discover(issuer: URL, http: OAuthHttpOptions): Promise<oauth.AuthorizationServer> {
  let firstError: unknown;
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      const response = await oauth.discoveryRequest(issuer, { ...requestOptions(http), algorithm });
      return await oauth.processDiscoveryResponse(issuer, response);
    } catch (err) {
      firstError ??= err;
      // Only a missing document is worth the second well-known location.
      const missing =
        err instanceof oauth.OperationProcessingError &&
        err.cause instanceof Response &&
        err.cause.status === 404;
      if (!missing) break;
    }
  }
  throw classifyOAuthError(firstError, 'discovery', { issuer: issuer.href });
}
