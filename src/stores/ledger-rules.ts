import { MultiPopError } from '../errors/index.js';
import type { LedgerChange, LedgerRecord } from '../ports/index.js';

/**
 * How one {@link LedgerChange} changes a mailbox's records — the semantics every ledger we ship
 * implements (and the ledger contract suite checks):
 *
 * - `collected`: creates the record (`firstSeen = at`) or marks it collected. `firstSeen` is the
 *   time of the *first* collection: it is set when a record turns collected and kept after that.
 * - `deletePending`: sets the flag; an unknown UIDL gets a record (`collected: false`, `firstSeen`
 *   = now) — that is an over-size message deleted without download.
 * - `forget`: removes the record; an unknown UIDL is no change.
 * - `oversizeReported`: sets the flag; an unknown UIDL gets a record with `firstSeen = at`.
 *
 * @example
 * ```ts
 * applyLedgerChange(records, { type: 'collected', uidl: 'u1', at: Date.now() }, Date.now());
 * ```
 */
export function applyLedgerChange(
  records: Map<string, LedgerRecord>,
  change: LedgerChange,
  now: number,
): void {
  const existing = records.get(change.uidl);
  switch (change.type) {
    case 'collected':
      if (!existing) records.set(change.uidl, newRecord(change.uidl, change.at, { collected: true }));
      else if (!existing.collected)
        records.set(change.uidl, { ...existing, collected: true, firstSeen: change.at });
      return;
    case 'deletePending':
      records.set(
        change.uidl,
        existing
          ? { ...existing, deletePending: true }
          : newRecord(change.uidl, now, { deletePending: true }),
      );
      return;
    case 'forget':
      records.delete(change.uidl);
      return;
    case 'oversizeReported':
      records.set(
        change.uidl,
        existing
          ? { ...existing, oversizeReported: true }
          : newRecord(change.uidl, change.at, { oversizeReported: true }),
      );
      return;
  }
}

/**
 * Checks a batch before any of it is applied, so a malformed change cannot leave half a batch
 * behind (the port promises atomic application).
 *
 * @throws MultiPopError `STORE_ERROR` naming the first bad change by index.
 * @example
 * ```ts
 * assertLedgerChanges(changes);
 * ```
 */
export function assertLedgerChanges(changes: readonly LedgerChange[]): void {
  changes.forEach((change, index) => {
    const known =
      change && ['collected', 'deletePending', 'forget', 'oversizeReported'].includes(change.type);
    const timed = change?.type === 'collected' || change?.type === 'oversizeReported';
    if (
      !known ||
      typeof change.uidl !== 'string' ||
      (timed && !Number.isFinite((change as { at: number }).at))
    ) {
      throw new MultiPopError('STORE_ERROR', `Ledger change #${index} is malformed; nothing was applied`, {
        index,
      });
    }
  });
}

function newRecord(uidl: string, firstSeen: number, flags: Partial<LedgerRecord>): LedgerRecord {
  return { uidl, firstSeen, collected: false, deletePending: false, oversizeReported: false, ...flags };
}
