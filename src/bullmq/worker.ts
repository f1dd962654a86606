import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CollectorEventName, CollectorEventSink, CollectorEvents } from '../collect/events.js';
import { runSession } from '../collect/session.js';
import type { SessionOptions } from '../collect/session-api.js';
import { parseServer } from '../config/index.js';
import { MultiPopError, toMultiPopError } from '../errors/index.js';
import { defaultAuthSelection } from '../fetcher/auth-selection.js';
import { type BackoffPolicy, defaultBackoff, failureDelayMs } from '../fetcher/backoff.js';
import { CollectionCycle, type MailboxSummary } from '../fetcher/cycle.js';
import { MailboxStatusBook } from '../fetcher/mailbox-status-book.js';
import { type Listener, TypedEmitter } from '../fetcher/typed-emitter.js';
import { createLog, type Log, SecretRegistry, silentLogger } from '../log/index.js';
import { fleetEventPublisher } from './fleet-events.js';
import { FleetHostSlots } from './host-slots.js';
import { type CollectJobData, fleetNames, type ResolvedNames } from './names.js';
import { MailboxOwnership } from './ownership.js';
import { connectRedis } from './redis.js';
import type { MultiPopWorkerOptions } from './worker-options.js';

/** What a collection job ended with (the job's return value in BullMQ). */
export interface CollectJobResult {
  mailboxId: string;
  /** The session's summary; absent when the entry no longer exists. */
  summary?: MailboxSummary;
}

/**
 * A worker of a collector fleet: takes collection jobs (one per remote mailbox, see
 * `MultiPopScheduler`) from BullMQ and runs each as one session of the ordinary collector
 * (`runSession` under the fetcher's own cycle: the same checks, back-off and status), with
 *
 * - **exactly one owner**: the session holds its mailbox's PostgreSQL lease, every ledger and
 *   status write is fenced by the lease's token, and the lease is verified in the database right
 *   before each hand-off to the local queue, each DELE and the QUIT (docs/scale-out.md has the
 *   argument why no interleaving loses or duplicates a message);
 * - **fleet-wide host limits**: a Redis semaphore per remote host (`perHost` over all workers),
 *   whose slots expire, so a dead worker's slot comes back;
 * - **delayed jobs** for back-off, `[IN-USE]`, LOGIN-DELAY, a full host and a lease still held;
 * - **events for the host** on a Redis channel (`FleetEvents`), besides `on()` here.
 *
 * @example
 * ```ts
 * import { openPostgresStore } from 'multipop/postgres';
 * import { MultiPopWorker } from 'multipop/bullmq';
 *
 * const store = await openPostgresStore({ url: process.env.DATABASE_URL!, key: process.env.MULTIPOP_KEY! });
 * const worker = new MultiPopWorker({
 *   redis: 'redis://redis.internal:6379',
 *   directory: store.directory,
 *   leases: store.leases,
 *   queue: maildirQueue({ root: '/var/mail/incoming' }),
 * });
 * await worker.start();
 * process.once('SIGTERM', () => void worker.stop().then(() => store.close()));
 * ```
 */
export class MultiPopWorker {
  readonly #o: MultiPopWorkerOptions;
  readonly #names: ResolvedNames;
  readonly #log: Log;
  readonly #secrets = new SecretRegistry();
  readonly #events: TypedEmitter<CollectorEvents>;
  readonly #id: string;
  readonly #leaseMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #stopping = new AbortController();
  #redis: Redis | undefined;
  #worker: Worker<CollectJobData, CollectJobResult> | undefined;
  #slots: FleetHostSlots | undefined;
  #publish: CollectorEventSink | undefined;

  /** @throws MultiPopError `CONFIG_INVALID` naming the bad option */
  constructor(options: MultiPopWorkerOptions) {
    for (const field of ['redis', 'directory', 'leases', 'queue'] as const) {
      if (!options[field]) throw new MultiPopError('CONFIG_INVALID', `The worker needs ${field}`, { field });
    }
    this.#o = options;
    this.#names = fleetNames(options);
    this.#id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#log = createLog(
      options.logger ?? silentLogger,
      { component: 'multipop-worker', worker: this.#id },
      this.#secrets,
    );
    this.#leaseMs = options.leaseMs ?? 120_000;
    this.#backoff = { ...defaultBackoff, ...stripUndefined(options.backoff ?? {}) };
    this.#events = new TypedEmitter<CollectorEvents>((error, name) => {
      this.#log.error({ err: error, event: name }, 'an event listener threw; collection continues');
    });
  }

  /** The name this worker holds leases under. */
  get id(): string {
    return this.#id;
  }

  /**
   * Adds a listener for the events of this worker's sessions; returns a function that removes
   * it. (The host hears every worker's events through `FleetEvents`.)
   *
   * @example
   * <!-- doc-context declare const metrics: { inc(mailboxId: string, by: number): void }; -->
   * ```ts
   * worker.on('message:collected', ({ mailboxId, size }) => metrics.inc(mailboxId, size));
   * ```
   */
  on<K extends CollectorEventName>(name: K, listener: Listener<CollectorEvents[K]>): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Connects to Redis and starts taking jobs.
   *
   * @example
   * ```ts
   * await worker.start();
   * ```
   */
  async start(): Promise<void> {
    if (this.#worker) return;
    const redis = connectRedis(this.#o.redis, `multipop-worker:${this.#id}`);
    redis.on('error', (err) => this.#log.warn({ err }, 'redis connection error'));
    this.#redis = redis;
    this.#slots = new FleetHostSlots(redis, this.#names.hostSlots, this.#o.perHost ?? 2, this.#leaseMs);
    this.#publish = fleetEventPublisher(redis, this.#names.events, this.#id, (err) =>
      this.#log.debug({ err }, 'could not publish an event'),
    );
    const lockMs = this.#o.lockMs ?? 30_000;
    const worker = new Worker<CollectJobData, CollectJobResult>(
      this.#names.queueName,
      (job, token) => this.#processSafely(job, token),
      {
        connection: redis,
        prefix: this.#names.prefix,
        concurrency: this.#o.concurrency ?? 8,
        lockDuration: lockMs,
        stalledInterval: this.#o.stalledCheckMs ?? lockMs,
        // A job whose worker died is always run again: the lease, not a count, keeps it safe.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        removeOnComplete: { count: 0 },
        // A failed job would keep its id and so block every later job of its mailbox.
        removeOnFail: { count: 0 },
      },
    );
    worker.on('error', (err) => this.#log.warn({ err }, 'worker error'));
    worker.on('failed', (job, err) =>
      this.#log.error({ err, job: job?.id, mailboxId: job?.data.mailboxId }, 'a collection job failed'),
    );
    this.#worker = worker;
    await worker.waitUntilReady();
  }

  /**
   * Stops gracefully: no new jobs are taken; each running session finishes the message in
   * flight, sends DELE and QUIT, records its status and gives its job back to the queue (another
   * worker runs it), then the lease and the host slot are released.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void worker.stop());
   * ```
   */
  async stop(): Promise<void> {
    this.#stopping.abort(new MultiPopError('ABORTED', 'The worker is stopping'));
    // Jobs whose lock this worker lost (it was paused) make BullMQ complain at close; they run elsewhere.
    await this.#worker?.close().catch((err: unknown) => this.#log.warn({ err }, 'closing the BullMQ worker'));
    this.#worker = undefined;
    await this.#redis?.quit().catch(() => undefined);
    this.#redis = undefined;
  }

  #emit: CollectorEventSink = (name, payload) => {
    this.#events.emit(name, payload);
    this.#publish?.(name, payload);
  };

  // A job must never fail: a failed job would be removed and its mailbox left out until the next
  // pass. Anything unexpected (the store unreachable before the session began) delays it instead.
  async #processSafely(
    job: Job<CollectJobData, CollectJobResult>,
    token: string | undefined,
  ): Promise<CollectJobResult> {
    try {
      return await this.#process(job, token);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      const error = toMultiPopError(err, 'STORE_ERROR', 'The collection job failed');
      this.#log.warn(
        { err: error, mailboxId: job.data.mailboxId },
        'collection job failed; trying again later',
      );
      return delay(job, token, Date.now() + failureDelayMs(1, error, this.#backoff));
    }
  }

  async #process(
    job: Job<CollectJobData, CollectJobResult>,
    token: string | undefined,
  ): Promise<CollectJobResult> {
    const { mailboxId, force } = job.data;
    const location = await this.#o.directory.getEntry(mailboxId);
    if (!location) return { mailboxId };
    const entry = location.entry;
    const address = parseServer(entry.server, entry.tls);
    const log = this.#log.child({ mailboxId, job: job.id });
    const slots = this.#slots!;
    const slotHolder = `${this.#id}:${job.id}`;
    if (this.#stopping.signal.aborted) return delay(job, token, Date.now());
    if (!(await slots.take(address.host, slotHolder))) {
      const retry = this.#o.hostRetryMs ?? 1_000;
      return delay(job, token, Date.now() + retry + Math.random() * retry);
    }
    let outcome: SessionOutcome;
    try {
      const attempt = await this.#o.leases.acquire(
        leaseKeyOf(address, entry.username),
        this.#id,
        this.#leaseMs,
      );
      // Someone else's session of this maildrop is live (a killed worker's lease not yet expired).
      if (!attempt.acquired) return delay(job, token, Date.now() + attempt.retryInMs + 50);
      const owner = new MailboxOwnership(attempt.lease, {
        renewEveryMs: this.#leaseMs / 3,
        log,
        renewSlot: () => slots.renew(address.host, slotHolder),
      });
      try {
        outcome = await this.#collect(owner, mailboxId, force === true, log);
      } finally {
        await owner.end();
      }
    } finally {
      await slots.give(address.host, slotHolder).catch(() => undefined);
    }
    return this.#finish(job, token, outcome, log);
  }

  // One session of the mailbox through the fetcher's own cycle, every write fenced by the lease.
  async #collect(
    owner: MailboxOwnership,
    mailboxId: string,
    force: boolean,
    log: Log,
  ): Promise<SessionOutcome> {
    const ledger = owner.lease.ledger;
    const status = new MailboxStatusBook({
      ledger,
      log,
      now: this.#now,
      backoff: this.#backoff,
      emit: this.#emit,
    });
    const defaultAuth = defaultAuthSelection(this.#o.oauth, this.#secrets);
    const signal = AbortSignal.any([this.#stopping.signal, owner.signal]);
    const cycle = new CollectionCycle({
      directory: this.#o.directory,
      ledger,
      queue: owner.guardQueue(this.#o.queue),
      log,
      now: this.#now,
      concurrency: { global: 1, perHost: 1 },
      runSession: (options: SessionOptions) =>
        runSession({ ...options, connect: owner.guardConnect(options.connect) }),
      emit: this.#emit,
      authFor: this.#o.authFor ?? ((_userId, entry) => defaultAuth(entry)),
      connection: this.#o.connection,
      isOverQuota: this.#o.isOverQuota,
      overQuotaAction: this.#o.overQuotaAction,
      signal: () => signal,
      status,
    });
    const [found] = await cycle.collect({ mailboxId, force });
    await Promise.allSettled(cycle.pending());
    const summary = found ?? { mailboxId, userId: '', ok: false, skipped: 'entry-disabled' };
    if (summary.ok) return { summary };
    // When to try again, as the status book just decided (back-off, [IN-USE], LOGIN-DELAY).
    const stored = await ledger.loadStatus(mailboxId).catch((err: unknown) => {
      log.debug({ err }, 'could not read the mailbox status');
      return undefined;
    });
    return {
      summary,
      ...(stored?.nextAttemptAt === undefined ? {} : { nextAttemptAt: stored.nextAttemptAt }),
    };
  }

  // What the job does next: done, or delayed until the mailbox is due (back-off, [IN-USE],
  // LOGIN-DELAY), or given back at once (this worker is stopping).
  async #finish(
    job: Job<CollectJobData, CollectJobResult>,
    token: string | undefined,
    { summary, nextAttemptAt }: SessionOutcome,
    log: Log,
  ): Promise<CollectJobResult> {
    const code = summary.error?.code;
    // Stopping: the session ended after the message in flight; the rest is for another worker.
    if (this.#stopping.signal.aborted || code === 'ABORTED') return delay(job, token, Date.now());
    // Another worker owns the mailbox now (BullMQ gave it the job); nothing more to do here.
    if (code === 'LEASE_LOST') return { mailboxId: summary.mailboxId, summary };
    if (summary.skipped === 'backoff' || summary.error) {
      // A failure whose status could not be stored (the store was unreachable) still waits.
      const at = nextAttemptAt ?? Date.now() + failureDelayMs(1, summary.error ?? UNKNOWN, this.#backoff);
      log.debug({ at, code }, 'collection delayed');
      return delay(job, token, at);
    }
    return { mailboxId: summary.mailboxId, summary };
  }

  #now = (): number => (this.#o.now ?? Date.now)();
}

/**
 * The lease key of a remote maildrop: host (lower-case), port and logon name — the same maildrop
 * whichever entry names it. The name is percent-encoded so the key is unambiguous (and free of
 * the NUL that PostgreSQL text cannot hold).
 */
export function leaseKeyOf(address: { host: string; port: number }, username: string): string {
  return `${address.host.toLowerCase()}:${address.port}/${encodeURIComponent(username)}`;
}

/** Moves the running job to BullMQ's delayed set (the same job, run again at `at`). */
async function delay(job: Job, token: string | undefined, at: number): Promise<never> {
  await job.moveToDelayed(Math.round(at), token);
  throw new DelayedError();
}

/** A session's summary and when its mailbox is due again (unset: whenever the schedule says). */
interface SessionOutcome {
  summary: MailboxSummary;
  nextAttemptAt?: number;
}

const UNKNOWN = new MultiPopError('STORE_ERROR', 'The session failed');

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
