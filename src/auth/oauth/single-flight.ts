/**
 * Runs at most one task per key at a time: callers that arrive while a task for their key is
 * running get its promise instead of starting another (one token refresh for ten concurrent
 * sessions of the same mailbox, not ten).
 *
 * @example
 * ```ts
 * const flights = new SingleFlight<string>();
 * const [a, b] = await Promise.all([flights.run('m1', refresh), flights.run('m1', refresh)]); // one refresh
 * ```
 */
export class SingleFlight<T> {
  /** Key → the running task; removed as soon as it settles, so a later call starts afresh. */
  readonly #running = new Map<string, Promise<T>>();

  run(key: string, task: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key);
    if (running) return running;
    const started = (async () => task())().finally(() => {
      if (this.#running.get(key) === started) this.#running.delete(key);
    });
    this.#running.set(key, started);
    return started;
  }

  /** True while a task for `key` runs. */
  has(key: string): boolean {
    return this.#running.has(key);
  }
}
