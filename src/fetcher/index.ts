/**
 * The facade: `MultiPopFetcher` with its options, summaries, statistics and the webmail-facing
 * types. The building blocks (slots, locks, timers, status transitions) stay internal.
 */
export { type BackoffOptions, type BackoffPolicy, failureDelayMs } from './backoff.js';
export type { ConcurrencyOptions } from './concurrency.js';
export type { EntryPatch, EntryView } from './entry-operations.js';
export {
  type CollectRequest,
  type FetcherState,
  type MailboxSummary,
  MultiPopFetcher,
  type SkipReason,
} from './fetcher.js';
export type { FetcherOAuthService, MultiPopFetcherOptions } from './options.js';
export { type DenialReason, denialReason, type PermissionLevel } from './permissions.js';
export type { FetcherStatistics, StatisticsTotals } from './statistics.js';
export type { Listener } from './typed-emitter.js';
