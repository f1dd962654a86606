/**
 * multipop — collect mail from external POP3 mailboxes into a mail server's own queue,
 * exactly once, byte for byte.
 *
 * This entry point is the embedding API, listed name by name: the fetcher with its options,
 * events and results; the stores multipop ships (in memory, Maildir); the SMTP/LMTP hand-off;
 * the authentication providers and OAuth presets; config parsing; errors and their codes; the
 * logger type. The other entry points: `multipop/ports` (the port interfaces and every type
 * they mention, for a host that writes its own directory, ledger, queue or token store),
 * `multipop/pop3` (the POP3 client), `multipop/sqlite` and `multipop/postgres` (the durable
 * stores), `multipop/testing` (the fake server, the contract suites, a fake clock).
 * Everything else is internal. `api/` holds the report of each entry point's surface, and a
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
  type ServerSettings,
  type ServerSettingsInput,
  type UserSettings,
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
  type BackoffOptions,
  type CollectRequest,
  type ConcurrencyOptions,
  type EntryPatch,
  type EntryView,
  type FetcherOAuthService,
  type FetcherState,
  type FetcherStatistics,
  type MailboxSummary,
  MultiPopFetcher,
  type MultiPopFetcherOptions,
  type SkipReason,
  type StatisticsTotals,
} from './fetcher/index.js';
export { type SmtpQueue, type SmtpQueueOptions, smtpQueue } from './handoff/smtp-queue.js';
export type { Logger } from './log/index.js';
// Who asks for a webmail-facing operation (and who started a "Grant permission").
// The ports a host implements (most write their own LocalQueue, many their own
// MailboxDirectory). `multipop/ports` has them too, with every type their methods mention and
// the group commit: what a host that writes its own store needs beyond these names.
export type {
  Actor,
  CollectionLedger,
  LocalQueue,
  MailboxDirectory,
  MailboxStatus,
  TokenStore,
} from './ports/index.js';
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
