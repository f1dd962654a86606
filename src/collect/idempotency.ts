import { createHash } from 'node:crypto';

/** Versions the key derivation: changing it would re-deliver everything in a crash window. */
const DOMAIN = 'multipop/idempotency/v1';
/** v2 adds the LIST size: a UIDL the server reuses for another message gets another key. */
const DOMAIN_V2 = 'multipop/idempotency/v2';

/**
 * The idempotency key the local queue receives for one remote message: stable across retries,
 * restarts and machines for the same mailbox entry, UIDL and size, and different for any other
 * combination.
 *
 * The session always passes the message's LIST `size`: a server that gives a UIDL to another
 * message later (servers that use message numbers as ids do, after deletions elsewhere) must not
 * have that message dropped by an idempotent queue as "seen already". For such a reused UIDL the
 * session also passes the header `fingerprint` it probed (`TOP n 0`), which the ledger keeps
 * until the message is collected, so even a look-alike of the same size gets a key of its own.
 * Without `size` the key is
 * the v1 key of mailbox and UIDL alone (for keys recorded by earlier versions).
 *
 * It is the SHA-256 (hex) of a length-prefixed encoding of the values, so no two combinations
 * share an encoding: `("a", "bc")` and `("ab", "c")` give different keys, whatever bytes the UIDL
 * holds.
 *
 * @example
 * ```ts
 * idempotencyKey('ann-gmail', '1234.abcd', 2_048); // 64 hex digits, the same on every call
 * ```
 */
export function idempotencyKey(mailboxId: string, uidl: string, size?: number, fingerprint?: string): string {
  const hash = createHash('sha256');
  const parts =
    size === undefined
      ? [DOMAIN, mailboxId, uidl]
      : [DOMAIN_V2, mailboxId, uidl, String(size), ...(fingerprint === undefined ? [] : [fingerprint])];
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('hex');
}
