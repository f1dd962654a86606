import type { CollectionLedger, LedgerRecord, MailboxStatus } from '../../ports/index.js';
import { applyLedgerChange, assertLedgerChanges } from '../ledger-rules.js';

/**
 * An in-memory {@link CollectionLedger}: for tests and embeds that keep no state across
 * restarts (then every restart re-collects messages left on the server — use the SQLite store or
 * your own for anything real). Values are copied in and out.
 *
 * @example
 * ```ts
 * const ledger = memoryLedger();
 * await ledger.apply('m1', [{ type: 'collected', uidl: 'u1', at: Date.now() }]);
 * (await ledger.load('m1')).get('u1')?.collected; // true
 * ```
 */
export function memoryLedger(): CollectionLedger {
  const mailboxes = new Map<string, Map<string, LedgerRecord>>();
  const statuses = new Map<string, MailboxStatus>();

  return {
    async load(mailboxId) {
      const records = mailboxes.get(mailboxId);
      return new Map([...(records ?? [])].map(([uidl, record]) => [uidl, { ...record }]));
    },
    async apply(mailboxId, changes) {
      assertLedgerChanges(changes);
      let records = mailboxes.get(mailboxId);
      if (!records) {
        records = new Map();
        mailboxes.set(mailboxId, records);
      }
      const now = Date.now();
      for (const change of changes) applyLedgerChange(records, change, now);
    },
    async clear(mailboxId) {
      mailboxes.delete(mailboxId);
      statuses.delete(mailboxId);
    },
    async loadStatus(mailboxId) {
      const status = statuses.get(mailboxId);
      return status ? { ...status } : undefined;
    },
    async saveStatus(status) {
      statuses.set(status.mailboxId, { ...status });
    },
    async listStatus() {
      return [...statuses.values()]
        .map((status) => ({ ...status }))
        .sort((a, b) => (a.mailboxId < b.mailboxId ? -1 : a.mailboxId > b.mailboxId ? 1 : 0));
    },
  };
}
