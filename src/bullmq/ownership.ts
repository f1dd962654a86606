import { isMultiPopError, MultiPopError } from '../errors/index.js';
import type { Log } from '../log/index.js';
import type { Pop3ClientApi, Pop3ConnectOptions } from '../pop3/api.js';
import { Pop3Client } from '../pop3/client.js';
import type { LocalQueue, MailboxLease } from '../ports/index.js';

/**
 * A worker's hold on one remote mailbox for the length of one session: the PostgreSQL lease
 * (fencing every ledger write) plus the checks that fencing alone cannot make — the lease is
 * verified in the database right before every hand-off to the local queue, every DELE and the
 * QUIT that commits the DELEs, so a worker that woke from a pause past its lease stops before
 * doing any of them. A heartbeat renews the lease (and the fleet host slot) while the session
 * runs; when a renewal finds the lease taken, `signal` aborts with `LEASE_LOST` and every later
 * check throws it.
 *
 * @example
 * ```ts
 * const owner = new MailboxOwnership(lease, { renewEveryMs: 20_000, log, renewSlot });
 * try {
 *   await runSession({ ...options, queue: owner.guardQueue(queue), connect: owner.guardConnect(), signal: owner.signal });
 * } finally {
 *   await owner.end();
 * }
 * ```
 */
export class MailboxOwnership {
  readonly #lease: MailboxLease;
  readonly #log: Log;
  readonly #controller = new AbortController();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #renewSlot: () => Promise<unknown>;
  readonly #freshMs: number;
  #checking: Promise<void> | undefined;
  #lost: MultiPopError | undefined;

  constructor(
    lease: MailboxLease,
    options: { renewEveryMs: number; log: Log; renewSlot?: () => Promise<unknown> },
  ) {
    this.#lease = lease;
    // A quarter of the lease time (the heartbeat comes every third of it).
    this.#freshMs = (options.renewEveryMs * 3) / 4;
    this.#log = options.log;
    this.#renewSlot = options.renewSlot ?? (() => Promise.resolve());
    this.#heartbeat = setInterval(() => void this.#beat(), options.renewEveryMs);
    this.#heartbeat.unref?.();
  }

  /** The lease this ownership holds. */
  get lease(): MailboxLease {
    return this.#lease;
  }

  /** Aborts (with `LEASE_LOST`) when a renewal finds that another worker took the mailbox. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Verifies in the database that the lease is still this worker's (and extends it). Concurrent
   * calls share one round trip: each of them still waits for a check that ended after it was
   * asked for, so what it guards happens after a successful check.
   * @throws MultiPopError `LEASE_LOST`
   */
  verify(): Promise<void> {
    if (this.#lost) return Promise.reject(this.#lost);
    this.#checking ??= this.#freshCheck().then(
      () => {
        this.#checking = undefined;
      },
      (err: unknown) => {
        this.#checking = undefined;
        if (isMultiPopError(err, 'LEASE_LOST')) this.#lose(err);
        throw err;
      },
    );
    return this.#checking;
  }

  /**
   * A renewal counts only when its answer arrived soon after it was sent. The database extends
   * the lease at some instant between the two, so a quick answer means the lease still runs for
   * nearly its whole time when the caller acts. A slow one may be an answer that waited in the
   * socket while this process was paused (SIGSTOP, a long GC) — the lease may have run out and
   * been taken since — so it is asked again.
   */
  async #freshCheck(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const sent = performance.now();
      await this.#lease.renew();
      if (performance.now() - sent <= this.#freshMs) return;
      if (attempt >= 5)
        throw new MultiPopError('STORE_ERROR', 'The mailbox lease could not be confirmed in time', {
          leaseToken: this.#lease.token,
        });
    }
  }

  /** The local queue, with the lease verified before each hand-off. */
  guardQueue(queue: LocalQueue): LocalQueue {
    return {
      ...(queue.has ? { has: (key: string) => queue.has!(key) } : {}),
      // Checked twice: before the hand-off begins (for any queue), and by the queue right before
      // its point of no return (`beforeCommit`, for the queues that call it: Maildir, memory), so
      // a pause in the middle of the hand-off cannot deliver a second copy either.
      enqueue: async (message) => {
        await this.verify();
        const outer = message.beforeCommit;
        return queue.enqueue({
          ...message,
          beforeCommit: async () => {
            await outer?.();
            await this.verify();
          },
        });
      },
    };
  }

  /**
   * A POP3 connect function whose clients verify the lease before each DELE and the QUIT. The
   * connection is bound to {@link signal} only: losing the lease ends it at once, while the
   * session's own stop signal (a graceful shutdown) lets the message in flight finish.
   */
  guardConnect(
    connect: (options: Pop3ConnectOptions) => Promise<Pop3ClientApi> = (o) => Pop3Client.connect(o),
  ): (options: Pop3ConnectOptions) => Promise<Pop3ClientApi> {
    return async (options) =>
      guardedClient(await connect({ ...options, signal: this.signal }), () => this.verify());
  }

  /** Stops the heartbeat and gives the lease up (a lost lease is left alone). */
  async end(): Promise<void> {
    clearInterval(this.#heartbeat);
    if (this.#lost) return;
    await this.#lease
      .release()
      .catch((err: unknown) => this.#log.warn({ err }, 'could not release a mailbox lease'));
  }

  async #beat(): Promise<void> {
    try {
      await this.verify();
      await this.#renewSlot();
    } catch (err) {
      // A store that is briefly unreachable is not a lost lease: the fenced writes and the next
      // check decide. Only LEASE_LOST (recorded by verify) stops the session.
      if (!isMultiPopError(err, 'LEASE_LOST')) this.#log.warn({ err }, 'could not renew a mailbox lease');
    }
  }

  #lose(err: MultiPopError): void {
    if (this.#lost) return;
    this.#lost = err;
    this.#log.warn({ leaseToken: this.#lease.token }, 'lost the mailbox lease; stopping the session');
    this.#controller.abort(err);
  }
}

/** `client` with `check` awaited before every DELE and QUIT; everything else passes through. */
function guardedClient(client: Pop3ClientApi, check: () => Promise<void>): Pop3ClientApi {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'dele')
        return (msg: number) => {
          const sent = check().then(() => target.dele(msg));
          // The session collects DELE promises and awaits them before QUIT; one that fails after
          // the session already failed elsewhere must not become an unhandled rejection.
          sent.catch(() => undefined);
          return sent;
        };
      if (property === 'quit')
        return async () => {
          await check();
          return target.quit();
        };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
