/**
 * Every case of the CollectionLedger contract can fail: the memory ledger passes the whole suite,
 * and each broken wrapper around it — one defect apiece, the mistakes a database-backed ledger
 * makes (a 32-bit column, a batch applied change by change, a cache handed out by reference, …)
 * — fails the case written for that defect. Together the defects fail every case.
 */
import { ledgerContract, memoryLedger } from 'multipop/testing';
import { describe, it } from 'vitest';
import type {
  CollectionLedger,
  LedgerChange,
  LedgerRecord,
  MailboxStatus,
} from '../../../src/ports/index.js';
import { expectEveryCaseCanFail } from './mutants.js';

type Defect =
  | 'no map for an unknown mailbox'
  | 'firstSeen from the clock'
  | 'a new collection resets firstSeen'
  | 'changes applied last to first'
  | 'forget ignored'
  | 'delete of a never-collected message dropped'
  | 'over-size report dropped'
  | 'size and fingerprint dropped'
  | 'unknown size loaded as 0'
  | 'put ignored'
  | 'a batch applied change by change'
  | 'an empty batch refused'
  | 'one table for all mailboxes'
  | 'UIDLs cut at 64 characters'
  | 'batches cut at 1,000 changes'
  | 'clear leaves the status'
  | 'loads handed out by reference'
  | 'totals in a 32-bit column'
  | 'a save merges into the old status'
  | 'statuses handed out by reference'
  | 'forgets everything on reopen';

/** The memory ledger, with `defect` added by rewriting what goes in and what comes out. */
function brokenLedger(defect?: Defect): CollectionLedger {
  const base = memoryLedger();
  const cache = new Map<string, Map<string, LedgerRecord>>();
  const statuses = new Map<string, MailboxStatus>();
  const mailbox = (id: string) => (defect === 'one table for all mailboxes' ? 'all' : id);

  const rewrite = async (id: string, changes: readonly LedgerChange[]): Promise<LedgerChange[]> => {
    const known = await base.load(mailbox(id));
    let out = [...changes];
    if (defect === 'firstSeen from the clock')
      out = out.map((c) => (c.type === 'collected' ? { ...c, at: Date.now() } : c));
    if (defect === 'a new collection resets firstSeen')
      out = out.flatMap((c) =>
        c.type === 'collected' && known.has(c.uidl) ? [{ type: 'forget', uidl: c.uidl } as const, c] : [c],
      );
    if (defect === 'changes applied last to first') out.reverse();
    if (defect === 'forget ignored') out = out.filter((c) => c.type !== 'forget');
    if (defect === 'delete of a never-collected message dropped')
      out = out.filter(
        (c) =>
          c.type !== 'deletePending' ||
          known.has(c.uidl) ||
          changes.some((o) => o.type === 'collected' && o.uidl === c.uidl),
      );
    if (defect === 'over-size report dropped') out = out.filter((c) => c.type !== 'oversizeReported');
    if (defect === 'size and fingerprint dropped')
      out = out.map((c) => (c.type === 'collected' ? { type: c.type, uidl: c.uidl, at: c.at } : c));
    if (defect === 'put ignored') out = out.filter((c) => c.type !== 'put');
    if (defect === 'UIDLs cut at 64 characters') out = out.map((c) => ({ ...c, uidl: c.uidl.slice(0, 64) }));
    if (defect === 'batches cut at 1,000 changes') out = out.slice(0, 1_000);
    return out;
  };

  const ledger: CollectionLedger = {
    async load(id) {
      const cached = defect === 'loads handed out by reference' ? cache.get(id) : undefined;
      if (cached) return cached;
      const records = await base.load(mailbox(id));
      if (defect === 'no map for an unknown mailbox' && records.size === 0) return undefined as never;
      if (defect === 'unknown size loaded as 0') for (const r of records.values()) r.size ??= 0;
      if (defect === 'loads handed out by reference') cache.set(id, records);
      return records;
    },
    async apply(id, changes) {
      cache.delete(id);
      if (defect === 'an empty batch refused' && changes.length === 0) throw new Error('empty batch');
      const out = await rewrite(id, changes);
      if (defect === 'a batch applied change by change') {
        for (const change of out) await base.apply(mailbox(id), [change]);
      } else {
        await base.apply(mailbox(id), out);
      }
    },
    async clear(id) {
      cache.delete(id);
      if (defect === 'clear leaves the status') {
        const status = await base.loadStatus(mailbox(id));
        await base.clear(mailbox(id));
        if (status) await base.saveStatus(status);
      } else {
        await base.clear(mailbox(id));
      }
    },
    async loadStatus(id) {
      if (defect === 'statuses handed out by reference') return statuses.get(id) ?? base.loadStatus(id);
      return base.loadStatus(mailbox(id));
    },
    async saveStatus(status) {
      let saved = status;
      if (defect === 'totals in a 32-bit column') saved = { ...status, totalBytes: status.totalBytes | 0 };
      if (defect === 'a save merges into the old status') {
        const old = await base.loadStatus(status.mailboxId);
        saved = {
          ...old,
          ...Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined)),
        } as MailboxStatus;
      }
      if (defect === 'statuses handed out by reference') statuses.set(status.mailboxId, status);
      await base.saveStatus(saved);
    },
    async listStatus() {
      if (defect === 'statuses handed out by reference') return [...statuses.values()];
      return base.listStatus();
    },
  };
  return ledger;
}

const contract = (defect?: Defect) =>
  ledgerContract(defect ?? 'correct', {
    create: () => brokenLedger(defect),
    reopen: (ledger) => (defect === 'forgets everything on reopen' ? brokenLedger() : ledger),
  });

describe('the CollectionLedger contract fails each defect at its case', () => {
  it('passes the memory ledger, fails every broken one, and every case fails for some defect', async () => {
    await expectEveryCaseCanFail(contract, {
      'no map for an unknown mailbox': 'loads an unknown mailbox as empty',
      'firstSeen from the clock': 'records a collected message with its first-seen time',
      'a new collection resets firstSeen': 'keeps firstSeen when a collected message is collected again',
      'changes applied last to first': 'applies the changes of one batch in order',
      'forget ignored': 'forgets records',
      'delete of a never-collected message dropped': 'records a pending delete for a message never collected',
      'over-size report dropped': 'records an over-size report',
      'size and fingerprint dropped': 'remembers the size and header fingerprint',
      'unknown size loaded as 0': 'loads a record written without size or fingerprint',
      'put ignored': 'put writes a whole record',
      'a batch applied change by change': 'rejects a batch with a malformed change and applies none of it',
      'an empty batch refused': 'accepts an empty batch',
      'one table for all mailboxes': 'keeps mailboxes apart',
      'UIDLs cut at 64 characters': 'stores any printable UIDL',
      'batches cut at 1,000 changes': 'handles a batch of 5,000 changes',
      'clear leaves the status': 'clear removes the records and the status of one mailbox only',
      'loads handed out by reference': 'returns copies',
      'totals in a 32-bit column': 'saves and loads a status with every field',
      'a save merges into the old status': 'replaces the whole status on save',
      'statuses handed out by reference': 'lists every saved status, as copies',
      'forgets everything on reopen': 'keeps records and statuses across a reopen',
    });
  });
});
