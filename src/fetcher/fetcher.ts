import type { OAuthEvent } from '../auth/oauth/events.js';
import type { BeginGrantResult, CompleteGrantResult } from '../auth/oauth/grant-flow.js';
import { OAuthService } from '../auth/oauth/service.js';
import type { AuthProvider } from '../auth/provider.js';
import type { CollectorEventName, CollectorEventSink, CollectorEvents } from '../collect/events.js';
import { runSession } from '../collect/session.js';
import type { ConnectionTuning, SessionOptions, SessionResult } from '../collect/session-api.js';
import {
  type MailboxEntry,
  type MailboxEntryInput,
  parseServer,
  type ServerSettings,
  type UserSettings,
} from '../config/index.js';
import { isMultiPopError, MultiPopError } from '../errors/index.js';
import { createLog, type Log, SecretRegistry } from '../log/index.js';
import {
  type CollectionLedger,
  emptyMailboxStatus,
  type MailboxDirectory,
  type MailboxStatus,
} from '../ports/index.js';
import { defaultAuthSelection } from './auth-selection.js';
import { type BackoffPolicy, defaultBackoff } from './backoff.js';
import { MailboxLocks, remoteMailboxKey, SessionSlots } from './concurrency.js';
import {
  EntryOperations,
  type EntryPatch,
  type EntryView,
  entryHost,
  type GrantCallback,
} from './entry-operations.js';
import { isDue, statusAfterFailure, statusAfterSuccess } from './mailbox-status.js';
import {
  type FetcherOAuthService,
  isOAuthService,
  type MultiPopFetcherOptions,
  parseFetcherOptions,
} from './options.js';
import type { Actor } from './permissions.js';
import { RemoteCycleCounter, UnrefTimer, UserCheckLimiter } from './schedule.js';
import { type FetcherStatistics, summarizeStatuses } from './statistics.js';
import { type Listener, TypedEmitter } from './typed-emitter.js';

/** Which mailboxes `collectNow` collects. Without `userId` and `mailboxId`: everyone's. */
export interface CollectRequest {
  /** Only this user's entries. */
  userId?: string;
  /** Only this entry. */
  mailboxId?: string;
  /** Ignore the back-off (and a server-requested pause) of failing mailboxes. @default false */
  force?: boolean;
}

/** Why an entry was not collected in a cycle. */
export type SkipReason =
  /** U1 is off for the entry's user. */
  | 'user-disabled'
  /** M8: the entry is disabled. */
  | 'entry-disabled'
  /** The OAuth grant is gone; waiting for the user to grant permission again. */
  | 'needs-permission'
  /** Failing and not yet due again (use `force` to try anyway). */
  | 'backoff'
  /** The host reported the user's mailbox over quota. */
  | 'over-quota'
  /** stop() was called before the session began. */
  | 'stopping';

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

/** Lifecycle of the fetcher: `collectNow` works in `idle` and `started`; triggers only in `started`. */
export type FetcherState = 'idle' | 'started' | 'stopping' | 'stopped';

/**
 * The facade a mail server embeds: it collects its users' external POP3 mailboxes into the
 * host's local queue on a schedule (T1–T5) or on demand, with bounded concurrency, per-mailbox
 * isolation and back-off, typed events and statistics, and the webmail-facing operations
 * (add, edit, enable, remove entries; grant OAuth permission) with their permission checks.
 *
 * @example
 * ```ts
 * import { MultiPopFetcher } from 'multipop';
 * import { memoryDirectory, memoryLedger } from 'multipop';
 *
 * const fetcher = new MultiPopFetcher({ directory, ledger: memoryLedger(), queue: myQueue, logger: pino() });
 * fetcher.on('mailbox:error', ({ mailboxId, error, consecutiveFailures }) => alert(mailboxId, error.code, consecutiveFailures));
 * await fetcher.start();                        // arms the schedule from the directory's settings
 * hostCycle.on('remote-mail', () => void fetcher.onRemoteMailProcessed());
 * imap.on('login', (user) => void fetcher.onUserCheckedMail(user));
 * // …
 * await fetcher.stop();                         // lets sessions in flight finish cleanly
 * ```
 */
export class MultiPopFetcher {
  readonly #directory: MailboxDirectory;
  readonly #ledger: CollectionLedger;
  readonly #options: MultiPopFetcherOptions;
  readonly #log: Log;
  readonly #now: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #runSession: (options: SessionOptions) => Promise<SessionResult>;
  readonly #oauth: FetcherOAuthService | undefined;
  readonly #secrets = new SecretRegistry();
  readonly #defaultAuth: (entry: MailboxEntry) => AuthProvider;
  readonly #events: TypedEmitter<CollectorEvents>;
  readonly #emit: CollectorEventSink;
  readonly #slots: SessionSlots;
  // One session per remote maildrop; a second request for the same entry joins it.
  readonly #locks = new MailboxLocks<MailboxSummary>();
  readonly #timer = new UnrefTimer();
  readonly #remoteCycles = new RemoteCycleCounter();
  readonly #userChecks = new UserCheckLimiter();
  // mailboxId → the tail of its status updates: read-modify-write of a status never interleaves.
  readonly #statusChains = new Map<string, Promise<unknown>>();
  // mailboxId → the LOGIN-DELAY (s) its server advertised in the last session, when known.
  readonly #loginDelays = new Map<string, number>();
  // Cycles and trigger calls under way; stop() waits for all of them.
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #entries: EntryOperations;
  #state: FetcherState = 'idle';
  // Aborted by stop(): waiting sessions do not start, running ones stop after the message in flight.
  #controller = new AbortController();

  /**
   * @throws MultiPopError `CONFIG_INVALID` naming the bad option (`context.field`)
   */
  constructor(options: MultiPopFetcherOptions) {
    this.#options = parseFetcherOptions(options);
    const o = this.#options;
    this.#directory = o.directory;
    this.#ledger = o.ledger;
    this.#log = createLog(o.logger, { component: 'multipop-fetcher' }, this.#secrets);
    this.#now = o.now ?? Date.now;
    this.#backoff = { ...defaultBackoff, ...stripUndefined(o.backoff ?? {}) };
    if (this.#backoff.baseMs > this.#backoff.maxMs) this.#backoff.maxMs = this.#backoff.baseMs;
    this.#runSession = o.runSession ?? runSession;
    this.#oauth =
      o.oauth === undefined ? undefined : isOAuthService(o.oauth) ? o.oauth : this.#buildOAuth(o.oauth);
    this.#defaultAuth = defaultAuthSelection(this.#oauth, this.#secrets);
    this.#slots = new SessionSlots({
      global: o.concurrency?.global ?? 8,
      perHost: o.concurrency?.perHost ?? 2,
    });
    this.#events = new TypedEmitter<CollectorEvents>((error, name) => {
      this.#log.error({ err: error, event: name }, 'an event listener threw; collection continues');
    });
    this.#emit = (name, payload) => this.#events.emit(name, payload);
    this.#entries = new EntryOperations({
      directory: this.#directory,
      ledger: this.#ledger,
      tokens: o.tokens,
      oauth: this.#oauth,
      log: this.#log,
      updateStatus: (mailboxId, update) => this.#updateStatus(mailboxId, update),
      waitForSession: (mailboxId) => this.#locks.taskOf(mailboxId),
      forget: (mailboxId) => this.#loginDelays.delete(mailboxId),
    });
  }

  // ————— events —————

  /**
   * Adds a listener for a typed event; returns a function that removes it. A listener that
   * throws is logged and never disturbs collection.
   *
   * @example
   * ```ts
   * const off = fetcher.on('message:collected', ({ mailboxId, uidl, size }) => metrics.inc(size));
   * off();
   * ```
   */
  on<K extends CollectorEventName>(name: K, listener: Listener<CollectorEvents[K]>): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Adds a listener for the next occurrence of an event only.
   *
   * @example
   * ```ts
   * fetcher.once('session:end', (e) => console.log('first session done', e.collected));
   * ```
   */
  once<K extends CollectorEventName>(name: K, listener: Listener<CollectorEvents[K]>): () => void {
    return this.#events.once(name, listener);
  }

  /**
   * Removes a listener added with `on` or `once`.
   *
   * @example
   * ```ts
   * fetcher.off('mailbox:error', onError);
   * ```
   */
  off<K extends CollectorEventName>(name: K, listener: Listener<CollectorEvents[K]>): void {
    this.#events.off(name, listener);
  }

  // ————— lifecycle and schedule —————

  /** Where the fetcher is in its lifecycle. */
  get state(): FetcherState {
    return this.#state;
  }

  /**
   * Arms the schedule from the directory's settings (S6): the interval timer for `interval`
   * (T5), or the triggers `onRemoteMailProcessed` (T1/T2) and `onUserCheckedMail` (T3/T4).
   * Calling it again while started re-reads the schedule (same as {@link reload}).
   *
   * @example
   * ```ts
   * await fetcher.start();
   * ```
   * @throws MultiPopError `INVALID_STATE` while a stop() is still under way
   */
  async start(): Promise<void> {
    if (this.#state === 'stopping')
      throw new MultiPopError('INVALID_STATE', 'The fetcher is stopping; await stop() first');
    if (this.#state !== 'started') {
      if (this.#controller.signal.aborted) this.#controller = new AbortController();
      this.#state = 'started';
      this.#remoteCycles.reset();
    }
    await this.#arm();
  }

  /**
   * Re-reads the schedule now (call it after changing `settings.schedule`). The fetcher also
   * re-reads the settings at every cycle and every trigger call, so this is only needed to
   * switch *to* the `interval` mode or to change its period at once.
   *
   * @example
   * ```ts
   * await directory.setSettings({ ...settings, schedule: { mode: 'interval', minutes: 10 } });
   * await fetcher.reload();
   * ```
   */
  async reload(): Promise<void> {
    if (this.#state === 'started') await this.#arm();
  }

  /**
   * Stops gracefully: no new sessions start, sessions waiting for a slot are dropped (their
   * summaries say `skipped: 'stopping'`), and sessions in flight finish the message they are
   * receiving, send DELE and QUIT, and persist their status. Resolves when all of them are
   * done; afterwards no timer or socket of the fetcher keeps the process alive.
   *
   * `signal` bounds the wait: when it aborts first, `stop()` rejects with `ABORTED` while the
   * remaining sessions still wind down in the background.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', async () => {
   *   await fetcher.stop({ signal: AbortSignal.timeout(30_000) }).catch(() => {});
   *   process.exit(0);
   * });
   * ```
   */
  async stop(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state === 'stopped' && this.#inFlight.size === 0 && this.#locks.all().length === 0) return;
    this.#state = 'stopping';
    this.#timer.disarm();
    this.#controller.abort(new MultiPopError('ABORTED', 'The fetcher is stopping'));
    const everything = async () => {
      // Loop: a cycle under way may still hand new tasks to the locks while we wait.
      while (this.#inFlight.size > 0 || this.#locks.all().length > 0) {
        await Promise.allSettled([...this.#inFlight, ...this.#locks.all()]);
      }
      await Promise.allSettled([...this.#statusChains.values()]);
    };
    try {
      await raceAbort(everything(), options.signal);
    } finally {
      this.#state = 'stopped';
    }
  }

  /**
   * T1/T2: the host calls this each time its own remote-mail cycle runs; every `everyNth`
   * call (per `settings.schedule`) collects everyone's mailboxes. Does nothing unless the
   * fetcher is started and the schedule mode is `remote-cycle`.
   *
   * Never rejects (failures are in the summaries and events), so a host may fire and forget.
   *
   * @example
   * ```ts
   * remoteMailCycle.on('done', () => void fetcher.onRemoteMailProcessed());
   * ```
   * @returns the summaries of the cycle it triggered, or `[]`
   */
  onRemoteMailProcessed(): Promise<MailboxSummary[]> {
    return this.#trigger(async () => {
      const settings = await this.#directory.getSettings();
      if (this.#state !== 'started' || settings.schedule.mode !== 'remote-cycle') return [];
      if (!this.#remoteCycles.tick(settings.schedule.everyNth)) return [];
      return this.#collect({}, settings);
    });
  }

  /**
   * T3/T4: the host calls this when a user checks local mail (POP3, IMAP, webmail login); the
   * user's entries are collected unless that user was collected `maxPerHour` times in the last
   * hour (sliding window) or less than `minMinutesBetween` minutes ago. New MultiPOP mail then
   * shows up at the user's next check. Does nothing unless started in `on-user-check` mode.
   *
   * Never rejects, so a host may fire and forget.
   *
   * @example
   * ```ts
   * imapServer.on('login', (session) => void fetcher.onUserCheckedMail(session.user));
   * ```
   * @returns the summaries of the collection it triggered, or `[]`
   */
  onUserCheckedMail(userId: string): Promise<MailboxSummary[]> {
    return this.#trigger(async () => {
      const settings = await this.#directory.getSettings();
      const schedule = settings.schedule;
      if (this.#state !== 'started' || schedule.mode !== 'on-user-check') return [];
      if (!this.#userChecks.tryAcquire(userId, this.#now(), schedule)) return [];
      return this.#collect({ userId }, settings);
    });
  }

  /**
   * T5 "collect now": collects one entry, one user's entries, or everyone's, and resolves
   * with a summary per entry once all sessions are done. Honours S1 (MultiPOP off → `[]`),
   * U1, M8, needs-permission and over-quota; back-off too unless `force` is set.
   *
   * A failing mailbox never stops the others: its typed error is in its summary.
   *
   * @example
   * ```ts
   * const summaries = await fetcher.collectNow({ userId: 'ann@example.com', force: true });
   * for (const s of summaries) if (s.error) console.warn(s.mailboxId, s.error.code);
   * ```
   * @throws MultiPopError `NOT_FOUND` for an unknown `userId` / `mailboxId`; `ABORTED` after stop()
   */
  collectNow(request: CollectRequest = {}): Promise<MailboxSummary[]> {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(new MultiPopError('ABORTED', 'The fetcher is stopped; call start() first'));
    }
    return this.#track(this.#collect(request));
  }

  // ————— statistics —————

  /**
   * Per-mailbox statistics and their totals, from the statuses the ledger persists (so they
   * survive restarts and can be read by another process).
   *
   * @example
   * ```ts
   * const { totals } = await fetcher.statistics();
   * const one = await fetcher.statistics('ann-gmx');  // MailboxStatus | undefined
   * ```
   */
  statistics(): Promise<FetcherStatistics>;
  statistics(mailboxId: string): Promise<MailboxStatus | undefined>;
  async statistics(mailboxId?: string): Promise<FetcherStatistics | MailboxStatus | undefined> {
    if (mailboxId !== undefined) return this.#ledger.loadStatus(mailboxId);
    return summarizeStatuses(await this.#ledger.listStatus());
  }

  // ————— webmail-facing operations —————

  /**
   * Adds a remote mailbox entry for `userId` (M9). The input is validated (`parseMailboxEntry`);
   * an id is generated (`crypto.randomUUID()`) when none is given and never changes after.
   * A user may add only their own entries and only with S1, U1 and U2; the administrator always.
   *
   * @example
   * ```ts
   * const view = await fetcher.addEntry({ role: 'user', userId: 'ann' }, 'ann', { server: 'pop.gmx.net:995', username: 'ann', password: 's3cret' });
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `CONFIG_INVALID` (naming the field), `NOT_FOUND`
   */
  addEntry(
    actor: Actor,
    userId: string,
    input: Omit<MailboxEntryInput, 'id'> & { id?: string },
  ): Promise<EntryView> {
    return this.#entries.add(actor, userId, input);
  }

  /**
   * Edits an entry (M9): the patch is merged into the stored entry and validated. A patch
   * without `password` keeps the stored one (webmail never sees it). Editing clears a pending
   * back-off, so the corrected entry is tried at the next cycle.
   *
   * @example
   * ```ts
   * await fetcher.updateEntry(admin, 'ann-gmx', { leaveOnServer: true, deleteAfterDays: 30 });
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `CONFIG_INVALID`, `NOT_FOUND`
   */
  updateEntry(actor: Actor, entryId: string, patch: EntryPatch): Promise<EntryView> {
    return this.#entries.update(actor, entryId, patch);
  }

  /**
   * Removes an entry with its ledger, status and OAuth tokens. When a session of the entry is
   * under way, waits for it to end first (so it cannot write state back afterwards).
   *
   * @example
   * ```ts
   * await fetcher.removeEntry({ role: 'user', userId: 'ann' }, 'ann-gmx');
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `NOT_FOUND`
   */
  removeEntry(actor: Actor, entryId: string): Promise<void> {
    return this.#entries.remove(actor, entryId);
  }

  /**
   * Enables or disables an entry (M8).
   *
   * @example
   * ```ts
   * await fetcher.setEntryEnabled({ role: 'user', userId: 'ann' }, 'ann-gmx', false);
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `NOT_FOUND`
   */
  setEntryEnabled(actor: Actor, entryId: string, enabled: boolean): Promise<EntryView> {
    return this.#entries.setEnabled(actor, entryId, enabled);
  }

  /**
   * A user's entries with their status, never with passwords. A user may list their own
   * entries with S1 and U1 (U2 is not needed to look, nor to grant OAuth permission).
   *
   * @example
   * ```ts
   * const entries = await fetcher.listEntries({ role: 'user', userId: 'ann' }, 'ann');
   * const needsButton = entries.filter((e) => e.status.needsPermission);
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `NOT_FOUND` (unknown user, for the admin)
   */
  listEntries(actor: Actor, userId: string): Promise<EntryView[]> {
    return this.#entries.list(actor, userId);
  }

  /**
   * Starts "Grant permission" for an OAuth entry: returns what the OAuth service returns
   * (the authorization URL to send the browser to). A user may grant for their own entries
   * with S1 and U1.
   *
   * @example
   * ```ts
   * const grant = await fetcher.beginGrant({ role: 'user', userId: 'ann' }, { mailboxId: 'ann-gmail', domain: 'example.com' });
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `NOT_FOUND`, `CONFIG_INVALID` (not an OAuth entry), `OAUTH_NOT_CONFIGURED`
   */
  beginGrant(actor: Actor, input: { mailboxId: string; domain: string }): Promise<BeginGrantResult> {
    return this.#entries.beginGrant(actor, input);
  }

  /**
   * Completes "Grant permission" with the provider's redirect back: the service exchanges the
   * code and stores the tokens; the entry's needs-permission flag and back-off are cleared, so
   * the next cycle collects it.
   *
   * @example
   * ```ts
   * const { mailboxId } = await fetcher.completeGrant({ role: 'user', userId: 'ann' }, new URL(req.url, base));
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `OAUTH_STATE_INVALID`, `OAUTH_ACCESS_DENIED`, `OAUTH_NOT_CONFIGURED`, …
   */
  completeGrant(actor: Actor, callback: GrantCallback): Promise<CompleteGrantResult> {
    return this.#entries.completeGrant(actor, callback);
  }

  /**
   * Feeds an OAuth service event into the fetcher: `needs-permission` pauses the entry and
   * emits `mailbox:needs-permission`; `granted` clears the pause; `refreshed` is ignored.
   * The fetcher wires this itself when it builds the service from options; call it from the
   * service's `onEvent` when you pass a ready `OAuthService`.
   *
   * @example
   * ```ts
   * let fetcher: MultiPopFetcher;
   * const oauth = new OAuthService({ tokens, directory, onEvent: (e) => void fetcher.handleOAuthEvent(e) });
   * fetcher = new MultiPopFetcher({ directory, ledger, queue, oauth });
   * ```
   */
  handleOAuthEvent(
    event:
      | OAuthEvent
      | { type: 'needs-permission' | 'granted'; userId: string; mailboxId: string; error?: MultiPopError },
  ): Promise<void> {
    return this.#track(
      (async () => {
        if (event.type === 'refreshed') return;
        if (event.type === 'granted') {
          await this.#entries.markGranted(event.mailboxId);
          return;
        }
        const error =
          event.error ??
          new MultiPopError(
            'OAUTH_NEEDS_PERMISSION',
            'The OAuth grant is gone: the user must grant permission again',
            {
              mailboxId: event.mailboxId,
            },
          );
        const location = await this.#directory.getEntry(event.mailboxId);
        const host = location ? entryHost(location.entry) : '';
        await this.#markNeedsPermission(event.userId, event.mailboxId, host, error);
      })().catch((err) =>
        this.#log.error({ err, mailboxId: event.mailboxId }, 'could not record an OAuth event'),
      ),
    );
  }

  // ————— internals: the cycle —————

  async #arm(): Promise<void> {
    let settings: ServerSettings;
    try {
      settings = await this.#directory.getSettings();
    } catch (err) {
      this.#log.error({ err }, 'could not read the settings; the schedule stays as it was');
      return;
    }
    if (this.#state !== 'started') return;
    const schedule = settings.schedule;
    if (schedule.mode === 'interval')
      this.#timer.arm(schedule.minutes * 60_000, () => this.#tick(schedule.minutes));
    else this.#timer.disarm();
  }

  // One interval cycle: re-read the settings, re-arm with the current period, collect.
  #tick(previousMinutes: number): void {
    void this.#trigger(async () => {
      if (this.#state !== 'started') return [];
      let settings: ServerSettings;
      try {
        settings = await this.#directory.getSettings();
      } catch (err) {
        // Keep the timer going: a directory that is down now may be back next time.
        this.#log.error({ err }, 'could not read the settings; trying again next interval');
        this.#timer.arm(previousMinutes * 60_000, () => this.#tick(previousMinutes));
        return [];
      }
      if (this.#state !== 'started') return [];
      const schedule = settings.schedule;
      if (schedule.mode !== 'interval') return [];
      this.#timer.arm(schedule.minutes * 60_000, () => this.#tick(schedule.minutes));
      return this.#collect({}, settings);
    });
  }

  // Runs a trigger, tracked for stop(), never rejecting.
  #trigger(run: () => Promise<MailboxSummary[]>): Promise<MailboxSummary[]> {
    return this.#track(
      run().catch((err) => {
        this.#log.error({ err }, 'a scheduled collection failed');
        return [];
      }),
    );
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const done = () => this.#inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  async #collect(request: CollectRequest, knownSettings?: ServerSettings): Promise<MailboxSummary[]> {
    const settings = knownSettings ?? (await this.#directory.getSettings());
    if (!settings.enabled) return [];
    const users = await this.#selectUsers(request);
    const perUser = users.map((user) => this.#collectUser(user, settings, request.force === true));
    return (await Promise.all(perUser)).flat();
  }

  async #selectUsers(request: CollectRequest): Promise<UserSettings[]> {
    if (request.mailboxId !== undefined) {
      const location = await this.#directory.getEntry(request.mailboxId);
      if (!location || (request.userId !== undefined && location.userId !== request.userId)) {
        throw new MultiPopError('NOT_FOUND', 'No such mailbox entry', { mailboxId: request.mailboxId });
      }
      const user = await this.#directory.getUser(location.userId);
      if (!user)
        throw new MultiPopError('NOT_FOUND', 'The entry has no user', { mailboxId: request.mailboxId });
      return [{ ...user, entries: user.entries.filter((e) => e.id === request.mailboxId) }];
    }
    if (request.userId !== undefined) {
      const user = await this.#directory.getUser(request.userId);
      if (!user) throw new MultiPopError('NOT_FOUND', 'No such user', { userId: request.userId });
      return [user];
    }
    return this.#directory.listUsers();
  }

  async #collectUser(
    user: UserSettings,
    settings: ServerSettings,
    force: boolean,
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
      overQuota = (await this.#options.isOverQuota?.(user.id)) === true;
    } catch (err) {
      // Unknown quota: collecting could overfill the mailbox; leaving the mail on the remote
      // server loses nothing, so skip this cycle and report why.
      const error = asMultiPopError(err, 'STORE_ERROR', 'The quota check failed');
      this.#log.warn({ err: error, userId: user.id }, 'quota check failed; skipping the user this cycle');
      return [...disabled, ...enabled.map((e) => ({ mailboxId: e.id, userId: user.id, ok: false, error }))];
    }
    if (overQuota) return [...disabled, ...(await this.#overQuota(user, enabled))];

    const runs = enabled.map((entry) => this.#collectEntry(user.id, entry, settings, force));
    return [...disabled, ...(await Promise.all(runs))];
  }

  async #overQuota(user: UserSettings, entries: MailboxEntry[]): Promise<MailboxSummary[]> {
    const disabledEntries: string[] = [];
    if (this.#options.overQuotaAction === 'disable-entries') {
      for (const entry of entries) {
        try {
          await this.#directory.putEntry(user.id, { ...entry, enabled: false });
          disabledEntries.push(entry.id);
        } catch (err) {
          this.#log.error(
            { err, userId: user.id, mailboxId: entry.id },
            'could not disable an entry of a user over quota',
          );
        }
      }
    }
    this.#log.info({ userId: user.id, disabledEntries }, 'user over quota; collection skipped');
    this.#emit('user:over-quota', { userId: user.id, disabledEntries });
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
    force: boolean,
  ): Promise<MailboxSummary> {
    let key: string;
    let host: string;
    try {
      const address = parseServer(entry.server, entry.tls);
      host = address.host;
      key = remoteMailboxKey(address, entry.username);
      const status = await this.#ledger.loadStatus(entry.id);
      if (status?.needsPermission)
        return { mailboxId: entry.id, userId, ok: false, skipped: 'needs-permission' };
      if (!force && !isDue(status, this.#now()))
        return { mailboxId: entry.id, userId, ok: false, skipped: 'backoff' };
    } catch (err) {
      const error = asMultiPopError(err, 'STORE_ERROR', 'Could not prepare the session', entry.id);
      return { mailboxId: entry.id, userId, ok: false, error };
    }
    const { promise, joined } = this.#locks.run(key, entry.id, () =>
      this.#slots.run(host, () => this.#runOne(userId, entry, settings, host)),
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
  ): Promise<MailboxSummary> {
    const signal = this.#controller.signal;
    if (signal.aborted) return { mailboxId: entry.id, userId, ok: false, skipped: 'stopping' };
    const log = this.#log.child({ userId, mailboxId: entry.id });
    const startedAt = this.#now();
    try {
      const auth = this.#authFor(userId, entry);
      const result = await this.#runSession({
        userId,
        entry,
        settings,
        queue: this.#options.queue,
        ledger: this.#ledger,
        auth,
        emit: this.#emit,
        log,
        now: this.#now,
        signal,
        ...this.#connectionFor(entry),
      });
      await this.#recordSuccess(userId, entry, host, result, startedAt, settings, log);
      return { mailboxId: entry.id, userId, ok: true, result };
    } catch (err) {
      const error = asMultiPopError(err, 'STORE_ERROR', 'Collection failed', entry.id);
      await this.#recordFailure(userId, entry, host, error, startedAt, log);
      if (error.code === 'ABORTED')
        return { mailboxId: entry.id, userId, ok: false, error, skipped: 'stopping' };
      return { mailboxId: entry.id, userId, ok: false, error };
    }
  }

  #authFor(userId: string, entry: MailboxEntry): AuthProvider {
    return this.#options.authFor ? this.#options.authFor(userId, entry) : this.#defaultAuth(entry);
  }

  // The fetcher's own OAuth service: over its token store and directory, sharing its clock,
  // logger and secret registry, with its events mapped into the fetcher.
  #buildOAuth(options: Partial<ConstructorParameters<typeof OAuthService>[0]>): OAuthService {
    const hostListener = options.onEvent;
    const tokens = options.tokens ?? this.#options.tokens;
    if (!tokens)
      throw new MultiPopError('CONFIG_INVALID', 'Building the OAuth service needs a token store', {
        field: 'tokens',
      });
    return new OAuthService({
      now: this.#now,
      logger: this.#log,
      secrets: this.#secrets,
      ...options,
      tokens,
      directory: options.directory ?? this.#directory,
      onEvent: (event) => {
        void this.handleOAuthEvent(event);
        hostListener?.(event);
      },
    });
  }

  #connectionFor(entry: MailboxEntry): { connection?: ConnectionTuning } {
    const tuning = this.#options.connection;
    if (tuning === undefined) return {};
    return { connection: typeof tuning === 'function' ? tuning(entry) : tuning };
  }

  async #recordSuccess(
    userId: string,
    entry: MailboxEntry,
    host: string,
    result: SessionResult & { loginDelaySeconds?: number },
    startedAt: number,
    settings: ServerSettings,
    log: Log,
  ): Promise<void> {
    if (result.loginDelaySeconds !== undefined) this.#loginDelays.set(entry.id, result.loginDelaySeconds);
    let afterFailures = 0;
    await this.#updateStatus(entry.id, (previous) => {
      afterFailures = previous.consecutiveFailures;
      return statusAfterSuccess(previous, result, { startedAt, endedAt: this.#now() });
    });
    if (settings.logActivity) {
      log.info(
        {
          collected: result.collected,
          bytes: result.bytes,
          skipped: result.skipped,
          deleted: result.deleted,
          onServer: result.onServer,
        },
        'mailbox collected',
      );
    }
    if (afterFailures > 0)
      this.#emit('mailbox:recovered', { userId, mailboxId: entry.id, host, afterFailures });
  }

  async #recordFailure(
    userId: string,
    entry: MailboxEntry,
    host: string,
    error: MultiPopError,
    startedAt: number,
    log: Log,
  ) {
    if (error.code === 'OAUTH_NEEDS_PERMISSION') {
      await this.#markNeedsPermission(userId, entry.id, host, error, startedAt);
      return;
    }
    let failures = 0;
    let aborted = false;
    await this.#updateStatus(entry.id, (previous) => {
      const { status, kind } = statusAfterFailure(
        previous,
        error,
        { startedAt, endedAt: this.#now() },
        this.#backoff,
        this.#loginDelays.get(entry.id),
      );
      failures = status.consecutiveFailures;
      aborted = kind === 'aborted';
      return aborted ? undefined : status;
    });
    if (aborted) {
      log.info({ code: error.code }, 'session stopped before it began');
      return;
    }
    log.warn({ err: error, consecutiveFailures: failures }, 'mailbox collection failed');
    this.#emit('mailbox:error', { userId, mailboxId: entry.id, host, error, consecutiveFailures: failures });
  }

  // Sets needsPermission; emits `mailbox:needs-permission` only on the change (the OAuth
  // service and the failed session may both report the same loss).
  async #markNeedsPermission(
    userId: string,
    mailboxId: string,
    host: string,
    error: MultiPopError,
    startedAt?: number,
  ) {
    let changed = false;
    await this.#updateStatus(mailboxId, (previous) => {
      changed = !previous.needsPermission;
      if (startedAt === undefined) {
        const next: MailboxStatus = { ...previous, needsPermission: true };
        delete next.nextAttemptAt;
        return next;
      }
      return statusAfterFailure(previous, error, { startedAt, endedAt: this.#now() }, this.#backoff).status;
    });
    if (changed) this.#emit('mailbox:needs-permission', { userId, mailboxId, host, error });
  }

  /**
   * Read-modify-write of one mailbox's status, serialised per mailbox. `update` returns the
   * new status, or undefined to leave it. A store failure is logged, never thrown: the
   * session's outcome is already decided and reported.
   */
  #updateStatus(
    mailboxId: string,
    update: (previous: MailboxStatus) => MailboxStatus | undefined,
  ): Promise<void> {
    const previous = this.#statusChains.get(mailboxId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const current = (await this.#ledger.loadStatus(mailboxId)) ?? emptyMailboxStatus(mailboxId);
        const updated = update(current);
        if (updated) await this.#ledger.saveStatus(updated);
      })
      .catch((err) => this.#log.error({ err, mailboxId }, 'could not persist the mailbox status'));
    this.#statusChains.set(mailboxId, next);
    const release = () => {
      if (this.#statusChains.get(mailboxId) === next) this.#statusChains.delete(mailboxId);
    };
    next.then(release, release);
    return next;
  }
}

function asMultiPopError(
  err: unknown,
  code: 'STORE_ERROR',
  message: string,
  mailboxId?: string,
): MultiPopError {
  if (isMultiPopError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new MultiPopError(code, `${message}: ${detail}`, mailboxId === undefined ? {} : { mailboxId }, {
    cause: err,
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted)
    return Promise.reject(new MultiPopError('ABORTED', 'Stopped waiting for sessions to finish'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new MultiPopError('ABORTED', 'Stopped waiting for sessions to finish'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
