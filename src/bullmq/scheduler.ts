import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CollectorEventName, CollectorEvents } from '../collect/events.js';
import type { ServerSettings, UserSettings } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { MailboxSummary } from '../fetcher/cycle.js';
import { IntervalSchedule, RemoteCycleCounter, UserCheckLimiter } from '../fetcher/schedule.js';
import { type FetcherStatistics, summarizeStatuses } from '../fetcher/statistics.js';
import { type Listener, TypedEmitter } from '../fetcher/typed-emitter.js';
import { createLog, type Log, type Logger, silentLogger } from '../log/index.js';
import type { CollectionLedger, MailboxDirectory, MailboxStatus } from '../ports/index.js';
import { decodeFleetEvent } from './fleet-events.js';
import { type CollectJobData, type FleetNames, fleetNames, jobIdOf, type ResolvedNames } from './names.js';
import { connectRedis } from './redis.js';

/** Options of a {@link MultiPopScheduler}. */
export interface MultiPopSchedulerOptions extends FleetNames {
  /** Redis of the fleet (the same as the workers'). */
  redis: string;
  /** The shared directory: which users and entries exist, and the schedule (`settings.schedule`). */
  directory: MailboxDirectory;
  /** The shared ledger, read only: statuses for `statistics()` and for re-filling a Redis that came back empty. */
  ledger: CollectionLedger;
  logger?: Logger;
  /** Clock (ms since epoch). @default Date.now */
  now?: () => number;
}

/** Which mailboxes a {@link MultiPopScheduler.collectNow} asks for; without fields: everyone's. */
export interface FleetCollectRequest {
  userId?: string;
  mailboxId?: string;
  /** Ignore back-off (a delayed job of the mailbox is promoted to run now). @default false */
  force?: boolean;
}

/** How many jobs a trigger asked for. */
export interface EnqueueResult {
  /** Mailboxes selected (enabled entries of enabled users). */
  mailboxes: number;
}

const BULK = 500;

/**
 * The scheduler of a collector fleet. It turns the schedule (`settings.schedule`) and the host's
 * triggers into BullMQ jobs — one job per remote mailbox, its id derived from the entry id, so a
 * trigger for a mailbox that already has a job waiting, delayed or running joins that job — and
 * brings the host the fleet's events and statistics. Run one per fleet (a second one only adds
 * jobs that are deduplicated anyway).
 *
 * If Redis comes back empty (a restart without persistence), the scheduler notices at the
 * reconnect and enqueues again every mailbox not collected successfully since the last pass
 * began, so no mailbox waits for the next interval because its job was lost.
 *
 * @example
 * <!-- doc-context
 * declare const store: import('multipop/postgres').PostgresStore;
 * declare function alert(mailboxId: string, code: string): void;
 * declare const imap: { on(event: 'login', listener: (user: string) => void): void };
 * -->
 * ```ts
 * import { MultiPopScheduler } from 'multipop/bullmq';
 *
 * const scheduler = new MultiPopScheduler({ redis: 'redis://redis.internal:6379', directory: store.directory, ledger: store.ledger });
 * scheduler.on('mailbox:error', ({ mailboxId, error }) => alert(mailboxId, error.code));
 * await scheduler.start();                                   // the interval schedule
 * imap.on('login', (user) => void scheduler.onUserCheckedMail(user));
 * await scheduler.collectNow({ mailboxId: 'ann-gmx', force: true });
 * ```
 */
export class MultiPopScheduler {
  readonly #o: MultiPopSchedulerOptions;
  readonly #names: ResolvedNames;
  readonly #log: Log;
  readonly #now: () => number;
  readonly #events: TypedEmitter<CollectorEvents>;
  readonly #remoteCycles = new RemoteCycleCounter();
  readonly #userChecks = new UserCheckLimiter();
  readonly #schedule: IntervalSchedule;
  #redis: Redis | undefined;
  #subscriber: Redis | undefined;
  #queue: Queue<CollectJobData> | undefined;
  #started = false;
  // When the last pass over everyone began: a Redis that lost its jobs gets back the mailboxes not collected since.
  #passStartedAt: number | undefined;

  /** @throws MultiPopError `CONFIG_INVALID` naming the missing option */
  constructor(options: MultiPopSchedulerOptions) {
    for (const field of ['redis', 'directory', 'ledger'] as const) {
      if (!options[field])
        throw new MultiPopError('CONFIG_INVALID', `The scheduler needs ${field}`, { field });
    }
    this.#o = options;
    this.#names = fleetNames(options);
    this.#log = createLog(options.logger ?? silentLogger, { component: 'multipop-scheduler' });
    this.#now = options.now ?? Date.now;
    this.#events = new TypedEmitter<CollectorEvents>((error, name) => {
      this.#log.error({ err: error, event: name }, 'an event listener threw');
    });
    this.#schedule = new IntervalSchedule({
      readSettings: () => this.#o.directory.getSettings(),
      isStarted: () => this.#started,
      trigger: (run) => run().catch((err) => this.#log.error({ err }, 'a scheduled pass failed')),
      collect: async (settings) => {
        await this.#enqueueUsers(await this.#o.directory.listUsers(), settings, false, true);
        return [] as MailboxSummary[];
      },
      log: this.#log,
    });
  }

  /**
   * Adds a listener for the events of every worker's sessions (over Redis pub/sub: events while
   * the scheduler is disconnected are not replayed); returns a function that removes it.
   *
   * @example
   * <!-- doc-context declare const metrics: { inc(mailboxId: string, by: number): void }; -->
   * ```ts
   * scheduler.on('message:collected', ({ mailboxId, size }) => metrics.inc(mailboxId, size));
   * ```
   */
  on<K extends CollectorEventName>(name: K, listener: Listener<CollectorEvents[K]>): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Connects to Redis, subscribes to the fleet's events and arms the schedule from the
   * directory's settings.
   *
   * @example
   * ```ts
   * await scheduler.start();
   * ```
   */
  async start(): Promise<void> {
    await this.#connect();
    this.#started = true;
    this.#remoteCycles.reset();
    await this.#schedule.arm();
  }

  /**
   * Re-reads the schedule now (after a change of `settings.schedule`).
   *
   * @example
   * ```ts
   * await scheduler.reload();
   * ```
   */
  async reload(): Promise<void> {
    if (this.#started) await this.#schedule.arm();
  }

  /**
   * "Collect now": one job per selected mailbox (joined when it already has one); with `force`,
   * a mailbox's delayed job (back-off) is moved forward to run now. Works before `start()` too.
   *
   * @example
   * ```ts
   * await scheduler.collectNow({ userId: 'ann@example.com', force: true });
   * ```
   * @throws MultiPopError `NOT_FOUND` for an unknown user or entry
   */
  async collectNow(request: FleetCollectRequest = {}): Promise<EnqueueResult> {
    await this.#connect();
    const settings = await this.#o.directory.getSettings();
    const users = await this.#select(request);
    const everyone = request.userId === undefined && request.mailboxId === undefined;
    return this.#enqueueUsers(users, settings, request.force === true, everyone);
  }

  /**
   * `remote-cycle` schedule: the host calls this after each of its own remote-mail cycles; every
   * `everyNth` call enqueues everyone's mailboxes. Nothing unless started in that mode.
   *
   * @example
   * <!-- doc-context declare const remoteMailCycle: { on(event: 'done', listener: () => void): void }; -->
   * ```ts
   * remoteMailCycle.on('done', () => void scheduler.onRemoteMailProcessed());
   * ```
   */
  async onRemoteMailProcessed(): Promise<EnqueueResult> {
    const settings = await this.#o.directory.getSettings();
    if (!this.#started || settings.schedule.mode !== 'remote-cycle') return { mailboxes: 0 };
    if (!this.#remoteCycles.tick(settings.schedule.everyNth)) return { mailboxes: 0 };
    return this.#enqueueUsers(await this.#o.directory.listUsers(), settings, false, true);
  }

  /**
   * `on-user-check` schedule: the host calls this when a user checks local mail; the user's
   * mailboxes are enqueued within the schedule's limits (`maxPerHour`, `minMinutesBetween`).
   *
   * @example
   * <!-- doc-context declare const imapServer: { on(event: 'login', listener: (s: { user: string }) => void): void }; -->
   * ```ts
   * imapServer.on('login', (session) => void scheduler.onUserCheckedMail(session.user));
   * ```
   */
  async onUserCheckedMail(userId: string): Promise<EnqueueResult> {
    const settings = await this.#o.directory.getSettings();
    const schedule = settings.schedule;
    if (!this.#started || schedule.mode !== 'on-user-check') return { mailboxes: 0 };
    if (!this.#userChecks.tryAcquire(userId, this.#now(), schedule)) return { mailboxes: 0 };
    const user = await this.#o.directory.getUser(userId);
    return user ? this.#enqueueUsers([user], settings, false, false) : { mailboxes: 0 };
  }

  /**
   * The fleet's statistics, from the per-mailbox statuses every worker stores in the shared ledger.
   *
   * @example
   * ```ts
   * const { totals } = await scheduler.statistics();
   * ```
   */
  async statistics(): Promise<FetcherStatistics> {
    return summarizeStatuses(await this.#o.ledger.listStatus());
  }

  /**
   * Jobs not finished yet: waiting, running, or delayed (back-off, a full host, a lease still
   * held).
   *
   * @example
   * ```ts
   * const { waiting, active, delayed } = await scheduler.jobCounts();
   * ```
   */
  async jobCounts(): Promise<{ waiting: number; active: number; delayed: number }> {
    await this.#connect();
    const counts = await this.#queue!.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return {
      waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
      active: counts['active'] ?? 0,
      delayed: counts['delayed'] ?? 0,
    };
  }

  /**
   * Disarms the schedule and closes the Redis connections (jobs already enqueued stay).
   *
   * @example
   * ```ts
   * await scheduler.stop();
   * ```
   */
  async stop(): Promise<void> {
    this.#started = false;
    this.#schedule.disarm();
    await this.#queue?.close().catch(() => undefined);
    await this.#subscriber?.quit().catch(() => undefined);
    await this.#redis?.quit().catch(() => undefined);
    this.#queue = undefined;
    this.#subscriber = undefined;
    this.#redis = undefined;
  }

  async #connect(): Promise<void> {
    if (this.#queue) return;
    const redis = connectRedis(this.#o.redis, 'multipop-scheduler');
    redis.on('error', (err) => this.#log.warn({ err }, 'redis connection error'));
    const subscriber = connectRedis(this.#o.redis, 'multipop-scheduler-events');
    subscriber.on('error', (err) => this.#log.debug({ err }, 'redis subscriber error'));
    subscriber.on('message', (_channel: string, text: string) => {
      const event = decodeFleetEvent(text);
      if (event) this.#events.emit(event.name, event.payload as never);
    });
    await subscriber.subscribe(this.#names.events);
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#queue = new Queue<CollectJobData>(this.#names.queueName, {
      connection: redis,
      prefix: this.#names.prefix,
    });
    await redis.set(this.#names.epoch, String(this.#now()), 'NX');
    // After every reconnect: an epoch key gone means Redis came back empty and lost its jobs.
    redis.on('ready', () => void this.#refillIfEmptied());
  }

  async #refillIfEmptied(): Promise<void> {
    try {
      const fresh = await this.#redis?.set(this.#names.epoch, String(this.#now()), 'NX');
      if (fresh !== 'OK' || this.#passStartedAt === undefined) return;
      const since = this.#passStartedAt;
      const statuses = new Map((await this.#o.ledger.listStatus()).map((s) => [s.mailboxId, s]));
      const settings = await this.#o.directory.getSettings();
      const users = (await this.#o.directory.listUsers()).map((user) => ({
        ...user,
        entries: user.entries.filter((e) => notCollectedSince(statuses.get(e.id), since)),
      }));
      const { mailboxes } = await this.#enqueueUsers(users, settings, false, false);
      this.#log.warn({ mailboxes }, 'redis came back empty; enqueued again the mailboxes it lost');
    } catch (err) {
      this.#log.error({ err }, 'could not re-enqueue the mailboxes after redis came back empty');
    }
  }

  async #select(request: FleetCollectRequest): Promise<UserSettings[]> {
    const directory = this.#o.directory;
    if (request.mailboxId !== undefined) {
      const location = await directory.getEntry(request.mailboxId);
      const user = location && (await directory.getUser(location.userId));
      if (!user || (request.userId !== undefined && location.userId !== request.userId))
        throw new MultiPopError('NOT_FOUND', 'No such mailbox entry', { mailboxId: request.mailboxId });
      return [{ ...user, entries: user.entries.filter((e) => e.id === request.mailboxId) }];
    }
    if (request.userId !== undefined) {
      const user = await directory.getUser(request.userId);
      if (!user) throw new MultiPopError('NOT_FOUND', 'No such user', { userId: request.userId });
      return [user];
    }
    return directory.listUsers();
  }

  // One job per enabled entry of an enabled user (MultiPOP switched off: none). The worker makes
  // every other check (back-off, permissions, quota) when the job runs, on the current state.
  async #enqueueUsers(
    users: readonly UserSettings[],
    settings: ServerSettings,
    force: boolean,
    wholePass: boolean,
  ): Promise<EnqueueResult> {
    if (!settings.enabled) return { mailboxes: 0 };
    if (wholePass) this.#passStartedAt = this.#now();
    await this.#connect();
    const queue = this.#queue!;
    const ids = users
      .filter((u) => u.enabled)
      .flatMap((u) => u.entries.filter((e) => e.enabled).map((e) => e.id));
    for (let i = 0; i < ids.length; i += BULK) {
      const chunk = ids.slice(i, i + BULK);
      await queue.addBulk(
        chunk.map((mailboxId) => ({
          name: 'collect',
          data: force ? { mailboxId, force } : { mailboxId },
          opts: { jobId: jobIdOf(mailboxId), removeOnComplete: true, removeOnFail: true },
        })),
      );
      if (force) await Promise.all(chunk.map((id) => this.#promote(queue, id)));
    }
    return { mailboxes: ids.length };
  }

  async #promote(queue: Queue<CollectJobData>, mailboxId: string): Promise<void> {
    // The job that already existed keeps its data: it learns here that this run is forced.
    const job = await queue.getJob(jobIdOf(mailboxId));
    if (!job || !(await job.isDelayed())) return;
    await job.updateData({ ...job.data, force: true });
    await job.promote().catch(() => undefined); // it may have started meanwhile
  }
}

/** True unless the mailbox's last session succeeded after `since` and left no retry pending. */
function notCollectedSince(status: MailboxStatus | undefined, since: number): boolean {
  if (!status || status.lastSuccessAt === undefined || status.lastSuccessAt < since) return true;
  return status.nextAttemptAt !== undefined;
}
