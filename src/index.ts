/**
 * multipop — collect mail from external POP3 mailboxes into a mail server's own queue,
 * exactly once, byte for byte.
 *
 * This entry point is the embedding API, listed name by name: the fetcher with its options,
 * events and results; the ports a host implements and their types; the stores multipop ships;
 * the SMTP/LMTP hand-off; the authentication providers and OAuth presets; config parsing;
 * errors and their codes; the logger type. The POP3 client has its own entry point,
 * `multipop/pop3`; everything else is internal. `api/` holds the report of this surface, and a
 * test fails when it changes without the report (`npm run api:report` regenerates it).
 *
 * @example
 * ```ts
 * import { MultiPopFetcher, maildirQueue, memoryDirectory, memoryLedger } from 'multipop';
 *
 * const fetcher = new MultiPopFetcher({
 *   directory: memoryDirectory(),
 *   ledger: memoryLedger(),
 *   queue: maildirQueue({ root: '/var/spool/multipop' }),
 * });
 * await fetcher.start();
 * ```
 *
 * @packageDocumentation
 * @module multipop
 */

// Authentication.
export {
  type ApopAuthOptions,
  type AuthProvider,
  type AuthRequest,
  apopAuth,
  type BeginGrantInput,
  type BeginGrantResult,
  type CompleteGrantResult,
  type GrantCompleter,
  genericOAuth,
  gmailOAuth,
  microsoftOAuth,
  type OAuthCallbackInput,
  type OAuthEvent,
  type OAuthIdentityCheck,
  type OAuthProfile,
  type OAuthProfileOverrides,
  OAuthService,
  type OAuthServiceOptions,
  type PasswordAuthOptions,
  passwordAuth,
} from './auth/index.js';
export type {
  CollectorEvents,
  ConnectionTuning,
  EventMailbox,
  IdentityResolution,
  SessionResult,
} from './collect/index.js';
// Configuration.
export {
  type MailboxEntry,
  type MailboxEntryInput,
  type MultiPopConfig,
  type MultiPopConfigInput,
  type OAuthProviderName,
  parseConfig,
  parseMailboxEntry,
  parseServerSettings,
  parseUserSettings,
  type ServerSettings,
  type ServerSettingsInput,
  type UserSettings,
  type UserSettingsInput,
} from './config/index.js';
// Errors and logging.
export {
  type ErrorCode,
  ErrorCodes,
  type ErrorContext,
  errorCodeDescriptions,
  isMultiPopError,
  MultiPopError,
} from './errors/index.js';
// The facade.
export {
  type Actor,
  type BackoffOptions,
  type CollectRequest,
  type ConcurrencyOptions,
  type EntryPatch,
  type EntryView,
  type FetcherOAuthOptions,
  type FetcherOAuthService,
  type FetcherState,
  type FetcherStatistics,
  type GrantCallback,
  type MailboxSummary,
  MultiPopFetcher,
  type MultiPopFetcherOptions,
  type SkipReason,
  type StatisticsTotals,
} from './fetcher/index.js';
export { type SmtpQueue, type SmtpQueueOptions, smtpQueue } from './handoff/smtp-queue.js';
export type { Logger } from './log/index.js';
// The ports a host implements.
export type {
  CollectionLedger,
  EnqueueResult,
  EntryLocation,
  GrantStarter,
  LedgerChange,
  LedgerRecord,
  LedgerRecordFields,
  LocalQueue,
  MailboxDirectory,
  MailboxStatus,
  MessageMetadata,
  MessageSource,
  OAuthTokenSet,
  PendingGrant,
  QueuedMessage,
  TokenStore,
  UserFlags,
} from './ports/index.js';
// The group commit a host's own queue may share (the shipped stores use it too).
export { groupCommit, keyedGroupCommit } from './ports/index.js';
// The stores multipop ships, and the hand-off to the host's MTA.
export {
  type MaildirQueue,
  type MaildirQueueOptions,
  type MemoryQueue,
  maildirQueue,
  memoryDirectory,
  memoryLedger,
  memoryQueue,
  memoryTokenStore,
} from './stores/index.js';
