import type { CollectionLedger, LedgerChange, LedgerRecord } from '../ports/index.js';
import {
  type LedgerRow,
  recordFromRow,
  type StatusRow,
  statusFromRow,
  statusToRow,
} from '../stores/ledger-rows.js';
import { assertLedgerChanges } from '../stores/ledger-rules.js';
import type { SqliteDatabase } from './driver.js';
import { groupWriter } from './group-writer.js';
import { guarded, guardedLater } from './guard.js';

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
        for (const row of statements.load.all(mailboxId)) records.set(row.uidl, recordFromRow(row));
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
        return row ? statusFromRow(row) : undefined;
      }),
    saveStatus: async (status) => {
      const row = await guarded('saving a mailbox status', () =>
        statusToRow(status, (value) => (value ? 1 : 0)),
      );
      await guardedLater('saving a mailbox status', write({ status: row }));
    },
    listStatus: () =>
      guarded('listing mailbox statuses', () => statements.listStatus.all().map(statusFromRow)),
  };
}
