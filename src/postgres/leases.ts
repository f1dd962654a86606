import { MultiPopError } from '../errors/index.js';
import type { LeaseAttempt, MailboxLease, MailboxLeases } from '../ports/index.js';
import type { Db } from './db.js';
import { guarded } from './guard.js';
import type { PostgresLedger } from './ledger.js';
import type { Tables } from './tables.js';

/**
 * {@link MailboxLeases} over the `mailbox_leases` table. Acquiring is one statement: it takes
 * a free or expired row (or creates it) and raises the token by one; expiry is judged by the
 * database's clock, so workers' clocks never matter. Rows are never deleted — releasing only
 * expires the lease — so a token is never handed out twice.
 */
export function postgresLeases(db: Db, t: Tables, ledger: PostgresLedger): MailboxLeases {
  return {
    acquire: (key, holder, ttlMs) =>
      guarded('taking a mailbox lease', async (): Promise<LeaseAttempt> => {
        const ttl = Math.max(1, Math.round(ttlMs));
        const taken = await db.query<{ token: string }>(
          `INSERT INTO ${t.leases} AS l (lease_key, holder, token, expires_at)
           VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
           ON CONFLICT (lease_key) DO UPDATE
           SET holder = excluded.holder, token = l.token + 1, expires_at = excluded.expires_at
           WHERE l.expires_at <= now()
           RETURNING token::text`,
          [key, holder, ttl],
        );
        const token = taken.rows[0]?.token;
        if (token !== undefined) return { acquired: true, lease: makeLease(db, t, ledger, key, token, ttl) };
        const held = await db.query<{ holder: string; ms: number }>(
          `SELECT holder, greatest(0, ceil(extract(epoch FROM expires_at - now()) * 1000))::float8 AS ms
           FROM ${t.leases} WHERE lease_key = $1`,
          [key],
        );
        const row = held.rows[0];
        // Expired between the two statements: let the caller try again at once.
        return { acquired: false, retryInMs: row?.ms ?? 0, holder: row?.holder ?? '' };
      }),
  };
}

function makeLease(
  db: Db,
  t: Tables,
  ledger: PostgresLedger,
  key: string,
  token: string,
  ttlMs: number,
): MailboxLease {
  return {
    key,
    token,
    ledger: ledger.fenced({ key, token }),
    renew: () =>
      guarded('renewing a mailbox lease', async () => {
        const renewed = await db.query(
          `UPDATE ${t.leases} SET expires_at = now() + $3 * interval '1 millisecond'
           WHERE lease_key = $1 AND token = $2::bigint`,
          [key, token, ttlMs],
        );
        if (renewed.rowCount === 0) {
          throw new MultiPopError('LEASE_LOST', 'Another worker took this mailbox over', {
            leaseToken: token,
          });
        }
      }),
    release: () =>
      guarded('releasing a mailbox lease', async () => {
        await db.query(
          `UPDATE ${t.leases} SET expires_at = now() WHERE lease_key = $1 AND token = $2::bigint`,
          [key, token],
        );
      }),
  };
}
