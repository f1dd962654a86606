/**
 * Encoders for the SASL mechanisms the client speaks (RFC 5034 carries them over POP3), and
 * the decoder for a server's failure challenge. Pure functions: no I/O.
 */

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/**
 * PLAIN (RFC 4616): `authzid NUL authcid NUL password`, base64.
 *
 * @example
 * ```ts
 * plainResponse('tim', 'tanstaaftanstaaf') // → 'AHRpbQB0YW5zdGFhZnRhbnN0YWFm'
 * ```
 */
export function plainResponse(user: string, password: string, authzid = ''): string {
  return b64(`${authzid}\u0000${user}\u0000${password}`);
}

/**
 * XOAUTH2 (Google / Microsoft): `user=… ^A auth=Bearer … ^A ^A`, base64 as one string.
 *
 * @example
 * ```ts
 * xoauth2Response('ann@example.com', 'ya29.token')
 * ```
 */
export function xoauth2Response(user: string, accessToken: string): string {
  return b64(`user=${user}\u0001auth=Bearer ${accessToken}\u0001\u0001`);
}

/**
 * OAUTHBEARER (RFC 7628 §3.1): GS2 header `n,a=<user>,` then `host`, `port` and `auth` key/value
 * pairs separated by ^A, ending in ^A ^A; base64. The user name is escaped as a GS2 saslname
 * (`,` → `=2C`, `=` → `=3D`).
 *
 * @example
 * ```ts
 * oauthBearerResponse('ann@example.com', 'token', 'pop.example.com', 995)
 * ```
 */
export function oauthBearerResponse(user: string, accessToken: string, host: string, port: number): string {
  const saslname = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
  return b64(
    `n,a=${saslname},\u0001host=${host}\u0001port=${port}\u0001auth=Bearer ${accessToken}\u0001\u0001`,
  );
}

/** A decoded SASL challenge: the JSON error Google, Microsoft and Dovecot send on failure. */
export interface SaslChallenge {
  /** The decoded text (UTF-8), or the payload itself when it is not valid base64. */
  text: string;
  /** The parsed JSON object, when the text is JSON (e.g. `{"status":"401","schemes":"bearer"}`). */
  json?: Record<string, unknown>;
}

/**
 * Decodes the payload of a `+ <base64>` continuation received after the client's response — the
 * failure challenge of XOAUTH2/OAUTHBEARER (RFC 7628 §3.2.2).
 *
 * @example
 * ```ts
 * decodeChallenge('eyJzdGF0dXMiOiI0MDEifQ==') // → { text: '{"status":"401"}', json: { status: '401' } }
 * ```
 */
export function decodeChallenge(payload: string): SaslChallenge {
  const trimmed = payload.trim();
  const text = /^[A-Za-z0-9+/]*={0,2}$/.test(trimmed)
    ? Buffer.from(trimmed, 'base64').toString('utf8')
    : trimmed;
  try {
    const json: unknown = JSON.parse(text);
    if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
      return { text, json: json as Record<string, unknown> };
    }
  } catch {
    // Not JSON: keep the text.
  }
  return { text };
}
