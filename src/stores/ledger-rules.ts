import { MultiPopError } from '../errors/index.js';
import type { LedgerChange, LedgerRecord, LedgerRecordFields } from '../ports/index.js';

/**
 * How one {@link LedgerChange} changes a mailbox's records — the semantics every ledger we ship
 * implements (and the ledger contract suite checks):
 *
 * - `collected`: creates the record (`firstSeen = at`) or marks it collected. `firstSeen` is the
 *   time of the *first* collection: it is set when a record turns collected and kept after that.
 *   A given `size` or `fingerprint` replaces the stored one; one left out keeps it.
 * - `deletePending`: sets the flag; an unknown UIDL gets a record (`collected: false`, `firstSeen`
 *   = now) — that is an over-size message deleted without download.
 * - `forget`: removes the record; an unknown UIDL is no change.
 * - `oversizeReported`: sets the flag; an unknown UIDL gets a record with `firstSeen = at`.
 * - `put`: writes the whole record (all flags, `size` and `fingerprint` as given; fields left
 *   out are unknown), replacing any record of that UIDL.
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
    case 'collected': {
      const identity = identityOf(change);
      if (!existing)
        records.set(change.uidl, newRecord(change.uidl, change.at, { collected: true, ...identity }));
      else
        records.set(change.uidl, {
          ...existing,
          collected: true,
          firstSeen: existing.collected ? existing.firstSeen : change.at,
          ...identity,
        });
      return;
    }
    case 'put':
      records.set(change.uidl, { ...withoutUndefined(change.record), uidl: change.uidl });
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
      change && ['collected', 'deletePending', 'forget', 'oversizeReported', 'put'].includes(change.type);
    const timed = change?.type === 'collected' || change?.type === 'oversizeReported';
    if (
      !known ||
      typeof change.uidl !== 'string' ||
      (timed && !Number.isFinite((change as { at: number }).at)) ||
      (change.type === 'collected' && !validIdentity(change)) ||
      (change.type === 'put' && !validRecord(change.record))
    ) {
      throw new MultiPopError('STORE_ERROR', `Ledger change #${index} is malformed; nothing was applied`, {
        index,
      });
    }
  });
}

/** The `size` and `fingerprint` a change carries, without the ones it leaves out. */
function identityOf(source: { size?: number; fingerprint?: string }): Partial<LedgerRecord> {
  const identity: Partial<LedgerRecord> = {};
  if (source.size !== undefined) identity.size = source.size;
  if (source.fingerprint !== undefined) identity.fingerprint = source.fingerprint;
  return identity;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function validIdentity(source: { size?: unknown; fingerprint?: unknown }): boolean {
  return (
    (source.size === undefined || (Number.isSafeInteger(source.size) && (source.size as number) >= 0)) &&
    (source.fingerprint === undefined || typeof source.fingerprint === 'string')
  );
}

function validRecord(record: LedgerRecordFields | undefined): boolean {
  return (
    typeof record === 'object' &&
    record !== null &&
    Number.isFinite(record.firstSeen) &&
    typeof record.collected === 'boolean' &&
    typeof record.deletePending === 'boolean' &&
    typeof record.oversizeReported === 'boolean' &&
    validIdentity(record)
  );
}

function newRecord(uidl: string, firstSeen: number, flags: Partial<LedgerRecord>): LedgerRecord {
  return { uidl, firstSeen, collected: false, deletePending: false, oversizeReported: false, ...flags };
}
