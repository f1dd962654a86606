import type { OAuthCallbackInput } from '../auth/oauth/callback.js';
import type { OAuthEvent } from '../auth/oauth/events.js';
import type { BeginGrantResult, CompleteGrantResult } from '../auth/oauth/grant-flow.js';
import { OAuthService } from '../auth/oauth/service.js';
import type { CollectorEventName, CollectorEventSink, CollectorEvents } from '../collect/events.js';
import type { IdentityResolution } from '../collect/identity.js';
import { runSession } from '../collect/session.js';
import type { MailboxEntryInput } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import { createLog, type Log, SecretRegistry } from '../log/index.js';
import type { Actor, CollectionLedger, MailboxDirectory, MailboxStatus } from '../ports/index.js';
import { defaultAuthSelection } from './auth-selection.js';
import { type BackoffPolicy, defaultBackoff } from './backoff.js';
import { CollectionCycle, type CollectRequest, type MailboxSummary } from './cycle.js';
import { EntryOperations, type EntryPatch, type EntryView, entryHost } from './entry-operations.js';
import { MailboxStatusBook } from './mailbox-status-book.js';
import {
  type FetcherOAuthService,
  isOAuthService,
  type MultiPopFetcherOptions,
  parseFetcherOptions,
} from './options.js';
import { IntervalSchedule, RemoteCycleCounter, UserCheckLimiter } from './schedule.js';
import { type FetcherStatistics, summarizeStatuses } from './statistics.js';
import { type Listener, TypedEmitter } from './typed-emitter.js';

export type { CollectRequest, MailboxSummary, SkipReason } from './cycle.js';

/** Lifecycle of the fetcher: `collectNow` works in `idle` and `started`; triggers only in `started`. */
export type FetcherState = 'idle' | 'started' | 'stopping' | 'stopped';

/**
 * The facade a mail server embeds: it collects its users' external POP3 mailboxes into the
 * host's local queue on a schedule (`settings.schedule`) or on demand, with bounded concurrency, per-mailbox
 * isolation and back-off, typed events and statistics, and the webmail-facing operations
 * (add, edit, enable, remove entries; grant OAuth permission) with their permission checks.
 *
 * @example
 * <!-- doc-context
 * declare const myQueue: LocalQueue;
 * declare function alert(mailboxId: string, code: string, failures: number): void;
 * declare const hostCycle: { on(event: 'remote-mail', listener: () => void): void };
 * declare const imap: { on(event: 'login', listener: (user: string) => void): void };
 * -->
 * ```ts
 * import { MultiPopFetcher, memoryDirectory, memoryLedger } from 'multipop';
 *
 * const fetcher = new MultiPopFetcher({ directory: memoryDirectory(), ledger: memoryLedger(), queue: myQueue, logger: pino() });
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
  readonly #oauth: FetcherOAuthService | undefined;
  // Every password and token the fetcher's sessions use is registered here, so every log line
  // of the library (the fetcher's, the sessions', the OAuth service's) scrubs it.
  readonly #secrets = new SecretRegistry();
  readonly #events: TypedEmitter<CollectorEvents>;
  readonly #cycle: CollectionCycle;
  readonly #status: MailboxStatusBook;
  readonly #entries: EntryOperations;
  readonly #schedule: IntervalSchedule;
  readonly #remoteCycles = new RemoteCycleCounter();
  readonly #userChecks = new UserCheckLimiter();
  // Cycles, trigger calls and OAuth event handling under way; stop() waits for all of them.
  readonly #inFlight = new Set<Promise<unknown>>();
  #state: FetcherState = 'idle';
  // Aborted by stop(): waiting sessions do not start, running ones stop after the messages in flight.
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
    const backoff: BackoffPolicy = { ...defaultBackoff, ...stripUndefined(o.backoff ?? {}) };
    if (backoff.baseMs > backoff.maxMs) backoff.maxMs = backoff.baseMs;
    this.#oauth =
      o.oauth === undefined ? undefined : isOAuthService(o.oauth) ? o.oauth : this.#buildOAuth(o.oauth);
    const defaultAuth = defaultAuthSelection(this.#oauth, this.#secrets);
    this.#events = new TypedEmitter<CollectorEvents>((error, name) => {
      this.#log.error({ err: error, event: name }, 'an event listener threw; collection continues');
    });
    const emit: CollectorEventSink = (name, payload) => this.#events.emit(name, payload);
    this.#status = new MailboxStatusBook({ ledger: o.ledger, log: this.#log, now: this.#now, backoff, emit });
    this.#cycle = new CollectionCycle({
      directory: o.directory,
      ledger: o.ledger,
      queue: o.queue,
      log: this.#log,
      now: this.#now,
      concurrency: { global: o.concurrency?.global ?? 8, perHost: o.concurrency?.perHost ?? 2 },
      runSession: o.runSession ?? runSession,
      emit,
      authFor: o.authFor ?? ((_userId, entry) => defaultAuth(entry)),
      connection: o.connection,
      isOverQuota: o.isOverQuota,
      overQuotaAction: o.overQuotaAction,
      signal: () => this.#controller.signal,
      status: this.#status,
    });
    this.#schedule = new IntervalSchedule({
      readSettings: () => this.#directory.getSettings(),
      isStarted: () => this.#state === 'started',
      trigger: (run) => this.#trigger(run),
      collect: (settings) => this.#cycle.collect({}, settings),
      log: this.#log,
    });
    this.#entries = new EntryOperations({
      directory: this.#directory,
      ledger: this.#ledger,
      tokens: o.tokens,
      oauth: this.#oauth,
      log: this.#log,
      updateStatus: (mailboxId, update) => this.#status.updateStatus(mailboxId, update),
      waitForSession: (mailboxId) => this.#cycle.taskOf(mailboxId),
      forget: (mailboxId) => this.#status.forget(mailboxId),
    });
  }

  // ————— events —————

  /**
   * Adds a listener for a typed event; returns a function that removes it. A listener that
   * throws is logged and never disturbs collection.
   *
   * @example
   * <!-- doc-context declare const metrics: { inc(by: number): void }; -->
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
   * <!-- doc-context declare const onError: (e: CollectorEvents['mailbox:error']) => void; -->
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
   * Arms the schedule from the directory's settings (`settings.schedule`): the interval timer for `interval`
   * (`interval`), or the triggers `onRemoteMailProcessed` (`remote-cycle`/`remote-cycle` with `everyNth`) and `onUserCheckedMail` (`on-user-check`/`on-user-check` limits).
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
    await this.#schedule.arm();
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
    if (this.#state === 'started') await this.#schedule.arm();
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
    if (this.#state === 'stopped' && this.#inFlight.size === 0 && this.#cycle.pending().length === 0) return;
    this.#state = 'stopping';
    this.#schedule.disarm();
    this.#controller.abort(new MultiPopError('ABORTED', 'The fetcher is stopping'));
    const everything = async () => {
      // Loop: a cycle under way may still start tasks or status updates while we wait.
      while (this.#inFlight.size > 0 || this.#cycle.pending().length > 0) {
        await Promise.allSettled([...this.#inFlight, ...this.#cycle.pending()]);
      }
    };
    try {
      await raceAbort(everything(), options.signal);
    } finally {
      this.#state = 'stopped';
    }
  }

  /**
   * `remote-cycle`/`remote-cycle` with `everyNth`: the host calls this each time its own remote-mail cycle runs; every `everyNth`
   * call (per `settings.schedule`) collects everyone's mailboxes. Does nothing unless the
   * fetcher is started and the schedule mode is `remote-cycle`.
   *
   * Never rejects (failures are in the summaries and events), so a host may fire and forget.
   *
   * @example
   * <!-- doc-context declare const remoteMailCycle: { on(event: 'done', listener: () => void): void }; -->
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
      return this.#cycle.collect({}, settings);
    });
  }

  /**
   * `on-user-check`/`on-user-check` limits: the host calls this when a user checks local mail (POP3, IMAP, webmail login); the
   * user's entries are collected unless that user was collected `maxPerHour` times in the last
   * hour (sliding window) or less than `minMinutesBetween` minutes ago. New MultiPOP mail then
   * shows up at the user's next check. Does nothing unless started in `on-user-check` mode.
   *
   * Never rejects, so a host may fire and forget.
   *
   * @example
   * <!-- doc-context declare const imapServer: { on(event: 'login', listener: (session: { user: string }) => void): void }; -->
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
      return this.#cycle.collect({ userId }, settings);
    });
  }

  /**
   * `interval` "collect now": collects one entry, one user's entries, or everyone's, and resolves
   * with a summary per entry once all sessions are done. Honours `settings.enabled` (MultiPOP off → `[]`),
   * `user.enabled`, `entry.enabled`, needs-permission and over-quota; back-off too unless `force` is set.
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
    return this.#track(this.#cycle.collect(request));
  }

  /**
   * Resolves a mailbox paused with `IDENTITY_UNCERTAIN` (the server changed most of its UIDLs and
   * not every message could be confirmed by size and header fingerprint): runs one session of the
   * entry now, which applies `resolution` — `'rekey-matching'` re-keys what matches and collects
   * the rest as new, `'collect-as-new'` collects every message under an unknown UIDL as new (some
   * may be delivered a second time). Administrators only.
   *
   * @example
   * ```ts
   * const summary = await fetcher.resolveIdentity({ role: 'admin' }, 'ann-gmx', 'rekey-matching');
   * if (!summary.ok) console.warn(summary.error?.code);
   * ```
   * @throws MultiPopError `PERMISSION_DENIED` for a user actor, `NOT_FOUND`, `ABORTED` after stop()
   */
  async resolveIdentity(
    actor: Actor,
    mailboxId: string,
    resolution: IdentityResolution,
  ): Promise<MailboxSummary> {
    if (actor.role !== 'admin')
      throw new MultiPopError('PERMISSION_DENIED', 'Only an administrator may resolve a mailbox identity', {
        mailboxId,
        reason: 'admin-only',
      });
    if (resolution !== 'rekey-matching' && resolution !== 'collect-as-new')
      throw new MultiPopError('CONFIG_INVALID', 'resolution must be rekey-matching or collect-as-new', {
        field: 'resolution',
      });
    const [summary] = await this.collectNow({ mailboxId, force: true, identityResolution: resolution });
    if (!summary) throw new MultiPopError('NOT_FOUND', 'The entry was not collected', { mailboxId });
    return summary;
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
   * Adds a remote mailbox entry for `userId` . The input is validated (`parseMailboxEntry`);
   * an id is generated (`crypto.randomUUID()`) when none is given and never changes after.
   * A user may add only their own entries and only with `settings.enabled`, `user.enabled` and `user.mayEditSettings`; the administrator always.
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
   * Edits an entry : the patch is merged into the stored entry and validated. A patch
   * without `password` keeps the stored one (webmail never sees it). Editing clears a pending
   * back-off, so the corrected entry is tried at the next cycle.
   *
   * @example
   * ```ts
   * await fetcher.updateEntry({ role: 'admin' }, 'ann-gmx', { leaveOnServer: true, deleteAfterDays: 30 });
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
   * Enables or disables an entry (`entry.enabled`).
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
   * entries with `settings.enabled` and `user.enabled` (`user.mayEditSettings` is not needed to look, nor to grant OAuth permission).
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
   * with `settings.enabled` and `user.enabled`.
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
   * <!-- doc-context declare const req: { url: string }; declare const base: string; -->
   * ```ts
   * const { mailboxId } = await fetcher.completeGrant({ role: 'user', userId: 'ann' }, new URL(req.url, base));
   * ```
   * @throws MultiPopError `PERMISSION_DENIED`, `OAUTH_STATE_INVALID`, `OAUTH_ACCESS_DENIED`, `OAUTH_NOT_CONFIGURED`, …
   */
  completeGrant(actor: Actor, callback: OAuthCallbackInput): Promise<CompleteGrantResult> {
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
        await this.#status.markNeedsPermission(event.userId, event.mailboxId, host, error);
      })().catch((err) =>
        this.#log.error({ err, mailboxId: event.mailboxId }, 'could not record an OAuth event'),
      ),
    );
  }

  // ————— internals: the cycle —————

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
