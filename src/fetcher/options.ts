import { z } from 'zod';
import type { OAuthCallbackInput } from '../auth/oauth/callback.js';
import type {
  BeginGrantInput,
  BeginGrantResult,
  CompleteGrantResult,
  GrantCompleter,
} from '../auth/oauth/grant-flow.js';
import type { OAuthServiceOptions } from '../auth/oauth/service.js';
import type { AuthProvider } from '../auth/provider.js';
import type { ConnectionTuning, SessionOptions, SessionResult } from '../collect/session-api.js';
import { type MailboxEntry, parseWith } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { CollectionLedger, LocalQueue, MailboxDirectory, TokenStore } from '../ports/index.js';
import type { BackoffOptions } from './backoff.js';
import type { ConcurrencyOptions } from './concurrency.js';

/**
 * What the fetcher needs of an OAuth service: start and finish "Grant permission", and an
 * {@link AuthProvider} for each OAuth entry. `OAuthService` implements it.
 */
export interface FetcherOAuthService {
  /** Starts "Grant permission": the authorization URL to send the browser to. */
  beginGrant(input: BeginGrantInput): Promise<BeginGrantResult>;
  /** Completes a grant with the provider's redirect back, storing the tokens. */
  completeGrant(callback: OAuthCallbackInput, completedBy: GrantCompleter): Promise<CompleteGrantResult>;
  /** The AuthProvider that logs an OAuth entry in with a fresh access token. */
  authProviderFor(entry: MailboxEntry): AuthProvider;
}

/** Options of {@link MultiPopFetcher}. Only the three ports are required. */
export interface MultiPopFetcherOptions {
  /**
   * Settings, users and their remote mailbox entries. Read afresh at every cycle, so changes
   * an administrator makes apply without a restart.
   * @example
   * <!-- doc-context declare const config: MultiPopConfig; -->
   * ```ts
   * new MultiPopFetcher({ directory: memoryDirectory(config), ledger, queue });
   * ```
   */
  directory: MailboxDirectory;
  /**
   * Per-mailbox state: collected UIDLs, pending deletions, and the status and statistics the
   * fetcher persists after every session.
   * @example
   * ```ts
   * new MultiPopFetcher({ directory, ledger: memoryLedger(), queue });
   * ```
   */
  ledger: CollectionLedger;
  /**
   * The host's local queue; collected messages enter the host's mail processing here.
   * @example
   * <!-- doc-context declare const mta: { submit(message: QueuedMessage): Promise<{ id: string }> }; -->
   * ```ts
   * new MultiPopFetcher({ directory, ledger, queue: { enqueue: (m) => mta.submit(m) } });
   * ```
   */
  queue: LocalQueue;
  /**
   * OAuth token store. Needed for OAuth entries (unless `oauth` is a ready service with its
   * own); `removeEntry` deletes the entry's tokens here.
   * @default undefined
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, tokens: memoryTokenStore() });
   * ```
   */
  tokens?: TokenStore;
  /**
   * OAuth for Gmail / Microsoft 365 entries and the "Grant permission" flow: a ready
   * `OAuthService` (wire its `onEvent` to `fetcher.handleOAuthEvent`), or any of
   * `OAuthServiceOptions` from which the fetcher builds one — what is left out comes from the
   * fetcher (`tokens`, `directory`, `now`, `logger`, its secret registry), and the service's
   * events reach the fetcher (an `onEvent` given here runs as well). Without it, OAuth entries
   * fail with `OAUTH_NOT_CONFIGURED`.
   * @default undefined
   * @example
   * <!-- doc-context declare const onEvent: (event: OAuthEvent) => void; -->
   * ```ts
   * new MultiPopFetcher({ ...ports, tokens: memoryTokenStore(), oauth: {} });               // built for you
   * new MultiPopFetcher({ ...ports, oauth: new OAuthService({ tokens, directory, onEvent }) }); // your own
   * ```
   */
  oauth?: FetcherOAuthService | Partial<OAuthServiceOptions>;
  /**
   * Chooses the {@link AuthProvider} of an entry, replacing the built-in choice (password,
   * APOP, or the OAuth service's provider).
   * @default by `entry.auth`
   * @example
   * <!-- doc-context declare function myVaultAuth(entry: MailboxEntry): AuthProvider; -->
   * ```ts
   * new MultiPopFetcher({ ...ports, authFor: (userId, entry) => myVaultAuth(entry) });
   * ```
   */
  authFor?: (userId: string, entry: MailboxEntry) => AuthProvider;
  /**
   * Where the fetcher and its sessions log (pino-shaped). Secrets are redacted.
   * @default silent
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, logger: pino() });
   * ```
   */
  logger?: Logger | false;
  /**
   * The clock, in ms since the epoch (back-off, per-user limits, statistics).
   * @default Date.now
   * @example
   * ```ts
   * const clock = fakeClock(Date.UTC(2025, 0, 1));
   * new MultiPopFetcher({ ...ports, now: clock.now });
   * ```
   */
  now?: () => number;
  /**
   * Connection tuning for the POP3 client (TLS options such as a private CA, timeouts,
   * limits, pipelining), for every entry or chosen per entry.
   * @default the client's defaults
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, connection: (entry) => ({ timeouts: { idle: 120_000 } }) });
   * ```
   */
  connection?: ConnectionTuning | ((entry: MailboxEntry) => ConnectionTuning);
  /**
   * Sessions at once: globally and per remote host.
   * @default { global: 8, perHost: 2 }
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, concurrency: { global: 16, perHost: 4 } });
   * ```
   */
  concurrency?: ConcurrencyOptions;
  /**
   * Back-off after consecutive failures of a mailbox.
   * @default { baseMs: 60_000, maxMs: 3_600_000, random: Math.random }
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, backoff: { baseMs: 30_000, maxMs: 900_000 } });
   * ```
   */
  backoff?: BackoffOptions;
  /**
   * Asked once per user and cycle before the user's entries are collected; `true` skips them
   * and emits `user:over-quota`.
   * @default never over quota
   * @example
   * <!-- doc-context declare function quota(userId: string): Promise<{ used: number }>; -->
   * ```ts
   * new MultiPopFetcher({ ...ports, isOverQuota: async (userId) => (await quota(userId)).used >= 1 });
   * ```
   */
  isOverQuota?: (userId: string) => boolean | Promise<boolean>;
  /**
   * What over-quota means: `'skip'` skips the user's entries this cycle; `'disable-entries'`
   * also disables them in the directory (as the original feature does) so they stay off until
   * someone enables them again.
   * @default 'skip'
   * @example
   * <!-- doc-context declare const isOverQuota: (userId: string) => Promise<boolean>; -->
   * ```ts
   * new MultiPopFetcher({ ...ports, isOverQuota, overQuotaAction: 'disable-entries' });
   * ```
   */
  overQuotaAction?: 'skip' | 'disable-entries';
  /**
   * The session runner (one remote mailbox, once). A seam for multipop's own tests, not part
   * of the supported API.
   * @internal
   * @default runSession
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, runSession: async () => ({ collected: 0, bytes: 0, skipped: 0, deleted: 0, onServer: 0 }) });
   * ```
   */
  runSession?: (options: SessionOptions) => Promise<SessionResult>;
}

const isFunction = (value: unknown) => typeof value === 'function';

/** An object with the named methods (a port). */
const port = <T>(name: string, methods: readonly string[]) =>
  z.custom<T>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      methods.every((m) => isFunction((value as Record<string, unknown>)[m])),
    `must implement ${name} (${methods.join(', ')})`,
  );

const fn = <T>() => z.custom<T>(isFunction, 'must be a function');
const positiveInt = z.int().min(1, 'must be 1 or more').max(10_000);
const delayMs = z
  .number()
  .min(0, 'must be 0 or more milliseconds')
  .max(30 * 24 * 3_600_000);

const optionsSchema = z.strictObject({
  directory: port<MailboxDirectory>('MailboxDirectory', [
    'getSettings',
    'listUsers',
    'getUser',
    'getEntry',
    'putEntry',
    'removeEntry',
  ]),
  ledger: port<CollectionLedger>('CollectionLedger', [
    'load',
    'apply',
    'clear',
    'loadStatus',
    'saveStatus',
    'listStatus',
  ]),
  queue: port<LocalQueue>('LocalQueue', ['enqueue']),
  tokens: port<TokenStore>('TokenStore', ['getTokens', 'setTokens', 'deleteTokens']).optional(),
  oauth: z
    .custom<FetcherOAuthService | Partial<OAuthServiceOptions>>((value) => {
      if (typeof value !== 'object' || value === null) return false;
      // Either a ready service (all three methods) or plain options (none of them).
      const methods = ['beginGrant', 'completeGrant', 'authProviderFor'].map((m) =>
        isFunction((value as Record<string, unknown>)[m]),
      );
      return methods.every(Boolean) || !methods.some(Boolean);
    }, 'must be an OAuthService (beginGrant, completeGrant, authProviderFor) or options to build one')
    .optional(),
  authFor: fn<NonNullable<MultiPopFetcherOptions['authFor']>>().optional(),
  logger: z.union([z.literal(false), port<Logger>('Logger', ['debug', 'info', 'warn', 'error'])]).optional(),
  now: fn<() => number>().optional(),
  connection: z
    .custom<NonNullable<MultiPopFetcherOptions['connection']>>(
      (value) => isFunction(value) || (typeof value === 'object' && value !== null),
      'must be connection options or a function of the entry',
    )
    .optional(),
  concurrency: z.strictObject({ global: positiveInt.optional(), perHost: positiveInt.optional() }).optional(),
  backoff: z
    .strictObject({
      baseMs: delayMs.optional(),
      maxMs: delayMs.optional(),
      random: fn<() => number>().optional(),
    })
    .refine((b) => b.baseMs === undefined || b.maxMs === undefined || b.baseMs <= b.maxMs, {
      message: 'baseMs must not be larger than maxMs',
      path: ['baseMs'],
    })
    .optional(),
  isOverQuota: fn<NonNullable<MultiPopFetcherOptions['isOverQuota']>>().optional(),
  overQuotaAction: z.enum(['skip', 'disable-entries']).optional(),
  runSession: fn<NonNullable<MultiPopFetcherOptions['runSession']>>().optional(),
});

/**
 * Validates the fetcher's options.
 * @throws MultiPopError `CONFIG_INVALID` naming the option (`context.field`, e.g. `concurrency.global`)
 */
export function parseFetcherOptions(options: unknown): MultiPopFetcherOptions {
  const parsed = parseWith(optionsSchema, options, 'MultiPopFetcher options') as MultiPopFetcherOptions;
  if (
    parsed.oauth !== undefined &&
    !isOAuthService(parsed.oauth) &&
    parsed.tokens === undefined &&
    parsed.oauth.tokens === undefined
  ) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      'Invalid MultiPopFetcher options:\n✖ building the OAuth service needs a token store\n  → at tokens',
      {
        field: 'tokens',
      },
    );
  }
  return parsed;
}

/** Whether `oauth` is a ready service (rather than options to build one). */
export function isOAuthService(
  oauth: FetcherOAuthService | Partial<OAuthServiceOptions>,
): oauth is FetcherOAuthService {
  return typeof (oauth as FetcherOAuthService).authProviderFor === 'function';
}
