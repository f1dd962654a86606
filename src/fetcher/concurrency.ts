import PQueue from 'p-queue';

/** How many sessions may run at once. */
export interface ConcurrencyOptions {
  /**
   * Sessions running at once over all remote servers.
   * @default 8
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, concurrency: { global: 32 } });
   * ```
   */
  global?: number;
  /**
   * Sessions running at once against one remote host (by host name), so a big provider is not
   * hit with all of a host's users at the same moment (many limit connections per client IP).
   * @default 2
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, concurrency: { perHost: 4 } });
   * ```
   */
  perHost?: number;
}

/**
 * Runs tasks under two limits at once: a global one and one per remote host.
 *
 * A task first takes a slot of its host's queue, then a global slot. That order matters: a
 * task waiting for a global slot holds only a slot of its own host, so a busy host never
 * keeps tasks for other hosts out of the global slots (the reverse order would let eight
 * tasks for one host sit on all global slots while only two of them may run).
 *
 * Host queues are created on first use and dropped when idle, so a host with thousands of
 * distinct remote servers does not keep a queue per server forever.
 *
 * @example
 * ```ts
 * const slots = new SessionSlots({ global: 8, perHost: 2 });
 * await slots.run('pop.gmail.com', () => collect(entry));
 * ```
 */
export class SessionSlots {
  readonly #global: PQueue;
  readonly #perHost: number;
  // host (lower-case) → its queue; present only while it has tasks waiting or running.
  readonly #hosts = new Map<string, PQueue>();

  constructor(options: { global: number; perHost: number }) {
    this.#global = new PQueue({ concurrency: options.global });
    this.#perHost = options.perHost;
  }

  /** Runs `task` when both a slot for `host` and a global slot are free. */
  run<T>(host: string, task: () => Promise<T>): Promise<T> {
    const key = host.toLowerCase();
    let queue = this.#hosts.get(key);
    if (!queue) {
      const created = new PQueue({ concurrency: this.#perHost });
      created.on('idle', () => {
        if (this.#hosts.get(key) === created && created.size === 0 && created.pending === 0)
          this.#hosts.delete(key);
      });
      this.#hosts.set(key, created);
      queue = created;
    }
    return queue.add(() => this.#global.add(task)) as Promise<T>;
  }

  /** Sessions running now (holding a global slot). */
  get running(): number {
    return this.#global.pending;
  }

  /** Host queues that exist now (each has work waiting or running). */
  get activeHosts(): number {
    return this.#hosts.size;
  }
}

/** Identifies one remote maildrop: the same host, port and logon name is the same mailbox. */
export function remoteMailboxKey(address: { host: string; port: number }, username: string): string {
  return `${address.host.toLowerCase()}:${address.port}\u0000${username}`;
}

/**
 * Guarantees at most one session per remote maildrop (POP3 locks the maildrop; a second login
 * would fail with `[IN-USE]` or, worse, race the first one's deletions).
 *
 * - A request for an entry that is already waiting or running **joins** it: it gets the same
 *   promise, and no second session is started.
 * - A request for a *different* entry that names the same remote maildrop (two local users
 *   collecting one shared mailbox) waits until the running one is finished, then runs.
 *
 * @example
 * ```ts
 * const locks = new MailboxLocks<Summary>();
 * const { promise, joined } = locks.run(key, entry.id, () => collect(entry));
 * ```
 */
export class MailboxLocks<T> {
  // remote key → its tasks in order: the first runs, each later one waits for the one before.
  readonly #tasks = new Map<string, { mailboxId: string; promise: Promise<T> }[]>();

  /** Starts (or joins) the task of `mailboxId` on the maildrop `key`. */
  run(key: string, mailboxId: string, task: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const line = this.#tasks.get(key) ?? [];
    const same = line.find((t) => t.mailboxId === mailboxId);
    if (same) return { promise: same.promise, joined: true };
    const last = line.at(-1);
    const promise = last ? last.promise.then(noop, noop).then(task) : task();
    const record = { mailboxId, promise };
    line.push(record);
    this.#tasks.set(key, line);
    const release = () => {
      const index = line.indexOf(record);
      if (index >= 0) line.splice(index, 1);
      if (line.length === 0 && this.#tasks.get(key) === line) this.#tasks.delete(key);
    };
    promise.then(release, release);
    return { promise, joined: false };
  }

  /** The promise of the entry's task, when one is waiting or running. */
  taskOf(mailboxId: string): Promise<T> | undefined {
    for (const line of this.#tasks.values()) {
      const found = line.find((t) => t.mailboxId === mailboxId);
      if (found) return found.promise;
    }
    return undefined;
  }

  /** Every task waiting or running now. */
  all(): Promise<T>[] {
    return [...this.#tasks.values()].flatMap((line) => line.map((t) => t.promise));
  }
}

function noop(): void {}
