import {
  type CollectionLedger,
  emptyMailboxStatus,
  type LedgerChange,
  type LedgerRecord,
  type MailboxStatus,
} from '../../ports/index.js';
import { expect } from './expect.js';
import { type ContractFactory, toHarness, useSubject } from './harness.js';
import { type Contract, defineContract, describe, it } from './suite.js';

const record = (uidl: string, firstSeen: number, flags: Partial<LedgerRecord> = {}): LedgerRecord => ({
  uidl,
  firstSeen,
  collected: false,
  deletePending: false,
  oversizeReported: false,
  ...flags,
});

/**
 * The {@link CollectionLedger} contract. Beyond the port's words it fixes these semantics
 * (the ones the collector relies on):
 *
 * - `apply` runs the changes in order: `[collected u, forget u]` leaves nothing,
 *   `[forget u, collected u]` leaves `u`.
 * - `collected` creates the record with `firstSeen = at`; `firstSeen` is the time of the first
 *   collection and does not move when `u` is collected again. A record created by
 *   `oversizeReported` takes the collection time when it is later collected.
 * - `collected` stores a given `size` and `fingerprint` (LIST size, header fingerprint); a later
 *   `collected` without them keeps them. Records written without them load without them.
 * - `put` writes a whole record, replacing what was under that UIDL (`[forget a, put b]` re-keys).
 * - A malformed change (unknown type, a non-integer size, a put without flags) rejects the
 *   whole batch with `STORE_ERROR` and applies nothing.
 * - `deletePending` and `oversizeReported` on an unknown UIDL create a record
 *   (`collected: false`); `forget` of an unknown UIDL is no change.
 * - Mailboxes are isolated; `clear` removes a mailbox's records **and** its status.
 * - `saveStatus` replaces the whole status (fields left out become undefined); `listStatus`
 *   returns every saved status. Values are copies: changing a returned object changes nothing.
 *
 * @example
 * <!-- doc-context declare function pgLedger(pool: unknown): CollectionLedger; declare function testPool(): unknown; -->
 * ```ts
 * import { runLedgerContract } from 'multipop/testing/vitest';
 * runLedgerContract('postgres ledger', { create: () => pgLedger(testPool()), reopen: (l) => pgLedger(testPool()) });
 * ```
 */
export function ledgerContract<L extends CollectionLedger>(
  name: string,
  factory: ContractFactory<L>,
): Contract {
  return defineContract(() => ledgerCases(name, factory));
}

function ledgerCases<L extends CollectionLedger>(name: string, factory: ContractFactory<L>): void {
  const harness = toHarness(factory);

  describe(`CollectionLedger contract: ${name}`, () => {
    const ledger = useSubject(harness);

    it('loads an unknown mailbox as empty', async () => {
      const records = await ledger().load('never-seen');
      expect(records.size).toBe(0);
    });

    it('records a collected message with its first-seen time', async () => {
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 1_000 }]);
      expect(await ledger().load('m1')).toEqual(new Map([['u1', record('u1', 1_000, { collected: true })]]));
    });

    it('keeps firstSeen when a collected message is collected again', async () => {
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 1_000 }]);
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 9_000 }]);
      expect((await ledger().load('m1')).get('u1')?.firstSeen).toBe(1_000);
    });

    it('applies the changes of one batch in order', async () => {
      await ledger().apply('m1', [
        { type: 'collected', uidl: 'gone', at: 1 },
        { type: 'deletePending', uidl: 'gone' },
        { type: 'forget', uidl: 'gone' },
        { type: 'forget', uidl: 'back' },
        { type: 'collected', uidl: 'back', at: 2 },
        { type: 'collected', uidl: 'del', at: 3 },
        { type: 'deletePending', uidl: 'del' },
      ]);
      expect(await ledger().load('m1')).toEqual(
        new Map([
          ['back', record('back', 2, { collected: true })],
          ['del', record('del', 3, { collected: true, deletePending: true })],
        ]),
      );
    });

    it('forgets records, and treats forgetting an unknown UIDL as no change', async () => {
      await ledger().apply('m1', [
        { type: 'collected', uidl: 'u1', at: 1 },
        { type: 'collected', uidl: 'u2', at: 2 },
      ]);
      await ledger().apply('m1', [
        { type: 'forget', uidl: 'u1' },
        { type: 'forget', uidl: 'never' },
      ]);
      expect([...(await ledger().load('m1')).keys()]).toEqual(['u2']);
    });

    it('records a pending delete for a message never collected (an over-size delete)', async () => {
      await ledger().apply('m1', [{ type: 'deletePending', uidl: 'big' }]);
      const big = (await ledger().load('m1')).get('big');
      expect(big).toMatchObject({
        uidl: 'big',
        collected: false,
        deletePending: true,
        oversizeReported: false,
      });
      expect(typeof big?.firstSeen).toBe('number');
    });

    it('records an over-size report, and a later collection sets firstSeen to the collection time', async () => {
      await ledger().apply('m1', [{ type: 'oversizeReported', uidl: 'big', at: 500 }]);
      expect((await ledger().load('m1')).get('big')).toEqual(record('big', 500, { oversizeReported: true }));
      await ledger().apply('m1', [{ type: 'collected', uidl: 'big', at: 700 }]);
      expect((await ledger().load('m1')).get('big')).toEqual(
        record('big', 700, { collected: true, oversizeReported: true }),
      );
    });

    it('remembers the size and header fingerprint of a collected message', async () => {
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 1, size: 1_234, fingerprint: 'f1' }]);
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 2 }]);
      expect((await ledger().load('m1')).get('u1')).toEqual(
        record('u1', 1, { collected: true, size: 1_234, fingerprint: 'f1' }),
      );
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 3, size: 99, fingerprint: 'f2' }]);
      expect((await ledger().load('m1')).get('u1')).toMatchObject({
        firstSeen: 1,
        size: 99,
        fingerprint: 'f2',
      });
    });

    it('loads a record written without size or fingerprint without them (unknown, not 0)', async () => {
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 1 }]);
      const loaded = (await ledger().load('m1')).get('u1')!;
      expect(loaded.size).toBeUndefined();
      expect(loaded.fingerprint).toBeUndefined();
    });

    it('put writes a whole record, replacing the one under that UIDL (a re-key)', async () => {
      await ledger().apply('m1', [
        { type: 'collected', uidl: 'old', at: 5, size: 10, fingerprint: 'f' },
        { type: 'deletePending', uidl: 'new' },
      ]);
      const moved = {
        firstSeen: 5,
        collected: true,
        deletePending: false,
        oversizeReported: false,
        size: 10,
      };
      await ledger().apply('m1', [
        { type: 'forget', uidl: 'old' },
        { type: 'put', uidl: 'new', record: { ...moved, fingerprint: 'f' } },
        { type: 'put', uidl: 'bare', record: { ...moved, size: undefined } },
      ]);
      expect(await ledger().load('m1')).toEqual(
        new Map([
          ['new', record('new', 5, { collected: true, size: 10, fingerprint: 'f' })],
          ['bare', record('bare', 5, { collected: true })],
        ]),
      );
    });

    it('rejects a batch with a malformed change and applies none of it', async () => {
      const bad = [
        [{ type: 'collected', uidl: 'x', at: 1, size: 1.5 }],
        [{ type: 'collected', uidl: 'x', at: 1, fingerprint: 7 }],
        [{ type: 'put', uidl: 'x', record: { firstSeen: 1 } }],
        [{ type: 'rename', uidl: 'x' }],
      ];
      for (const batch of bad) {
        let code: unknown;
        try {
          await ledger().apply('m1', [
            { type: 'collected', uidl: 'first', at: 1 },
            ...(batch as unknown as LedgerChange[]),
          ]);
        } catch (err) {
          code = (err as { code?: unknown }).code;
        }
        expect(code).toBe('STORE_ERROR');
      }
      expect((await ledger().load('m1')).size).toBe(0);
    });

    it('accepts an empty batch', async () => {
      await ledger().apply('m1', []);
      expect((await ledger().load('m1')).size).toBe(0);
    });

    it('keeps mailboxes apart, also for the same UIDL', async () => {
      await ledger().apply('m1', [{ type: 'collected', uidl: 'same', at: 1 }]);
      await ledger().apply('m2', [
        { type: 'collected', uidl: 'same', at: 2 },
        { type: 'deletePending', uidl: 'same' },
      ]);
      await ledger().apply('m1', [{ type: 'forget', uidl: 'same' }]);
      expect((await ledger().load('m1')).size).toBe(0);
      expect((await ledger().load('m2')).get('same')).toEqual(
        record('same', 2, { collected: true, deletePending: true }),
      );
    });

    it('stores any printable UIDL (RFC 1939: 0x21–0x7E, up to 70 characters)', async () => {
      let printable = '';
      for (let c = 0x21; c <= 0x7e; c++) printable += String.fromCharCode(c);
      const uidls = [printable.slice(0, 70), printable.slice(24, 94), "'; DROP TABLE x;--", '%_*?\\'];
      await ledger().apply(
        'm1',
        uidls.map((uidl, i) => ({ type: 'collected' as const, uidl, at: i })),
      );
      expect([...(await ledger().load('m1')).keys()].sort()).toEqual([...uidls].sort());
    });

    it('handles a batch of 5,000 changes and loads them all', async () => {
      const changes = Array.from({ length: 5_000 }, (_, i) => ({
        type: 'collected' as const,
        uidl: `uidl-${i}`,
        at: i,
      }));
      await ledger().apply('big', changes);
      const records = await ledger().load('big');
      expect(records.size).toBe(5_000);
      expect(records.get('uidl-4999')?.firstSeen).toBe(4_999);
    });

    it('clear removes the records and the status of one mailbox only', async () => {
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 1 }]);
      await ledger().apply('m2', [{ type: 'collected', uidl: 'u1', at: 1 }]);
      await ledger().saveStatus({ ...emptyMailboxStatus('m1'), totalSessions: 3 });
      await ledger().saveStatus({ ...emptyMailboxStatus('m2'), totalSessions: 4 });
      await ledger().clear('m1');
      expect((await ledger().load('m1')).size).toBe(0);
      expect(await ledger().loadStatus('m1')).toBeUndefined();
      expect((await ledger().load('m2')).size).toBe(1);
      expect((await ledger().loadStatus('m2'))?.totalSessions).toBe(4);
    });

    it('returns copies: changing a loaded record changes nothing stored', async () => {
      await ledger().apply('m1', [{ type: 'collected', uidl: 'u1', at: 1 }]);
      const loaded = await ledger().load('m1');
      loaded.get('u1')!.deletePending = true;
      loaded.delete('u1');
      expect((await ledger().load('m1')).get('u1')).toEqual(record('u1', 1, { collected: true }));
    });

    it('saves and loads a status with every field, and an unknown one as undefined', async () => {
      const full: MailboxStatus = {
        mailboxId: 'm1',
        lastRunAt: 10,
        lastSuccessAt: 9,
        lastErrorAt: 8,
        lastErrorCode: 'IN_USE',
        lastErrorMessage: 'Maildrop is locked',
        consecutiveFailures: 2,
        nextAttemptAt: 20,
        needsPermission: true,
        totalMessages: 7,
        totalBytes: 123_456_789_012,
        totalSessions: 5,
      };
      await ledger().saveStatus(full);
      expect(await ledger().loadStatus('m1')).toEqual(full);
      expect(await ledger().loadStatus('nope')).toBeUndefined();
    });

    it('replaces the whole status on save (fields left out become undefined)', async () => {
      await ledger().saveStatus({
        ...emptyMailboxStatus('m1'),
        lastErrorCode: 'AUTH_FAILED',
        lastErrorAt: 5,
        consecutiveFailures: 1,
      });
      await ledger().saveStatus({ ...emptyMailboxStatus('m1'), lastSuccessAt: 6 });
      const status = await ledger().loadStatus('m1');
      expect(status).toEqual({ ...emptyMailboxStatus('m1'), lastSuccessAt: 6 });
      expect(status?.lastErrorCode).toBeUndefined();
    });

    it('lists every saved status, as copies', async () => {
      await ledger().saveStatus({ ...emptyMailboxStatus('b'), totalMessages: 2 });
      await ledger().saveStatus({ ...emptyMailboxStatus('a'), totalMessages: 1 });
      const list = await ledger().listStatus();
      expect([...list].sort((x, y) => x.mailboxId.localeCompare(y.mailboxId))).toEqual([
        { ...emptyMailboxStatus('a'), totalMessages: 1 },
        { ...emptyMailboxStatus('b'), totalMessages: 2 },
      ]);
      list[0]!.totalMessages = 99;
      expect((await ledger().loadStatus(list[0]!.mailboxId))?.totalMessages).not.toBe(99);
    });

    it.skipIf(!harness.reopen, 'needs harness.reopen (close and open the same data again)')(
      'keeps records and statuses across a reopen',
      async () => {
        await ledger().apply('m1', [
          { type: 'collected', uidl: 'u1', at: 1 },
          { type: 'deletePending', uidl: 'u1' },
          { type: 'oversizeReported', uidl: 'u2', at: 2 },
          { type: 'collected', uidl: 'u3', at: 3, size: 300, fingerprint: 'f3' },
        ]);
        await ledger().saveStatus({ ...emptyMailboxStatus('m1'), totalSessions: 1 });
        const reopened = await ledger.reopen!();
        expect(await reopened.load('m1')).toEqual(
          new Map([
            ['u1', record('u1', 1, { collected: true, deletePending: true })],
            ['u2', record('u2', 2, { oversizeReported: true })],
            ['u3', record('u3', 3, { collected: true, size: 300, fingerprint: 'f3' })],
          ]),
        );
        expect((await reopened.loadStatus('m1'))?.totalSessions).toBe(1);
      },
    );
  });
}
