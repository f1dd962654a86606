import { afterEach, beforeEach } from './suite.js';

/**
 * How a contract suite gets instances of the implementation under test.
 *
 * @example
 * <!-- doc-context declare class PgLedger implements CollectionLedger { constructor(pool: unknown, schema: string); readonly schema: string; dropSchema(): Promise<void>; load: CollectionLedger['load']; apply: CollectionLedger['apply']; clear: CollectionLedger['clear']; loadStatus: CollectionLedger['loadStatus']; saveStatus: CollectionLedger['saveStatus']; listStatus: CollectionLedger['listStatus'] } declare const pool: unknown; -->
 * ```ts
 * runLedgerContract('my ledger', {
 *   create: () => new PgLedger(pool, `test_${randomUUID()}`),
 *   dispose: (ledger) => ledger.dropSchema(),
 *   reopen: (ledger) => new PgLedger(pool, ledger.schema), // same data, new handle
 * });
 * ```
 */
export interface ContractHarness<T> {
  /** A fresh, empty instance for one test. */
  create(): T | Promise<T>;
  /** Frees what `create` (or `reopen`) made: close files, drop tables, remove temp dirs. */
  dispose?(instance: T): void | Promise<void>;
  /**
   * Optional: closes `instance` and opens the same data again, as after a restart. When given,
   * the suite also checks that data survives a reopen.
   */
  reopen?(instance: T): T | Promise<T>;
}

/** A harness, or just a function that makes a fresh instance. */
export type ContractFactory<T> = (() => T | Promise<T>) | ContractHarness<T>;

/** The current test's instance, made fresh for each test. */
export interface Subject<T> {
  (): T;
  /** Reopens the instance (see {@link ContractHarness.reopen}); undefined when not supported. */
  reopen: (() => Promise<T>) | undefined;
}

export function toHarness<T>(factory: ContractFactory<T>): ContractHarness<T> {
  return typeof factory === 'function' ? { create: factory } : factory;
}

/** Registers beforeEach/afterEach hooks that create and dispose one instance per test. */
export function useSubject<T>(harness: ContractHarness<T>): Subject<T> {
  let current: { value: T } | undefined;
  beforeEach(async () => {
    current = { value: await harness.create() };
  });
  afterEach(async () => {
    if (current) await harness.dispose?.(current.value);
    current = undefined;
  });
  const subject = (() => {
    if (!current) throw new Error('contract subject used outside a test');
    return current.value;
  }) as Subject<T>;
  subject.reopen = harness.reopen
    ? async () => {
        if (!current) throw new Error('contract subject used outside a test');
        current = { value: await harness.reopen!(current.value) };
        return current.value;
      }
    : undefined;
  return subject;
}
