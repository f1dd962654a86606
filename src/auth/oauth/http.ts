import * as oauth from 'oauth4webapi';

/** A `fetch` with the shape oauth4webapi hands to a custom fetch. */
export type OAuthFetch = (url: string, init: RequestInit) => Promise<Response>;

/** Transport settings for every request to an authorization server. */
export interface OAuthHttpOptions {
  /**
   * Replaces the global `fetch` (tests, proxies, instrumentation).
   * @default globalThis.fetch
   */
  fetch?: OAuthFetch;
  /**
   * Allows `http://` authorization servers. Only for local test servers; never on by default.
   * @default false
   */
  allowInsecureRequests?: boolean;
  /**
   * How long one request to the authorization server may take, in ms.
   * @default 15000
   */
  timeoutMs?: number;
}

/** Default time limit of one token or discovery request. */
export const DEFAULT_OAUTH_TIMEOUT_MS = 15_000;

/**
 * The oauth4webapi request options for {@link OAuthHttpOptions}: a fresh
 * `AbortSignal.timeout` per request (its timer does not keep the process alive), the custom
 * fetch, and the insecure-request switch.
 *
 * @example
 * ```ts
 * const res = await oauth.refreshTokenGrantRequest(as, client, auth, rt, requestOptions({ timeoutMs: 5000 }));
 * ```
 */
export function requestOptions(
  http: OAuthHttpOptions,
): oauth.HttpRequestOptions<'POST', URLSearchParams> & oauth.HttpRequestOptions<'GET'> {
  const timeoutMs = http.timeoutMs ?? DEFAULT_OAUTH_TIMEOUT_MS;
  const options: oauth.HttpRequestOptions<'POST', URLSearchParams> & oauth.HttpRequestOptions<'GET'> = {
    signal: () => AbortSignal.timeout(timeoutMs),
  };
  if (http.fetch) {
    const custom = http.fetch;
    options[oauth.customFetch] = (url, init) => custom(url, init as RequestInit);
  }
  // oauth4webapi marks the switch deprecated to discourage it in production; tests need it.
  if (http.allowInsecureRequests === true) options[oauth.allowInsecureRequests] = true;
  return options;
}
