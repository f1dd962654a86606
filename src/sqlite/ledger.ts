import type { CollectionLedger, LedgerChange, LedgerRecord, MailboxStatus } from '../ports/index.js';
import { assertLedgerChanges } from '../stores/ledger-rules.js';
import type { SqliteDatabase } from './driver.js';
import { groupWriter } from './group-writer.js';
import { guarded, guardedLater } from './guard.js';

interface LedgerRow {
  uidl: string;
  first_seen: number;
  collected: number;
  delete_pending: number;
  oversize_reported: number;
  size: number | null;
  fingerprint: string | null;
}

interface StatusRow {
  mailbox_id: string;
  last_run_at: number | null;
  last_success_at: number | null;
  last_error_at: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  consecutive_failures: number;
  next_attempt_at: number | null;
  needs_permission: number;
  total_messages: number;
  total_bytes: number;
  total_sessions: number;
}

/**
 * The {@link CollectionLedger} over the store's `ledger` and `mailbox_status` tables. Each `apply`
 * is atomic (all its changes or none) and on disk when it resolves. Writes are group-committed
 * ({@link groupWriter}): the `apply` and `saveStatus` calls of all sessions in one turn of the
 * event loop share one transaction and one WAL sync, and the sync runs off the event loop. Each
 * change is one upsert or delete by primary key: cost O(changes), whatever the size of the mailbox.
 */
export function sqliteLedger(db: SqliteDatabase): CollectionLedger {
  const statements = {
    load: db.prepare<[string], LedgerRow>(
      `SELECT uidl, first_seen, collected, delete_pending, oversize_reported, size, fingerprint
       FROM ledger WHERE mailbox_id = ?`,
    ),
    // SET expressions see the row as it was: first_seen moves only when the record turns collected;
    // a size or fingerprint left out (NULL) keeps the stored one.
    collected: db.prepare<[string, string, number, number | null, string | null]>(
      `INSERT INTO ledger (mailbox_id, uidl, first_seen, collected, size, fingerprint) VALUES (?, ?, ?, 1, ?, ?)
       ON CONFLICT (mailbox_id, uidl) DO UPDATE
       SET first_seen = CASE WHEN collected = 0 THEN excluded.first_seen ELSE first_seen END, collected = 1,
           size = COALESCE(excluded.size, size), fingerprint = COALESCE(excluded.fingerprint, fingerprint)`,
    ),
    put: db.prepare<[string, string, number, number, number, number, number | null, string | null]>(
      `INSERT OR REPLACE INTO ledger
         (mailbox_id, uidl, first_seen, collected, delete_pending, oversize_reported, size, fingerprint)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deletePending: db.prepare<[string, string, number]>(
      `INSERT INTO ledger (mailbox_id, uidl, first_seen, delete_pending) VALUES (?, ?, ?, 1)
       ON CONFLICT (mailbox_id, uidl) DO UPDATE SET delete_pending = 1`,
    ),
    oversizeReported: db.prepare<[string, string, number]>(
      `INSERT INTO ledger (mailbox_id, uidl, first_seen, oversize_reported) VALUES (?, ?, ?, 1)
       ON CONFLICT (mailbox_id, uidl) DO UPDATE SET oversize_reported = 1`,
    ),
    forget: db.prepare<[string, string]>('DELETE FROM ledger WHERE mailbox_id = ? AND uidl = ?'),
    clearRecords: db.prepare<[string]>('DELETE FROM ledger WHERE mailbox_id = ?'),
    clearStatus: db.prepare<[string]>('DELETE FROM mailbox_status WHERE mailbox_id = ?'),
    loadStatus: db.prepare<[string], StatusRow>('SELECT * FROM mailbox_status WHERE mailbox_id = ?'),
    listStatus: db.prepare<[], StatusRow>('SELECT * FROM mailbox_status ORDER BY mailbox_id'),
    saveStatus: db.prepare<[StatusRow]>(
      `INSERT OR REPLACE INTO mailbox_status VALUES (
         @mailbox_id, @last_run_at, @last_success_at, @last_error_at, @last_error_code, @last_error_message,
         @consecutive_failures, @next_attempt_at, @needs_permission, @total_messages, @total_bytes, @total_sessions)`,
    ),
  };

  const apply = db.transaction((mailboxId: string, changes: readonly LedgerChange[]) => {
    const now = Date.now();
    for (const change of changes) {
      switch (change.type) {
        case 'collected':
          statements.collected.run(
            mailboxId,
            change.uidl,
            change.at,
            change.size ?? null,
            change.fingerprint ?? null,
          );
          break;
        case 'put': {
          const r = change.record;
          statements.put.run(
            mailboxId,
            change.uidl,
            r.firstSeen,
            r.collected ? 1 : 0,
            r.deletePending ? 1 : 0,
            r.oversizeReported ? 1 : 0,
            r.size ?? null,
            r.fingerprint ?? null,
          );
          break;
        }
        case 'deletePending':
          statements.deletePending.run(mailboxId, change.uidl, now);
          break;
        case 'forget':
          statements.forget.run(mailboxId, change.uidl);
          break;
        case 'oversizeReported':
          statements.oversizeReported.run(mailboxId, change.uidl, change.at);
          break;
      }
    }
  });
  // Ledger writes and statuses of every session in the process, group-committed: one
  // transaction and one WAL sync (off the event loop) per turn; each resolves once durable.
  const write = groupWriter(
    db,
    (w: { mailboxId: string; changes: readonly LedgerChange[] } | { status: StatusRow }) => {
      if ('status' in w) statements.saveStatus.run(w.status);
      else apply(w.mailboxId, w.changes);
    },
  );
  const clear = db.transaction((mailboxId: string) => {
    statements.clearRecords.run(mailboxId);
    statements.clearStatus.run(mailboxId);
  });

  return {
    load: (mailboxId) =>
      guarded('loading the ledger', () => {
        const records = new Map<string, LedgerRecord>();
        for (const row of statements.load.all(mailboxId)) records.set(row.uidl, toRecord(row));
        return records;
      }),
    apply: async (mailboxId, changes) => {
      await guarded('writing the ledger', () => assertLedgerChanges(changes));
      if (changes.length > 0) await guardedLater('writing the ledger', write({ mailboxId, changes }));
    },
    clear: (mailboxId) => guarded('clearing the ledger', () => clear.immediate(mailboxId)),
    loadStatus: (mailboxId) =>
      guarded('reading a mailbox status', () => {
        const row = statements.loadStatus.get(mailboxId);
        return row ? toStatus(row) : undefined;
      }),
    saveStatus: async (status) => {
      const row = await guarded('saving a mailbox status', () => toStatusRow(status));
      await guardedLater('saving a mailbox status', write({ status: row }));
    },
    listStatus: () => guarded('listing mailbox statuses', () => statements.listStatus.all().map(toStatus)),
  };
}

function toRecord(row: LedgerRow): LedgerRecord {
  const record: LedgerRecord = {
    uidl: row.uidl,
    firstSeen: row.first_seen,
    collected: row.collected === 1,
    deletePending: row.delete_pending === 1,
    oversizeReported: row.oversize_reported === 1,
  };
  if (row.size !== null) record.size = row.size;
  if (row.fingerprint !== null) record.fingerprint = row.fingerprint;
  return record;
}

function toStatus(row: StatusRow): MailboxStatus {
  const status: MailboxStatus = {
    mailboxId: row.mailbox_id,
    consecutiveFailures: row.consecutive_failures,
    needsPermission: row.needs_permission === 1,
    totalMessages: row.total_messages,
    totalBytes: row.total_bytes,
    totalSessions: row.total_sessions,
  };
  if (row.last_run_at !== null) status.lastRunAt = row.last_run_at;
  if (row.last_success_at !== null) status.lastSuccessAt = row.last_success_at;
  if (row.last_error_at !== null) status.lastErrorAt = row.last_error_at;
  if (row.last_error_code !== null) status.lastErrorCode = row.last_error_code;
  if (row.last_error_message !== null) status.lastErrorMessage = row.last_error_message;
  if (row.next_attempt_at !== null) status.nextAttemptAt = row.next_attempt_at;
  return status;
}

function toStatusRow(status: MailboxStatus): StatusRow {
  return {
    mailbox_id: status.mailboxId,
    last_run_at: status.lastRunAt ?? null,
    last_success_at: status.lastSuccessAt ?? null,
    last_error_at: status.lastErrorAt ?? null,
    last_error_code: status.lastErrorCode ?? null,
    last_error_message: status.lastErrorMessage ?? null,
    consecutive_failures: status.consecutiveFailures,
    next_attempt_at: status.nextAttemptAt ?? null,
    needs_permission: status.needsPermission ? 1 : 0,
    total_messages: status.totalMessages,
    total_bytes: status.totalBytes,
    total_sessions: status.totalSessions,
  };
}
