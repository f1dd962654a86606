import { MultiPopError } from '../errors/index.js';
import { type CollectionLedger, groupCommit, type LedgerChange, type MailboxStatus } from '../ports/index.js';
import {
  type LedgerRow,
  recordFromRow,
  type StatusRow,
  statusFromRow,
  statusToRow,
} from '../stores/ledger-rows.js';
import { assertLedgerChanges } from '../stores/ledger-rules.js';
import type { Db, Query } from './db.js';
import { guarded } from './guard.js';
import { planStages, type Stage } from './ledger-batch.js';
import type { Tables } from './tables.js';

/** The lease a fenced write must still hold when it commits. */
export interface Fence {
  key: string;
  token: string;
}

/** The PostgreSQL ledger: the port, plus fenced views for the holders of mailbox leases. */
export interface PostgresLedger extends CollectionLedger {
  /** The same ledger with every write (apply, saveStatus, clear) checked against `fence`. */
  fenced(fence: Fence): CollectionLedger;
}

interface PendingApply {
  mailboxId: string;
  changes: readonly LedgerChange[];
  fence: Fence | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The {@link CollectionLedger} over the `ledger` and `mailbox_status` tables, with group
 * commit: `apply` calls that arrive while a commit is under way wait for it and then go
 * together in the next transaction, with as few multi-row statements as their order allows
 * (see `planStages`). Each call still resolves only once its own transaction committed
 * (PostgreSQL's commit is durable with `synchronous_commit = on`, the default), and a fenced
 * call whose lease was taken over is refused alone with `LEASE_LOST` while the rest commit.
 */
export function postgresLedger(db: Db, t: Tables): PostgresLedger {
  const pending: PendingApply[] = [];
  // Each run takes every call queued before it began; commitBatch settles each call itself.
  const commit = groupCommit(() => commitBatch(pending.splice(0)));

  const commitBatch = async (batch: PendingApply[]) => {
    db.counters.ledgerCommits++;
    let refused = new Map<PendingApply, MultiPopError>();
    try {
      await db.transaction(async (query) => {
        refused = await checkFences(query, t, batch);
        const accepted = batch.filter((item) => !refused.has(item));
        for (const stage of planStages(accepted, Date.now())) await runStage(query, t, stage);
      });
    } catch (err) {
      const error = new MultiPopError(
        'STORE_ERROR',
        'PostgreSQL store: writing the ledger failed',
        {},
        { cause: err },
      );
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) {
      const error = refused.get(item);
      if (error) item.reject(error);
      else item.resolve();
    }
  };

  const apply = (mailboxId: string, changes: readonly LedgerChange[], fence: Fence | undefined) => {
    assertLedgerChanges(changes);
    if (changes.length === 0 && fence === undefined) return Promise.resolve();
    db.counters.ledgerApplies++;
    return new Promise<void>((resolve, reject) => {
      pending.push({ mailboxId, changes, fence, resolve, reject });
      void commit();
    });
  };

  const saveStatus = (status: MailboxStatus, fence: Fence | undefined) =>
    guarded('saving a mailbox status', async () => {
      const row = Object.values(statusToRow(status, (value) => value));
      const fenceCheck = fence ? `WHERE EXISTS (${leaseHeld(t)})` : '';
      const result = await db.query(
        `INSERT INTO ${t.status} SELECT $1::text, $2::bigint, $3::bigint, $4::bigint, $5::text, $6::text,
           $7::int, $8::bigint, $9::boolean, $10::bigint, $11::bigint, $12::bigint ${fenceCheck}
         ON CONFLICT (mailbox_id) DO UPDATE SET
           last_run_at = excluded.last_run_at, last_success_at = excluded.last_success_at,
           last_error_at = excluded.last_error_at, last_error_code = excluded.last_error_code,
           last_error_message = excluded.last_error_message, consecutive_failures = excluded.consecutive_failures,
           next_attempt_at = excluded.next_attempt_at, needs_permission = excluded.needs_permission,
           total_messages = excluded.total_messages, total_bytes = excluded.total_bytes,
           total_sessions = excluded.total_sessions`,
        [...row, ...(fence ? [fence.key, fence.token] : [])],
      );
      if (fence && result.rowCount === 0) throw leaseLost(fence, status.mailboxId);
    });

  const clear = (mailboxId: string, fence: Fence | undefined) =>
    guarded('clearing the ledger', () =>
      db.transaction(async (query) => {
        if (fence) {
          const refused = await checkFences(query, t, [{ mailboxId, fence }]);
          if (refused.size > 0) throw leaseLost(fence, mailboxId);
        }
        await query(`DELETE FROM ${t.ledger} WHERE mailbox_id = $1`, [mailboxId]);
        await query(`DELETE FROM ${t.status} WHERE mailbox_id = $1`, [mailboxId]);
      }),
    );

  const reads = {
    load: (mailboxId: string) =>
      guarded('loading the ledger', async () => {
        const { rows } = await db.query<LedgerRow>(
          `SELECT uidl, first_seen, collected, delete_pending, oversize_reported, size, fingerprint FROM ${t.ledger} WHERE mailbox_id = $1`,
          [mailboxId],
        );
        return new Map(rows.map((row) => [row.uidl, recordFromRow(row)]));
      }),
    loadStatus: (mailboxId: string) =>
      guarded('reading a mailbox status', async () => {
        const { rows } = await db.query<StatusRow>(`SELECT * FROM ${t.status} WHERE mailbox_id = $1`, [
          mailboxId,
        ]);
        return rows[0] ? statusFromRow(rows[0]) : undefined;
      }),
    listStatus: () =>
      guarded('listing mailbox statuses', async () => {
        const { rows } = await db.query<StatusRow>(`SELECT * FROM ${t.status} ORDER BY mailbox_id`);
        return rows.map(statusFromRow);
      }),
  };

  return {
    ...reads,
    apply: (mailboxId, changes) => guarded('writing the ledger', () => apply(mailboxId, changes, undefined)),
    clear: (mailboxId) => clear(mailboxId, undefined),
    saveStatus: (status) => saveStatus(status, undefined),
    fenced: (fence) => ({
      ...reads,
      apply: (mailboxId, changes) => guarded('writing the ledger', () => apply(mailboxId, changes, fence)),
      clear: (mailboxId) => clear(mailboxId, fence),
      saveStatus: (status) => saveStatus(status, fence),
    }),
  };
}

/** `$13`/`$14` (key, token) still name the live lease; FOR SHARE holds off a takeover until commit. */
function leaseHeld(t: Tables): string {
  return `SELECT 1 FROM ${t.leases} WHERE lease_key = $13 AND token = $14::bigint FOR SHARE`;
}

/**
 * Reads the current token of every lease the batch is fenced by, locking those rows FOR SHARE
 * for the rest of the transaction: a takeover (an UPDATE of the row) waits until this commit,
 * and one that committed first is seen (READ COMMITTED re-reads a row that changed under a
 * locking read). So a write commits only while its token is the current one.
 */
async function checkFences<T extends { mailboxId: string; fence: Fence | undefined }>(
  query: Query,
  t: Tables,
  batch: readonly T[],
): Promise<Map<T, MultiPopError>> {
  const refused = new Map<T, MultiPopError>();
  const keys = [...new Set(batch.flatMap((item) => (item.fence ? [item.fence.key] : [])))];
  if (keys.length === 0) return refused;
  const { rows } = await query<{ lease_key: string; token: string }>(
    `SELECT lease_key, token::text FROM ${t.leases} WHERE lease_key = ANY($1::text[]) ORDER BY lease_key FOR SHARE`,
    [keys],
  );
  const current = new Map(rows.map((row) => [row.lease_key, row.token]));
  for (const item of batch) {
    if (item.fence && current.get(item.fence.key) !== item.fence.token)
      refused.set(item, leaseLost(item.fence, item.mailboxId));
  }
  return refused;
}

function leaseLost(fence: Fence, mailboxId: string): MultiPopError {
  return new MultiPopError(
    'LEASE_LOST',
    'Another worker took this mailbox over; this write was refused and the session must stop',
    { mailboxId, leaseToken: fence.token },
  );
}

async function runStage(query: Query, t: Tables, stage: Stage): Promise<void> {
  const rows = 'unnest($1::text[], $2::text[], $3::bigint[])';
  const params = [stage.mailboxIds, stage.uidls, stage.times];
  switch (stage.type) {
    case 'collected': {
      // SET expressions see the row as it was: first_seen moves only when the record turns
      // collected; a size or fingerprint left out (NULL) keeps the stored one.
      const given = stage.changes as Extract<LedgerChange, { type: 'collected' }>[];
      await query(
        `INSERT INTO ${t.ledger} AS l (mailbox_id, uidl, first_seen, size, fingerprint, collected)
         SELECT *, true FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])
         ON CONFLICT (mailbox_id, uidl) DO UPDATE
         SET first_seen = CASE WHEN l.collected THEN l.first_seen ELSE excluded.first_seen END, collected = true,
             size = COALESCE(excluded.size, l.size), fingerprint = COALESCE(excluded.fingerprint, l.fingerprint)`,
        [...params, given.map((c) => c.size ?? null), given.map((c) => c.fingerprint ?? null)],
      );
      return;
    }
    case 'put': {
      const records = (stage.changes as Extract<LedgerChange, { type: 'put' }>[]).map((c) => c.record);
      await query(
        `INSERT INTO ${t.ledger} (mailbox_id, uidl, first_seen, collected, delete_pending, oversize_reported, size, fingerprint)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::boolean[], $6::boolean[], $7::bigint[], $8::text[])
         ON CONFLICT (mailbox_id, uidl) DO UPDATE SET first_seen = excluded.first_seen, collected = excluded.collected,
           delete_pending = excluded.delete_pending, oversize_reported = excluded.oversize_reported,
           size = excluded.size, fingerprint = excluded.fingerprint`,
        [
          ...params,
          records.map((r) => r.collected),
          records.map((r) => r.deletePending),
          records.map((r) => r.oversizeReported),
          records.map((r) => r.size ?? null),
          records.map((r) => r.fingerprint ?? null),
        ],
      );
      return;
    }
    case 'deletePending':
    case 'oversizeReported': {
      const flag = stage.type === 'deletePending' ? 'delete_pending' : 'oversize_reported';
      await query(
        `INSERT INTO ${t.ledger} (mailbox_id, uidl, first_seen, ${flag}) SELECT *, true FROM ${rows}
         ON CONFLICT (mailbox_id, uidl) DO UPDATE SET ${flag} = true`,
        params,
      );
      return;
    }
    case 'forget':
      await query(
        `DELETE FROM ${t.ledger} WHERE (mailbox_id, uidl) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [stage.mailboxIds, stage.uidls],
      );
      return;
  }
}
