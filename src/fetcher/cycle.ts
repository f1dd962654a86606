import type { AuthProvider } from '../auth/provider.js';
import type { CollectorEventSink } from '../collect/events.js';
import type { IdentityResolution } from '../collect/identity.js';
import type { ConnectionTuning, SessionOptions, SessionResult } from '../collect/session-api.js';
import { type MailboxEntry, parseServer, type ServerSettings, type UserSettings } from '../config/index.js';
import { MultiPopError, toMultiPopError } from '../errors/index.js';
import type { Log } from '../log/index.js';
import type { CollectionLedger, LocalQueue, MailboxDirectory, MailboxStatus } from '../ports/index.js';
import { MailboxLocks, remoteMailboxKey, SessionSlots } from './concurrency.js';
import { isDue } from './mailbox-status.js';
import type { MailboxStatusBook } from './mailbox-status-book.js';
import type { MultiPopFetcherOptions } from './options.js';

/** Which mailboxes `collectNow` collects. Without `userId` and `mailboxId`: everyone's. */
export interface CollectRequest {
  /** Only this user's entries. */
  userId?: string;
  /** Only this entry. */
  mailboxId?: string;
  /**
   * Ignore the back-off (and a server-requested pause) of failing mailboxes, and the pause of a
   * mailbox whose identity is uncertain (it then fails again the same way unless resolved).
   * @default false
   */
  force?: boolean;
  /**
   * For a mailbox paused with `IDENTITY_UNCERTAIN`: how to resolve it in this session. Meant for
   * `MultiPopFetcher.resolveIdentity`, which checks that an administrator asks.
   */
  identityResolution?: IdentityResolution;
}

/** Why an entry was not collected in a cycle. */
export type SkipReason =
  /** `user.enabled` is off for the entry's user. */
  | 'user-disabled'
  /** `entry.enabled`: the entry is disabled. */
  | 'entry-disabled'
  /** The OAuth grant is gone; waiting for the user to grant permission again. */
  | 'needs-permission'
  /** Failing and not yet due again (use `force` to try anyway). */
  | 'backoff'
  /** The host reported the user's mailbox over quota. */
  | 'over-quota'
  /** stop() was called before the session began. */
  | 'stopping'
  /** The last session found a mass change of UIDLs it could not confirm: waiting for an administrator. */
  | 'identity-uncertain';

/** What happened to one mailbox entry in a `collectNow` (or scheduled) cycle. */
export interface MailboxSummary {
  mailboxId: string;
  userId: string;
  /** True only when a session ran and succeeded. */
  ok: boolean;
  /** The session's counts, when it succeeded. */
  result?: SessionResult;
  /** The typed error, when the session (or its preparation) failed. */
  error?: MultiPopError;
  /** Set when no session ran for the entry, and why. */
  skipped?: SkipReason;
  /** True when this request joined a session of the same entry that was already under way. */
  joined?: boolean;
}

/** What a {@link CollectionCycle} needs from the fetcher. */
export interface CycleDeps {
  directory: MailboxDirectory;
  ledger: CollectionLedger;
  queue: LocalQueue;
  log: Log;
  now: () => number;
  concurrency: { global: number; perHost: number };
  runSession: (options: SessionOptions) => Promise<SessionResult>;
  emit: CollectorEventSink;
  authFor: (userId: string, entry: MailboxEntry) => AuthProvider;
  connection: MultiPopFetcherOptions['connection'];
  isOverQuota: MultiPopFetcherOptions['isOverQuota'];
  overQuotaAction: MultiPopFetcherOptions['overQuotaAction'];
  /** The fetcher's current stop signal (a new one after each restart). */
  signal: () => AbortSignal;
  /** Where each session's outcome is recorded. */
  status: MailboxStatusBook;
}

/**
 * One collection pass and its bookkeeping, for `MultiPopFetcher`: selects the entries, applies
 * the switches (`user.enabled`, `entry.enabled`, needs-permission, back-off, quota), runs the sessions under the
 * concurrency limits, and hands each outcome to the {@link MailboxStatusBook}. Every mailbox is isolated:
 * `collect` rejects only for an unknown user or entry, never for a failing mailbox.
 *
 * @example
 * ```ts
 * const cycle = new CollectionCycle(deps);
 * const summaries = await cycle.collect({ userId: 'ann@example.com' });
 * ```
 */
export class CollectionCycle {
  readonly #d: CycleDeps;
  readonly #slots: SessionSlots;
  // One session per remote maildrop; a second request for the same entry joins it.
  readonly #locks = new MailboxLocks<MailboxSummary>();

  constructor(deps: CycleDeps) {
    this.#d = deps;
    this.#slots = new SessionSlots(deps.concurrency);
  }

  /** The task of an entry waiting or running now, if any. */
  taskOf(mailboxId: string): Promise<MailboxSummary> | undefined {
    return this.#locks.taskOf(mailboxId);
  }

  /** Every session task and status update under way (stop() waits for them). */
  pending(): Promise<unknown>[] {
    return [...this.#locks.all(), ...this.#d.status.pending()];
  }

  /** Collects the entries `request` selects; resolves with a summary per entry. */
  async collect(request: CollectRequest, knownSettings?: ServerSettings): Promise<MailboxSummary[]> {
    const settings = knownSettings ?? (await this.#d.directory.getSettings());
    if (!settings.enabled) return [];
    const users = await this.#selectUsers(request);
    const perUser = users.map((user) => this.#collectUser(user, settings, request));
    return (await Promise.all(perUser)).flat();
  }

  async #selectUsers(request: CollectRequest): Promise<UserSettings[]> {
    if (request.mailboxId !== undefined) {
      const location = await this.#d.directory.getEntry(request.mailboxId);
      if (!location || (request.userId !== undefined && location.userId !== request.userId)) {
        throw new MultiPopError('NOT_FOUND', 'No such mailbox entry', { mailboxId: request.mailboxId });
      }
      const user = await this.#d.directory.getUser(location.userId);
      if (!user)
        throw new MultiPopError('NOT_FOUND', 'The entry has no user', { mailboxId: request.mailboxId });
      return [{ ...user, entries: user.entries.filter((e) => e.id === request.mailboxId) }];
    }
    if (request.userId !== undefined) {
      const user = await this.#d.directory.getUser(request.userId);
      if (!user) throw new MultiPopError('NOT_FOUND', 'No such user', { userId: request.userId });
      return [user];
    }
    return this.#d.directory.listUsers();
  }

  async #collectUser(
    user: UserSettings,
    settings: ServerSettings,
    request: CollectRequest,
  ): Promise<MailboxSummary[]> {
    const skip = (entry: MailboxEntry, skipped: SkipReason): MailboxSummary => ({
      mailboxId: entry.id,
      userId: user.id,
      ok: false,
      skipped,
    });
    if (!user.enabled) return user.entries.map((e) => skip(e, 'user-disabled'));
    const enabled = user.entries.filter((e) => e.enabled);
    const disabled = user.entries.filter((e) => !e.enabled).map((e) => skip(e, 'entry-disabled'));
    if (enabled.length === 0) return disabled;

    let overQuota: boolean;
    try {
      overQuota = (await this.#d.isOverQuota?.(user.id)) === true;
    } catch (err) {
      // Unknown quota: collecting could overfill the mailbox; leaving the mail on the remote
      // server loses nothing, so skip this cycle and report why.
      const error = toMultiPopError(err, 'STORE_ERROR', 'The quota check failed');
      this.#d.log.warn({ err: error, userId: user.id }, 'quota check failed; skipping the user this cycle');
      return [...disabled, ...enabled.map((e) => ({ mailboxId: e.id, userId: user.id, ok: false, error }))];
    }
    if (overQuota) return [...disabled, ...(await this.#overQuota(user, enabled))];

    const runs = enabled.map((entry) => this.#collectEntry(user.id, entry, settings, request));
    return [...disabled, ...(await Promise.all(runs))];
  }

  async #overQuota(user: UserSettings, entries: MailboxEntry[]): Promise<MailboxSummary[]> {
    const disabledEntries: string[] = [];
    if (this.#d.overQuotaAction === 'disable-entries') {
      for (const entry of entries) {
        try {
          await this.#d.directory.putEntry(user.id, { ...entry, enabled: false });
          disabledEntries.push(entry.id);
        } catch (err) {
          this.#d.log.error(
            { err, userId: user.id, mailboxId: entry.id },
            'could not disable an entry of a user over quota',
          );
        }
      }
    }
    this.#d.log.info({ userId: user.id, disabledEntries }, 'user over quota; collection skipped');
    this.#d.emit('user:over-quota', { userId: user.id, disabledEntries });
    return entries.map((e) => ({
      mailboxId: e.id,
      userId: user.id,
      ok: false,
      skipped: 'over-quota' as const,
    }));
  }

  async #collectEntry(
    userId: string,
    entry: MailboxEntry,
    settings: ServerSettings,
    request: CollectRequest,
  ): Promise<MailboxSummary> {
    const force = request.force === true;
    let key: string;
    let host: string;
    try {
      const address = parseServer(entry.server, entry.tls);
      host = address.host;
      key = remoteMailboxKey(address, entry.username);
      const status = await this.#d.ledger.loadStatus(entry.id);
      if (status?.needsPermission)
        return { mailboxId: entry.id, userId, ok: false, skipped: 'needs-permission' };
      if (!force && isIdentityPaused(status))
        return { mailboxId: entry.id, userId, ok: false, skipped: 'identity-uncertain' };
      if (!force && !isDue(status, this.#d.now()))
        return { mailboxId: entry.id, userId, ok: false, skipped: 'backoff' };
    } catch (err) {
      const error = toMultiPopError(err, 'STORE_ERROR', 'Could not prepare the session', {
        mailboxId: entry.id,
      });
      return { mailboxId: entry.id, userId, ok: false, error };
    }
    const { promise, joined } = this.#locks.run(key, entry.id, () =>
      this.#slots.run(host, () => this.#runOne(userId, entry, settings, host, request.identityResolution)),
    );
    const summary = await promise;
    return joined ? { ...summary, joined: true } : summary;
  }

  // One session of one mailbox, with its status bookkeeping and events. Never rejects.
  async #runOne(
    userId: string,
    entry: MailboxEntry,
    settings: ServerSettings,
    host: string,
    identityResolution: IdentityResolution | undefined,
  ): Promise<MailboxSummary> {
    const signal = this.#d.signal();
    if (signal.aborted) return { mailboxId: entry.id, userId, ok: false, skipped: 'stopping' };
    const log = this.#d.log.child({ userId, mailboxId: entry.id });
    const startedAt = this.#d.now();
    try {
      const auth = this.#d.authFor(userId, entry);
      const result = await this.#d.runSession({
        ...(identityResolution ? { identityResolution } : {}),
        userId,
        entry,
        settings,
        queue: this.#d.queue,
        ledger: this.#d.ledger,
        auth,
        emit: this.#d.emit,
        log,
        now: this.#d.now,
        signal,
        ...this.#connectionFor(entry),
      });
      await this.#d.status.recordSuccess(userId, entry, host, result, startedAt, settings, log);
      return { mailboxId: entry.id, userId, ok: true, result };
    } catch (err) {
      const error = toMultiPopError(err, 'STORE_ERROR', 'Collection failed', { mailboxId: entry.id });
      await this.#d.status.recordFailure(userId, entry, host, error, startedAt, log);
      if (error.code === 'ABORTED')
        return { mailboxId: entry.id, userId, ok: false, error, skipped: 'stopping' };
      return { mailboxId: entry.id, userId, ok: false, error };
    }
  }

  #connectionFor(entry: MailboxEntry): { connection?: ConnectionTuning } {
    const tuning = this.#d.connection;
    if (tuning === undefined) return {};
    return { connection: typeof tuning === 'function' ? tuning(entry) : tuning };
  }
}

/**
 * Whether the mailbox is paused because its last session ended with `IDENTITY_UNCERTAIN` (and no
 * session succeeded since): the schedule leaves it alone until an administrator resolves it.
 */
export function isIdentityPaused(status: MailboxStatus | undefined): boolean {
  if (status?.lastErrorCode !== 'IDENTITY_UNCERTAIN') return false;
  return status.lastSuccessAt === undefined || (status.lastErrorAt ?? 0) >= status.lastSuccessAt;
}
