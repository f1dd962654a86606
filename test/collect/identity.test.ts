import { describe, expect, it } from 'vitest';
import { type IdentityInput, resolveIdentity } from '../../src/collect/identity.js';
import type { ListedMessage } from '../../src/collect/plan.js';
import type { LedgerRecord } from '../../src/ports/index.js';

const settings = { massChangeMinKnown: 4, massChangeShare: 0.5 };
const rec = (uidl: string, extra: Partial<LedgerRecord> = {}): LedgerRecord => ({
  uidl,
  firstSeen: 1,
  collected: true,
  deletePending: false,
  oversizeReported: false,
  ...extra,
});
const ledgerOf = (...records: LedgerRecord[]) => new Map(records.map((r) => [r.uidl, r]));
const run = (input: Partial<IdentityInput> & Pick<IdentityInput, 'listing' | 'ledger'>) =>
  resolveIdentity({ fingerprints: new Map(), settings, now: 100, ...input });
const msg = (n: number, uidl: string, size: number): ListedMessage => ({ msg: n, uidl, size });

describe('resolveIdentity', () => {
  it('trusts UIDL and size, and learns the size of records that lack it', () => {
    const out = run({
      listing: [msg(1, 'a', 10), msg(2, 'b', 20)],
      ledger: ledgerOf(rec('a', { size: 10 }), rec('b')),
    });
    expect(out.reused).toEqual([]);
    const { uidl: _uidl, ...fields } = rec('b');
    expect(out.changes).toEqual([{ type: 'put', uidl: 'b', record: { ...fields, size: 20 } }]);
    expect(out.probes).toEqual([]);
  });

  it('a known UIDL with another size names another message: not collected, recorded as reused', () => {
    const out = run({ listing: [msg(1, 'a', 11)], ledger: ledgerOf(rec('a', { size: 10 })) });
    expect(out.reused).toEqual(['a']);
    expect(out.ledger.get('a')).toMatchObject({ collected: false, size: 11 });
  });

  it('a size that drifted but a fingerprint that agrees is the same message', () => {
    const ledger = ledgerOf(rec('a', { size: 10, fingerprint: 'F' }));
    const first = run({ listing: [msg(1, 'a', 12)], ledger });
    expect(first.probes).toEqual([1]);
    const second = run({ listing: [msg(1, 'a', 12)], ledger, fingerprints: new Map([[1, 'F']]) });
    expect(second.reused).toEqual([]);
    expect(second.ledger.get('a')).toMatchObject({ collected: true, size: 12 });
  });

  it('re-keys every message of a changed mailbox confirmed by size and fingerprint (mass change)', () => {
    const ledger = ledgerOf(
      ...[1, 2, 3, 4].map((i) => rec(`old${i}`, { size: i * 10, fingerprint: `F${i}`, firstSeen: i })),
    );
    const listing = [1, 2, 3, 4].map((i) => msg(i, `new${i}`, i * 10)).concat(msg(5, 'fresh', 10));
    const first = run({ listing, ledger });
    expect(first.mass).toBe(true);
    expect(first.probes).toEqual([1, 2, 3, 4, 5]);
    const fingerprints = new Map([
      [1, 'F1'],
      [2, 'F2'],
      [3, 'F3'],
      [4, 'F4'],
      [5, 'other'],
    ]);
    const out = run({ listing, ledger, fingerprints });
    expect(out.uncertain).toBeUndefined();
    expect(out.rekeyed.map((k) => [k.from, k.to])).toEqual([1, 2, 3, 4].map((i) => [`old${i}`, `new${i}`]));
    expect(out.ledger.get('new3')).toMatchObject({ collected: true, firstSeen: 3, fingerprint: 'F3' });
    expect(out.ledger.has('old3')).toBe(false);
    expect(out.ledger.has('fresh')).toBe(false);
  });

  it('a mass change that cannot be confirmed is uncertain, unless an administrator resolved it', () => {
    const ledger = ledgerOf(...[1, 2, 3, 4].map((i) => rec(`old${i}`)));
    const listing = [1, 2, 3, 4].map((i) => msg(i, `new${i}`, i * 10));
    expect(run({ listing, ledger }).uncertain).toEqual({ known: 4, lost: 4, unconfirmed: 4 });
    expect(run({ listing, ledger, resolution: 'rekey-matching' }).uncertain).toBeUndefined();
    const asNew = run({ listing, ledger, resolution: 'collect-as-new' });
    expect(asNew.uncertain).toBeUndefined();
    expect(asNew.rekeyed).toEqual([]);
  });

  it('below the thresholds, unconfirmable messages are simply new', () => {
    const ledger = ledgerOf(
      rec('old1'),
      rec('keep2', { size: 2 }),
      rec('keep3', { size: 3 }),
      rec('keep4', { size: 4 }),
    );
    const out = run({
      listing: [msg(1, 'keep2', 2), msg(2, 'keep3', 3), msg(3, 'keep4', 4), msg(4, 'new', 9)],
      ledger,
    });
    expect(out.mass).toBe(false);
    expect(out.uncertain).toBeUndefined();
  });

  it('swaps of UIDLs come out right in one batch', () => {
    const ledger = ledgerOf(rec('x', { size: 1, fingerprint: 'A' }), rec('y', { size: 2, fingerprint: 'B' }));
    const listing = [msg(1, 'x', 2), msg(2, 'y', 1)];
    const out = run({
      listing,
      ledger,
      fingerprints: new Map([
        [1, 'B'],
        [2, 'A'],
      ]),
    });
    expect(out.ledger.get('x')).toMatchObject({ collected: true, fingerprint: 'B', size: 2 });
    expect(out.ledger.get('y')).toMatchObject({ collected: true, fingerprint: 'A', size: 1 });
  });

  it('distinct messages under one UIDL get ids of their own; an exact copy stays a duplicate', () => {
    const listing = [msg(1, 'd', 5), msg(2, 'd', 6), msg(3, 'd', 5)];
    const first = run({ listing, ledger: new Map() });
    expect(first.duplicates).toEqual(['d']);
    expect(first.probes).toEqual([1, 2, 3]);
    const out = run({
      listing,
      ledger: new Map(),
      fingerprints: new Map([
        [1, 'P'],
        [2, 'Q'],
        [3, 'P'],
      ]),
    });
    expect(out.listing.map((m) => m.uidl)).toEqual(['d', 'd/sha256:Q', 'd']);
  });
});
