import { createHash } from 'node:crypto';

// RFC 1939 §7: the timestamp is a msg-id, `<` … `>`, somewhere in the greeting.
const TIMESTAMP = /<[^<>\s]+>/;

/**
 * The APOP timestamp (`<…>` with the brackets) in a greeting's text, if any.
 *
 * @example
 * ```ts
 * apopTimestamp('POP3 server ready <1896.697170952@dbc.mtview.ca.us>') // → '<1896.697170952@dbc.mtview.ca.us>'
 * ```
 */
export function apopTimestamp(greeting: string): string | undefined {
  return TIMESTAMP.exec(greeting)?.[0];
}

/**
 * The APOP digest: lower-case hex MD5 of the timestamp followed by the shared secret.
 *
 * @example
 * ```ts
 * apopDigest('<1896.697170952@dbc.mtview.ca.us>', 'tanstaaf') // → 'c4c9334bac560ecc979e58001b3e22fb' (RFC 1939)
 * ```
 */
export function apopDigest(timestamp: string, secret: string): string {
  return createHash('md5')
    .update(timestamp + secret, 'utf8')
    .digest('hex');
}
