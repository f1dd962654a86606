/**
 * `multipop/ports`: what you need to write your own part of an embedding — the mailbox
 * directory (your user database), the collection ledger, the local queue (your MTA's queue),
 * the token store, and the leases a fleet of collectors shares — with every type their methods
 * mention, and the group commit the shipped stores use to batch durable writes.
 *
 * A host that only uses the shipped stores (`multipop`, `multipop/sqlite`, `multipop/postgres`)
 * never imports from here. `multipop/testing` has the contract suites that prove an
 * implementation.
 *
 * @example
 * ```ts
 * import type { EnqueueResult, LocalQueue, QueuedMessage } from 'multipop/ports';
 *
 * class MtaQueue implements LocalQueue {
 *   async enqueue(message: QueuedMessage): Promise<EnqueueResult> {
 *     const id = await myMta.submit(message.recipient, message.content, { key: message.idempotencyKey });
 *     return { id };
 *   }
 * }
 * ```
 *
 * @packageDocumentation
 * @module multipop/ports
 */

export type { Actor } from './actor.js';
export type { EntryLocation, MailboxDirectory, UserFlags } from './directory.js';
export { groupCommit, keyedGroupCommit } from './group-commit.js';
export type { LeaseAttempt, MailboxLease, MailboxLeases } from './lease.js';
export {
  type CollectionLedger,
  emptyMailboxStatus,
  type LedgerChange,
  type LedgerRecord,
  type LedgerRecordFields,
  type MailboxStatus,
} from './ledger.js';
export type {
  EnqueueResult,
  LocalQueue,
  MessageMetadata,
  MessageSource,
  QueuedMessage,
} from './local-queue.js';
export type { OAuthTokenSet, PendingGrant, TokenStore } from './token-store.js';
