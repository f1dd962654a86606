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
export type { GrantStarter, OAuthTokenSet, PendingGrant, TokenStore } from './token-store.js';
