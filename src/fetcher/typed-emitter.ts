/** A listener for one event of an event map. */
export type Listener<Payload> = (payload: Payload) => void;

/**
 * A small synchronous event emitter typed by an event map (`{ name: payload }`).
 *
 * Unlike `node:events`, a listener that throws never reaches the emitter: the error goes to
 * `onListenerError` and the other listeners still run. Collection must never stop because a
 * host's progress bar or metrics hook has a bug.
 *
 * @example
 * ```ts
 * const events = new TypedEmitter<{ tick: { n: number } }>((err) => console.error(err));
 * events.on('tick', ({ n }) => console.log(n));
 * events.emit('tick', { n: 1 });
 * ```
 */
export class TypedEmitter<Events extends object> {
  // name → listeners in registration order; a `once` listener is stored as its wrapper.
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  // original once-listener → its wrapper, so `off(name, original)` removes a pending once.
  readonly #onceWrappers = new Map<Listener<never>, Listener<never>>();
  readonly #onListenerError: (error: unknown, event: keyof Events) => void;

  /** @param onListenerError receives whatever a listener throws (log it). */
  constructor(onListenerError: (error: unknown, event: keyof Events) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  /** Adds a listener that runs for the next event only. */
  once<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    const wrapper: Listener<Events[K]> = (payload) => {
      this.off(name, listener);
      listener(payload);
    };
    this.#onceWrappers.set(listener as Listener<never>, wrapper as Listener<never>);
    return this.on(name, wrapper);
  }

  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof Events>(name: K, listener: Listener<Events[K]>): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    const wrapper = this.#onceWrappers.get(listener as Listener<never>);
    if (wrapper) {
      this.#onceWrappers.delete(listener as Listener<never>);
      set.delete(wrapper);
    }
    set.delete(listener as Listener<never>);
    if (set.size === 0) this.#listeners.delete(name);
  }

  /** Number of listeners for an event (for tests and diagnostics). */
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  /** Calls every listener of `name` in order; a throwing listener is reported, not propagated. */
  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    // Copy: a listener may add or remove listeners while we iterate.
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        this.#onListenerError(error, name);
      }
    }
  }
}
