export {
  type BackoffOptions,
  type BackoffPolicy,
  defaultBackoff,
  failureDelayMs,
  serverDelayMs,
} from './backoff.js';
export { type ConcurrencyOptions, MailboxLocks, remoteMailboxKey, SessionSlots } from './concurrency.js';
export type { EntryPatch, EntryView, GrantCallback } from './entry-operations.js';
export {
  type CollectRequest,
  type FetcherState,
  type MailboxSummary,
  MultiPopFetcher,
  type SkipReason,
} from './fetcher.js';
export { type FailureKind, isDue, statusAfterFailure, statusAfterSuccess } from './mailbox-status.js';
export { type FetcherOAuthService, type MultiPopFetcherOptions, parseFetcherOptions } from './options.js';
export {
  type Actor,
  assertPermitted,
  type DenialReason,
  denialReason,
  type PermissionLevel,
} from './permissions.js';
export { RemoteCycleCounter, UnrefTimer, UserCheckLimiter, type UserCheckLimits } from './schedule.js';
export { type FetcherStatistics, type StatisticsTotals, summarizeStatuses } from './statistics.js';
export { type Listener, TypedEmitter } from './typed-emitter.js';
