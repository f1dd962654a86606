import { createHash } from 'node:crypto';

/** Versions the key derivation: changing it would re-deliver everything in a crash window. */
const DOMAIN = 'multipop/idempotency/v1';

/**
 * The idempotency key the local queue receives for one remote message: stable across retries,
 * restarts and machines for the same mailbox entry and UIDL, and different for any other pair.
 *
 * It is the SHA-256 (hex) of a length-prefixed encoding of both values, so no two pairs share an
 * encoding: `("a", "bc")` and `("ab", "c")` give different keys, whatever bytes the UIDL holds.
 *
 * @example
 * ```ts
 * idempotencyKey('ann-gmail', '1234.abcd'); // 64 hex digits, the same on every call
 * ```
 */
export function idempotencyKey(mailboxId: string, uidl: string): string {
  const hash = createHash('sha256');
  for (const part of [DOMAIN, mailboxId, uidl]) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('hex');
}
