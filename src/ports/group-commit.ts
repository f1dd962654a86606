/**
 * A group commit: many callers share one run of an expensive flush (an `fsync`, a database
 * commit). The function returned resolves once a run of `flush` that **began after the call**
 * has finished, so whatever the caller wrote before calling is covered by it. While one run is in
 * progress, every call joins the next run, which starts as soon as the current one ends — so
 * however many callers arrive, at most one run is in progress and one is waiting, and a caller
 * waits for at most two runs.
 *
 * A run that fails rejects every caller of that run (each then knows its write is not durable);
 * the next run is unaffected.
 *
 * This is how the Maildir queue lets concurrent `enqueue` calls share their directory syncs, and
 * how the SQLite ledger lets concurrent `apply` calls share one WAL sync; a host's own queue can
 * use it the same way.
 *
 * @example
 * ```ts
 * import { open } from 'node:fs/promises';
 * import { groupCommit } from 'multipop/ports';
 * const syncSpool = groupCommit(async () => {
 *   const dir = await open('/var/spool/mine', 'r');
 *   try { await dir.sync(); } finally { await dir.close(); }
 * });
 * // in enqueue: write and sync the file, rename it into the spool, then
 * await syncSpool(); // shared with every enqueue that renamed in the meantime
 * ```
 */
export function groupCommit(flush: () => Promise<void>): () => Promise<void> {
  /** The run in progress, if any. */
  let running: Promise<void> | undefined;
  /** The callers waiting for the next run (it starts when `running` ends). */
  let next: Promise<void> | undefined;

  const start = (): Promise<void> => {
    const run = Promise.resolve().then(flush);
    running = run;
    const clear = () => {
      if (running === run) running = undefined;
    };
    run.then(clear, clear);
    return run;
  };

  return () => {
    if (next) return next;
    if (!running) return start();
    const after = running;
    const queued = after.then(
      () => undefined,
      () => undefined,
    );
    next = queued.then(() => {
      next = undefined;
      return start();
    });
    return next;
  };
}

/**
 * One {@link groupCommit} per key (a directory path): `sync(key)` resolves once a flush of that
 * key that began after the call has finished. Keys nobody waits on are forgotten.
 *
 * @example
 * <!-- doc-context declare function fsyncDirectory(dir: string): Promise<void>; -->
 * ```ts
 * const syncDir = keyedGroupCommit((dir) => fsyncDirectory(dir));
 * await Promise.all([syncDir('/m/new'), syncDir('/m/new'), syncDir('/k/0a')]); // 2 fsyncs
 * ```
 */
export function keyedGroupCommit(flush: (key: string) => Promise<void>): (key: string) => Promise<void> {
  const commits = new Map<string, { request: () => Promise<void>; waiting: number }>();
  return async (key) => {
    let commit = commits.get(key);
    if (!commit) {
      commit = { request: groupCommit(() => flush(key)), waiting: 0 };
      commits.set(key, commit);
    }
    commit.waiting++;
    try {
      await commit.request();
    } finally {
      if (--commit.waiting === 0 && commits.get(key) === commit) commits.delete(key);
    }
  };
}

/**
 * Runs the calls for one key one after another (each starts when the previous one for that key
 * settled, whatever its outcome) and calls for different keys at once. Keys with nothing
 * running are forgotten. The Maildir queue runs the operations on one idempotency key this way;
 * the LMTP/SMTP hand-off, the deliveries to one recipient.
 *
 * @example
 * ```ts
 * const serial = keyedSerial();
 * await Promise.all([serial('ann', deliverA), serial('ann', deliverB), serial('bob', deliverC)]);
 * // deliverB starts after deliverA settled; deliverC ran beside them
 * ```
 */
export function keyedSerial(): <T>(key: string, work: () => Promise<T>) => Promise<T> {
  /** Per key, the tail of the calls on it. */
  const tails = new Map<string, Promise<unknown>>();
  return (key, work) => {
    const previous = tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return current;
  };
}
