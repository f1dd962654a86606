import type { MailboxStatus } from '../ports/index.js';

/** Totals over every mailbox entry the ledger has a status for. */
export interface StatisticsTotals {
  /** Mailbox entries with a status (collected at least once, or failed). */
  mailboxes: number;
  /** Messages collected, over all time. */
  messages: number;
  /** Bytes collected (without our trace header), over all time. */
  bytes: number;
  /** Sessions run (successful or failed). */
  sessions: number;
  /** Entries whose last session failed. */
  failing: number;
  /** Entries paused until the user grants OAuth permission again. */
  needsPermission: number;
}

/** What `fetcher.statistics()` returns. */
export interface FetcherStatistics {
  totals: StatisticsTotals;
  /** One status per mailbox entry, ordered by id. */
  mailboxes: MailboxStatus[];
}

/**
 * Adds up the per-mailbox statuses the ledger persists.
 *
 * @example
 * ```ts
 * const { totals } = summarizeStatuses(await ledger.listStatus());
 * ```
 */
export function summarizeStatuses(statuses: readonly MailboxStatus[]): FetcherStatistics {
  const mailboxes = [...statuses].sort((a, b) =>
    a.mailboxId < b.mailboxId ? -1 : a.mailboxId > b.mailboxId ? 1 : 0,
  );
  const totals: StatisticsTotals = {
    mailboxes: 0,
    messages: 0,
    bytes: 0,
    sessions: 0,
    failing: 0,
    needsPermission: 0,
  };
  for (const status of mailboxes) {
    totals.mailboxes++;
    totals.messages += status.totalMessages;
    totals.bytes += status.totalBytes;
    totals.sessions += status.totalSessions;
    if (status.consecutiveFailures > 0) totals.failing++;
    if (status.needsPermission) totals.needsPermission++;
  }
  return { totals, mailboxes };
}
