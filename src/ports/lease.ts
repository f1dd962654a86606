import type { CollectionLedger } from './ledger.js';

/**
 * Ownership of one remote mailbox for a while, in a fleet of collectors sharing one store. Each
 * acquisition gets a larger `token` than every one before it (a fencing token); every write
 * made through {@link MailboxLease.ledger} is checked against the current token in the same
 * transaction, so a holder that paused past its lease (a GC pause, SIGSTOP, a partition) and
 * lost it to another collector has every further write refused with `LEASE_LOST`.
 */
export interface MailboxLease {
  /** What the lease is on (one remote maildrop: host, port, user name). */
  readonly key: string;
  /** The fencing token (decimal digits; grows with every acquisition of this key). */
  readonly token: string;
  /** The ledger, every write fenced by this lease (reads are not). */
  readonly ledger: CollectionLedger;
  /**
   * Extends the lease by its time from now (the store's clock).
   * @throws MultiPopError `LEASE_LOST` when another holder took the key since.
   */
  renew(): Promise<void>;
  /** Gives the lease up now (others may take it at once); never throws for a lost lease. */
  release(): Promise<void>;
}

/** What {@link MailboxLeases.acquire} found. */
export type LeaseAttempt =
  | { acquired: true; lease: MailboxLease }
  /** Another holder's lease is live for `retryInMs` more (by the store's clock). */
  | { acquired: false; retryInMs: number; holder: string };

/** Hands out {@link MailboxLease}s; implemented by stores shared between processes (PostgreSQL). */
export interface MailboxLeases {
  /** Takes the lease on `key` for `holder` for `ttlMs`, unless someone else holds a live one. */
  acquire(key: string, holder: string, ttlMs: number): Promise<LeaseAttempt>;
}
