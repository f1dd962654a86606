import type { SessionOptions, SessionResult } from '../../src/collect/session-api.js';
import { type MultiPopConfigInput, parseConfig, parseServer } from '../../src/config/index.js';
import type { MultiPopFetcherOptions } from '../../src/fetcher/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { memoryDirectory, memoryLedger, memoryQueue, memoryTokenStore } from '../../src/stores/index.js';

/** A result with `collected` messages of 100 bytes each. */
export const result = (collected = 0): SessionResult => ({
  collected,
  bytes: collected * 100,
  skipped: 0,
  deleted: 0,
  onServer: collected,
});

type Behaviour = (options: SessionOptions, call: number) => Promise<SessionResult> | SessionResult;

/**
 * A fake session runner: records every call and how many sessions ran at once — overall,
 * per host and per mailbox — and behaves as told per mailbox id.
 */
export class FakeSessions {
  readonly calls: SessionOptions[] = [];
  running = 0;
  maxRunning = 0;
  readonly maxPerHost = new Map<string, number>();
  readonly maxPerMailbox = new Map<string, number>();
  readonly #perHost = new Map<string, number>();
  readonly #perMailbox = new Map<string, number>();
  readonly #behaviours = new Map<string, Behaviour>();
  #default: Behaviour = () => result(1);
  // Waiters of untilRunning/untilCalls, checked whenever a session starts.
  readonly #waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

  /** Resolves once `n` sessions run at the same time (at once if they do now). */
  untilRunning(n: number): Promise<void> {
    return this.#until(() => this.running >= n);
  }

  /** Resolves once `n` sessions have started in all (at once if they have). */
  untilCalls(n: number): Promise<void> {
    return this.#until(() => this.calls.length >= n);
  }

  #until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) {
      if (!waiter.ready()) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  /** How the session of `mailboxId` (or every mailbox, with `'*'`) behaves. */
  when(mailboxId: string | '*', behaviour: Behaviour): this {
    if (mailboxId === '*') this.#default = behaviour;
    else this.#behaviours.set(mailboxId, behaviour);
    return this;
  }

  callsFor(mailboxId: string): SessionOptions[] {
    return this.calls.filter((c) => c.entry.id === mailboxId);
  }

  readonly run = async (options: SessionOptions): Promise<SessionResult> => {
    this.calls.push(options);
    const host = parseServer(options.entry.server).host;
    const id = options.entry.id;
    const bump = (map: Map<string, number>, max: Map<string, number>, key: string, by: number) => {
      const n = (map.get(key) ?? 0) + by;
      map.set(key, n);
      if (by > 0) max.set(key, Math.max(max.get(key) ?? 0, n));
    };
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    bump(this.#perHost, this.maxPerHost, host, 1);
    bump(this.#perMailbox, this.maxPerMailbox, id, 1);
    this.#wake();
    try {
      const behaviour = this.#behaviours.get(id) ?? this.#default;
      return await behaviour(options, this.callsFor(id).length);
    } finally {
      this.running--;
      bump(this.#perHost, this.maxPerHost, host, -1);
      bump(this.#perMailbox, this.maxPerMailbox, id, -1);
    }
  };
}

/** A password entry on `host`. */
export const entry = (id: string, host = 'pop.example.com', extra: Record<string, unknown> = {}) => ({
  id,
  server: `${host}:995`,
  username: id,
  password: 'secret-password',
  ...extra,
});

/** A fetcher over in-memory ports with a fake session runner. */
export function setup(config: MultiPopConfigInput, options: Partial<MultiPopFetcherOptions> = {}) {
  const directory = memoryDirectory(parseConfig(config));
  const ledger = memoryLedger();
  const queue = memoryQueue();
  const tokens = memoryTokenStore();
  const sessions = new FakeSessions();
  const fetcher = new MultiPopFetcher({
    directory,
    ledger,
    queue,
    tokens,
    runSession: sessions.run,
    backoff: { random: () => 1 },
    ...options,
  });
  return { fetcher, directory, ledger, queue, tokens, sessions };
}

/** Resolves after `ms` real milliseconds: a session that takes time, never a wait for a state. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once every promise continuation queued so far has run (one turn of the event loop,
 * no timer): for work that follows an awaited call without an event of its own.
 */
export const drainMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));
