import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ListedMessage, type Plan, plan } from '../../src/collect/plan.js';
import type { EffectivePolicy } from '../../src/collect/policy.js';
import type { LedgerRecord } from '../../src/ports/index.js';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

const deleteMode: EffectivePolicy = {
  leaveOnServer: false,
  deleteAfterMs: 0,
  maxMessageSize: 0,
  deleteOversized: false,
};
const keepMode: EffectivePolicy = { ...deleteMode, leaveOnServer: true };

function record(uidl: string, overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    uidl,
    firstSeen: NOW - DAY,
    collected: true,
    deletePending: false,
    oversizeReported: false,
    ...overrides,
  };
}

function ledgerOf(...records: LedgerRecord[]): Map<string, LedgerRecord> {
  return new Map(records.map((r) => [r.uidl, r]));
}

const msg = (n: number, uidl: string, size = 1000): ListedMessage => ({ msg: n, size, uidl });

/** The plan reduced to what each row asserts: ids per category. */
function summary(p: Plan) {
  return {
    fetch: p.fetch.map((m) => m.uidl),
    delete: p.delete.map((m) => `${m.uidl}:${m.reason}`),
    skip: p.skipOversize.map((m) => `${m.uidl}:${m.report ? 'report' : 'quiet'}`),
    duplicates: p.duplicates.map((m) => `${m.msg}->${m.firstMsg}`),
    prune: [...p.prune].sort(),
    alreadyCollected: p.alreadyCollected,
    kept: p.kept,
  };
}

const none = { fetch: [], delete: [], skip: [], duplicates: [], prune: [], alreadyCollected: 0, kept: 0 };

interface Row {
  rule: string;
  listing: ListedMessage[];
  ledger: Map<string, LedgerRecord>;
  policy: EffectivePolicy;
  now?: number;
  expected: Partial<ReturnType<typeof summary>>;
}

const rows: Row[] = [
  {
    rule: 'a message not in the ledger is fetched',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(),
    policy: deleteMode,
    expected: { fetch: ['a'] },
  },
  {
    rule: 'a ledger record that is not collected (only reported over-size) is fetched once within the limit',
    listing: [msg(1, 'a', 5000)],
    ledger: ledgerOf(record('a', { collected: false, oversizeReported: true })),
    policy: { ...keepMode, maxMessageSize: 10_000 },
    expected: { fetch: ['a'] },
  },
  {
    rule: 'a collected message is kept with leave-on-server and no expiry',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a')),
    policy: keepMode,
    expected: { alreadyCollected: 1, kept: 1 },
  },
  {
    rule: 'a collected message still on the server in delete mode is deleted (crash before DELE/QUIT)',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a')),
    policy: deleteMode,
    expected: { delete: ['a:collected'], alreadyCollected: 1 },
  },
  {
    rule: 'a pending delete is issued again, even with leave-on-server',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a', { deletePending: true })),
    policy: keepMode,
    expected: { delete: ['a:pending'], alreadyCollected: 1 },
  },
  {
    rule: 'pending wins over collected in delete mode',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a', { deletePending: true })),
    policy: deleteMode,
    expected: { delete: ['a:pending'], alreadyCollected: 1 },
  },
  {
    rule: 'M6: expired exactly at deleteAfterMs',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a', { firstSeen: NOW - 7 * DAY })),
    policy: { ...keepMode, deleteAfterMs: 7 * DAY },
    expected: { delete: ['a:expired'], alreadyCollected: 1 },
  },
  {
    rule: 'M6: one millisecond short of expiry is kept',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a', { firstSeen: NOW - 7 * DAY + 1 })),
    policy: { ...keepMode, deleteAfterMs: 7 * DAY },
    expected: { alreadyCollected: 1, kept: 1 },
  },
  {
    rule: 'M6 = 0 never expires',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a', { firstSeen: 0 })),
    policy: keepMode,
    expected: { alreadyCollected: 1, kept: 1 },
  },
  {
    rule: 'a first-seen time in the future (clock went back) is not expired',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a', { firstSeen: NOW + DAY })),
    policy: { ...keepMode, deleteAfterMs: DAY },
    expected: { alreadyCollected: 1, kept: 1 },
  },
  {
    rule: 'M7: over the limit is skipped and reported the first time',
    listing: [msg(1, 'big', 10_001)],
    ledger: ledgerOf(),
    policy: { ...deleteMode, maxMessageSize: 10_000 },
    expected: { skip: ['big:report'] },
  },
  {
    rule: 'M7: exactly at the limit is fetched (only larger is over-size)',
    listing: [msg(1, 'edge', 10_000)],
    ledger: ledgerOf(),
    policy: { ...deleteMode, maxMessageSize: 10_000 },
    expected: { fetch: ['edge'] },
  },
  {
    rule: 'M7: an over-size message already reported is skipped quietly',
    listing: [msg(1, 'big', 20_000)],
    ledger: ledgerOf(record('big', { collected: false, oversizeReported: true })),
    policy: { ...deleteMode, maxMessageSize: 10_000 },
    expected: { skip: ['big:quiet'] },
  },
  {
    rule: 'M7 = 0 means no limit',
    listing: [msg(1, 'huge', 2 ** 40)],
    ledger: ledgerOf(),
    policy: deleteMode,
    expected: { fetch: ['huge'] },
  },
  {
    rule: 'S7: over-size is deleted without downloading',
    listing: [msg(1, 'big', 20_000)],
    ledger: ledgerOf(),
    policy: { ...keepMode, maxMessageSize: 10_000, deleteOversized: true },
    expected: { delete: ['big:oversize'] },
  },
  {
    rule: 'S7: an over-size delete already decided is re-issued as pending',
    listing: [msg(1, 'big', 20_000)],
    ledger: ledgerOf(record('big', { collected: false, deletePending: true })),
    policy: { ...deleteMode, maxMessageSize: 10_000, deleteOversized: true },
    expected: { delete: ['big:pending'] },
  },
  {
    rule: 'a pending over-size delete is dropped when the message is no longer over-size (limit raised): fetched',
    listing: [msg(1, 'big', 20_000)],
    ledger: ledgerOf(record('big', { collected: false, deletePending: true })),
    policy: { ...deleteMode, maxMessageSize: 100_000, deleteOversized: true },
    expected: { fetch: ['big'] },
  },
  {
    rule: 'a pending over-size delete is dropped when S7 was turned off: skipped',
    listing: [msg(1, 'big', 20_000)],
    ledger: ledgerOf(record('big', { collected: false, deletePending: true, oversizeReported: true })),
    policy: { ...deleteMode, maxMessageSize: 10_000 },
    expected: { skip: ['big:quiet'] },
  },
  {
    rule: 'a collected message is never subject to the size rules',
    listing: [msg(1, 'big', 20_000)],
    ledger: ledgerOf(record('big')),
    policy: { ...keepMode, maxMessageSize: 10_000, deleteOversized: true },
    expected: { alreadyCollected: 1, kept: 1 },
  },
  {
    rule: 'ledger UIDLs no longer listed are pruned',
    listing: [msg(1, 'a')],
    ledger: ledgerOf(record('a'), record('gone'), record('gone-too', { deletePending: true })),
    policy: keepMode,
    expected: { prune: ['gone', 'gone-too'], alreadyCollected: 1, kept: 1 },
  },
  {
    rule: 'an empty listing means an empty maildrop: prune everything',
    listing: [],
    ledger: ledgerOf(record('a'), record('b', { collected: false, oversizeReported: true })),
    policy: keepMode,
    expected: { prune: ['a', 'b'] },
  },
  {
    rule: 'a duplicate UIDL: the first entry is fetched, later ones are neither fetched nor deleted',
    listing: [msg(1, 'dup'), msg(2, 'x'), msg(3, 'dup'), msg(4, 'dup')],
    ledger: ledgerOf(),
    policy: deleteMode,
    expected: { fetch: ['dup', 'x'], duplicates: ['3->1', '4->1'] },
  },
  {
    rule: 'a duplicate of a collected UIDL in delete mode: only the first entry is deleted',
    listing: [msg(1, 'dup'), msg(2, 'dup')],
    ledger: ledgerOf(record('dup')),
    policy: deleteMode,
    expected: { delete: ['dup:collected'], duplicates: ['2->1'], alreadyCollected: 1 },
  },
  {
    rule: 'the decisions follow message order even when the listing is not in order',
    listing: [msg(3, 'c'), msg(1, 'a'), msg(2, 'b')],
    ledger: ledgerOf(),
    policy: deleteMode,
    expected: { fetch: ['a', 'b', 'c'] },
  },
  {
    rule: 'a mixed maildrop',
    listing: [msg(1, 'old'), msg(2, 'new'), msg(3, 'big', 50_000), msg(4, 'kept'), msg(5, 'pend')],
    ledger: ledgerOf(
      record('old', { firstSeen: NOW - 30 * DAY }),
      record('kept', { firstSeen: NOW - DAY }),
      record('pend', { deletePending: true }),
      record('vanished'),
    ),
    policy: { leaveOnServer: true, deleteAfterMs: 14 * DAY, maxMessageSize: 10_000, deleteOversized: false },
    expected: {
      fetch: ['new'],
      delete: ['old:expired', 'pend:pending'],
      skip: ['big:report'],
      prune: ['vanished'],
      alreadyCollected: 3,
      kept: 1,
    },
  },
];

describe('plan() rules', () => {
  it.each(rows)('$rule', (row) => {
    const result = plan({
      listing: row.listing,
      ledger: row.ledger,
      policy: row.policy,
      now: row.now ?? NOW,
    });
    expect(summary(result)).toEqual({ ...none, ...row.expected });
  });

  it('carries msg and size through to every category', () => {
    const result = plan({
      listing: [msg(7, 'f', 10), msg(8, 'd', 20), msg(9, 's', 99_999)],
      ledger: ledgerOf(record('d')),
      policy: { ...deleteMode, maxMessageSize: 1000 },
      now: NOW,
    });
    expect(result.fetch).toEqual([{ msg: 7, uidl: 'f', size: 10 }]);
    expect(result.delete).toEqual([{ msg: 8, uidl: 'd', size: 20, reason: 'collected' }]);
    expect(result.skipOversize).toEqual([{ msg: 9, uidl: 's', size: 99_999, report: true }]);
  });

  it('does not modify its input', () => {
    const listing = [msg(2, 'b'), msg(1, 'a')];
    const ledger = ledgerOf(record('a'), record('z'));
    const before = JSON.stringify([listing, [...ledger]]);
    plan({ listing, ledger, policy: deleteMode, now: NOW });
    expect(JSON.stringify([listing, [...ledger]])).toBe(before);
  });
});

// ————— properties —————

const uidlArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'sha256:x', 'with space', 'ü');
const policyArb: fc.Arbitrary<EffectivePolicy> = fc.record({
  leaveOnServer: fc.boolean(),
  deleteAfterMs: fc.constantFrom(0, DAY, 30 * DAY),
  maxMessageSize: fc.constantFrom(0, 1000, 5000),
  deleteOversized: fc.boolean(),
});
const recordArb = (uidl: string): fc.Arbitrary<LedgerRecord> =>
  fc.record({
    uidl: fc.constant(uidl),
    firstSeen: fc.integer({ min: NOW - 60 * DAY, max: NOW + DAY }),
    collected: fc.boolean(),
    deletePending: fc.boolean(),
    oversizeReported: fc.boolean(),
  });
const scenarioArb = fc
  .record({
    uidls: fc.array(uidlArb, { maxLength: 30 }),
    sizes: fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 30, maxLength: 30 }),
    ledgerUidls: fc.uniqueArray(uidlArb),
    shuffle: fc.boolean(),
    policy: policyArb,
  })
  .chain(({ uidls, sizes, ledgerUidls, shuffle, policy }) =>
    fc.tuple(...ledgerUidls.map(recordArb)).map((records) => {
      const listing = uidls.map((uidl, i) => msg(i + 1, uidl, sizes[i]!));
      if (shuffle) listing.reverse();
      return { listing, ledger: ledgerOf(...records), policy };
    }),
  );

const isAscending = (xs: readonly { msg: number }[]) => xs.every((x, i) => i === 0 || xs[i - 1]!.msg < x.msg);

describe('plan() properties', () => {
  it('never fetches a collected UIDL, nor any UIDL twice', () => {
    fc.assert(
      fc.property(scenarioArb, ({ listing, ledger, policy }) => {
        const { fetch } = plan({ listing, ledger, policy, now: NOW });
        for (const m of fetch) expect(ledger.get(m.uidl)?.collected ?? false).toBe(false);
        expect(new Set(fetch.map((m) => m.uidl)).size).toBe(fetch.length);
      }),
    );
  });

  it('never deletes a message that is neither collected nor over-size under S7', () => {
    fc.assert(
      fc.property(scenarioArb, ({ listing, ledger, policy }) => {
        for (const d of plan({ listing, ledger, policy, now: NOW }).delete) {
          const collected = ledger.get(d.uidl)?.collected ?? false;
          const oversizeUnderS7 =
            policy.deleteOversized && policy.maxMessageSize > 0 && d.size > policy.maxMessageSize;
          expect(collected || oversizeUnderS7).toBe(true);
        }
      }),
    );
  });

  it('puts every listed message in exactly one category', () => {
    fc.assert(
      fc.property(scenarioArb, ({ listing, ledger, policy }) => {
        const p = plan({ listing, ledger, policy, now: NOW });
        const placed = [...p.fetch, ...p.delete, ...p.skipOversize, ...p.duplicates].map((m) => m.msg);
        expect(new Set(placed).size).toBe(placed.length);
        const placedSet = new Set(placed);
        const kept = listing.filter((m) => !placedSet.has(m.msg));
        expect(kept.length).toBe(p.kept);
        // What is left over is collected and stays on the server.
        for (const m of kept) expect(ledger.get(m.uidl)?.collected).toBe(true);
        expect(placed.length + kept.length).toBe(listing.length);
      }),
    );
  });

  it('lists every category in ascending message order', () => {
    fc.assert(
      fc.property(scenarioArb, ({ listing, ledger, policy }) => {
        const p = plan({ listing, ledger, policy, now: NOW });
        for (const list of [p.fetch, p.delete, p.skipOversize, p.duplicates])
          expect(isAscending(list)).toBe(true);
      }),
    );
  });

  it('prunes exactly the ledger UIDLs that are not listed', () => {
    fc.assert(
      fc.property(scenarioArb, ({ listing, ledger, policy }) => {
        const listed = new Set(listing.map((m) => m.uidl));
        const expected = [...ledger.keys()].filter((u) => !listed.has(u)).sort();
        expect([...plan({ listing, ledger, policy, now: NOW }).prune].sort()).toEqual(expected);
      }),
    );
  });

  it('in delete mode, leaves no collected message on the server', () => {
    fc.assert(
      fc.property(scenarioArb, ({ listing, ledger, policy }) => {
        const p = plan({
          listing,
          ledger,
          policy: { ...policy, leaveOnServer: false, deleteAfterMs: 0 },
          now: NOW,
        });
        expect(p.kept).toBe(0);
      }),
    );
  });
});
