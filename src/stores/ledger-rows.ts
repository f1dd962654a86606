/**
 * The ledger's rows as both SQL stores keep them (the same columns in SQLite and PostgreSQL),
 * turned into the port's records and back. The drivers differ only in how a value comes back:
 * better-sqlite3 gives numbers and 0/1, pg gives a `bigint` as a decimal string and booleans.
 */
import type { LedgerRecord, MailboxStatus } from '../ports/index.js';

/** A number as a driver returns it: a number (SQLite), or a decimal string for a `bigint` (pg). */
type SqlNumber = number | string;
/** A boolean as a driver returns it: 0 or 1 (SQLite), or a boolean (PostgreSQL). */
type SqlBoolean = number | boolean;

/** A row of the `ledger` table (without its `mailbox_id`). */
export interface LedgerRow {
  uidl: string;
  first_seen: SqlNumber;
  collected: SqlBoolean;
  delete_pending: SqlBoolean;
  oversize_reported: SqlBoolean;
  size: SqlNumber | null;
  fingerprint: string | null;
}

/** A row of the `mailbox_status` table, in its column order. */
export interface StatusRow {
  mailbox_id: string;
  last_run_at: SqlNumber | null;
  last_success_at: SqlNumber | null;
  last_error_at: SqlNumber | null;
  last_error_code: string | null;
  last_error_message: string | null;
  consecutive_failures: number;
  next_attempt_at: SqlNumber | null;
  needs_permission: SqlBoolean;
  total_messages: SqlNumber;
  total_bytes: SqlNumber;
  total_sessions: SqlNumber;
}

/**
 * A ledger record from its row; columns that are NULL stay absent.
 *
 * @example
 * ```ts
 * recordFromRow({ uidl: 'a1', first_seen: '1700000000000', collected: true, delete_pending: false,
 *   oversize_reported: false, size: null, fingerprint: null }); // { uidl: 'a1', firstSeen: 1700000000000, … }
 * ```
 */
export function recordFromRow(row: LedgerRow): LedgerRecord {
  const record: LedgerRecord = {
    uidl: row.uidl,
    firstSeen: Number(row.first_seen),
    collected: Boolean(row.collected),
    deletePending: Boolean(row.delete_pending),
    oversizeReported: Boolean(row.oversize_reported),
  };
  if (row.size !== null) record.size = Number(row.size);
  if (row.fingerprint !== null) record.fingerprint = row.fingerprint;
  return record;
}

/** A mailbox status from its row; columns that are NULL stay absent. */
export function statusFromRow(row: StatusRow): MailboxStatus {
  const status: MailboxStatus = {
    mailboxId: row.mailbox_id,
    consecutiveFailures: row.consecutive_failures,
    needsPermission: Boolean(row.needs_permission),
    totalMessages: Number(row.total_messages),
    totalBytes: Number(row.total_bytes),
    totalSessions: Number(row.total_sessions),
  };
  if (row.last_run_at !== null) status.lastRunAt = Number(row.last_run_at);
  if (row.last_success_at !== null) status.lastSuccessAt = Number(row.last_success_at);
  if (row.last_error_at !== null) status.lastErrorAt = Number(row.last_error_at);
  if (row.last_error_code !== null) status.lastErrorCode = row.last_error_code;
  if (row.last_error_message !== null) status.lastErrorMessage = row.last_error_message;
  if (row.next_attempt_at !== null) status.nextAttemptAt = Number(row.next_attempt_at);
  return status;
}

/**
 * The row of a mailbox status, absent fields as NULL, in the table's column order (so
 * `Object.values` gives positional parameters). SQLite cannot bind a boolean: it stores
 * `needs_permission` as 0/1; PostgreSQL as a boolean.
 */
export function statusToRow(status: MailboxStatus, flag: (value: boolean) => SqlBoolean): StatusRow {
  return {
    mailbox_id: status.mailboxId,
    last_run_at: status.lastRunAt ?? null,
    last_success_at: status.lastSuccessAt ?? null,
    last_error_at: status.lastErrorAt ?? null,
    last_error_code: status.lastErrorCode ?? null,
    last_error_message: status.lastErrorMessage ?? null,
    consecutive_failures: status.consecutiveFailures,
    next_attempt_at: status.nextAttemptAt ?? null,
    needs_permission: flag(status.needsPermission),
    total_messages: status.totalMessages,
    total_bytes: status.totalBytes,
    total_sessions: status.totalSessions,
  };
}
