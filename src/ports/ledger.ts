/** What the library remembers about one remote message (by UIDL) of one mailbox entry. */
export interface LedgerRecord {
  uidl: string;
  /** When the message was first collected (ms since epoch); the `entry.deleteAfterDays` day count starts here. */
  firstSeen: number;
  /** True once the local queue accepted the message. */
  collected: boolean;
  /** A DELE was decided; it is re-issued until a QUIT confirms it. */
  deletePending: boolean;
  /** The message was skipped as over-size and that was reported (report once, not every cycle). */
  oversizeReported: boolean;
  /**
   * The message's size as LIST announced it when it was collected. Undefined in records written
   * before the ledger remembered sizes: the UIDL alone is trusted then.
   */
  size?: number;
  /**
   * The header-block fingerprint of the collected message (`headerFingerprint()`: SHA-256 hex of
   * the header block, as RETR streamed it or `TOP n 0` returns it). Undefined when unknown (older
   * records, a header block over the capture limit).
   */
  fingerprint?: string;
}

/** The fields of a {@link LedgerRecord} besides its UIDL, as a `put` change writes them. */
export type LedgerRecordFields = Omit<LedgerRecord, 'uidl'>;

/** One durable change to a mailbox's ledger. */
export type LedgerChange =
  /**
   * The local queue accepted the message; `size` (LIST) and `fingerprint` say what it is, so a
   * later session can tell when the UIDL names another message. Given values replace stored ones.
   */
  | { type: 'collected'; uidl: string; at: number; size?: number; fingerprint?: string }
  /** The message is to be deleted remotely (it must be `collected`, or be an over-size delete). */
  | { type: 'deletePending'; uidl: string }
  /** QUIT confirmed the deletion, or the UIDL is gone from the server: forget the record. */
  | { type: 'forget'; uidl: string }
  /** An over-size message was reported (so it is not reported again). */
  | { type: 'oversizeReported'; uidl: string; at: number }
  /**
   * Writes the whole record under `uidl`, replacing any record there: how a message whose UIDL
   * the server changed is re-keyed (`forget` the old UIDL, `put` the record under the new one),
   * and how a record learns the size of its message.
   */
  | { type: 'put'; uidl: string; record: LedgerRecordFields };

/** Per-mailbox status and totals, for statistics and the CLI's `status`. */
export interface MailboxStatus {
  mailboxId: string;
  lastRunAt?: number;
  lastSuccessAt?: number;
  lastErrorAt?: number;
  lastErrorCode?: string;
  lastErrorMessage?: string;
  consecutiveFailures: number;
  /** Not before this time (ms) — back-off after failures, IN-USE or LOGIN-DELAY. */
  nextAttemptAt?: number;
  /** The OAuth grant is gone; collection pauses until the user grants permission again. */
  needsPermission: boolean;
  totalMessages: number;
  totalBytes: number;
  totalSessions: number;
}

/**
 * The collection ledger: per remote mailbox, which UIDLs were collected (and when), which
 * deletions are pending. The crash-safety order depends on it: `apply` must be durable when it
 * resolves.
 */
export interface CollectionLedger {
  /** All records of one mailbox entry (O(n) once per session). */
  load(mailboxId: string): Promise<Map<string, LedgerRecord>>;
  /** Applies the changes atomically and durably, in order. */
  apply(mailboxId: string, changes: readonly LedgerChange[]): Promise<void>;
  /** Removes everything about a mailbox entry (when the entry is removed). */
  clear(mailboxId: string): Promise<void>;
  /** A mailbox entry's status, or undefined before its first session. */
  loadStatus(mailboxId: string): Promise<MailboxStatus | undefined>;
  /** Replaces a mailbox entry's status (all fields). */
  saveStatus(status: MailboxStatus): Promise<void>;
  /** Every saved status. */
  listStatus(): Promise<MailboxStatus[]>;
}

/**
 * A fresh status record with zero totals: what a mailbox's status is before its first session.
 *
 * @example
 * ```ts
 * import { emptyMailboxStatus } from 'multipop/ports';
 * await ledger.saveStatus({ ...emptyMailboxStatus('ann-work'), consecutiveFailures: 1 });
 * ```
 */
export function emptyMailboxStatus(mailboxId: string): MailboxStatus {
  return {
    mailboxId,
    consecutiveFailures: 0,
    needsPermission: false,
    totalMessages: 0,
    totalBytes: 0,
    totalSessions: 0,
  };
}
