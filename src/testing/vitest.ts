/**
 * `multipop/testing/vitest`: the port contract suites registered with vitest in one call — the
 * only part of the test kit that needs a test framework (vitest ≥ 3.2, an optional peer
 * dependency). Everything else, and the same suites for other frameworks, is in
 * `multipop/testing` (`registerContract`, `runContract`).
 *
 * @example
 * ```ts
 * // my-queue.contract.test.ts
 * import { runLocalQueueContract } from 'multipop/testing/vitest';
 * import { SpoolQueue } from './spool-queue.js';
 * runLocalQueueContract('spool queue', () => new SpoolQueue('/tmp/spool'));
 * ```
 *
 * @packageDocumentation
 * @module multipop/testing/vitest
 */
import { describe, it } from 'vitest';
import type { CollectionLedger, LocalQueue, MailboxDirectory, TokenStore } from '../ports/index.js';
import {
  type ContractFactory,
  directoryContract,
  type LocalQueueHarness,
  ledgerContract,
  localQueueContract,
  registerContract,
  tokenStoreContract,
} from './contracts/index.js';

const vitest = { describe, it };

/**
 * Registers the `localQueueContract` (from `multipop/testing`) cases with vitest.
 *
 * @example
 * <!-- doc-context declare const MtaQueue: new (spool: string) => LocalQueue & { list(): Promise<HeldMessage[]> }; declare function testSpool(): string; -->
 * ```ts
 * runLocalQueueContract('MTA queue', { create: () => new MtaQueue(testSpool()), messages: (q) => q.list() });
 * ```
 */
export function runLocalQueueContract<Q extends LocalQueue>(
  name: string,
  factory: ContractFactory<Q> | LocalQueueHarness<Q>,
): void {
  registerContract(localQueueContract(name, factory), vitest);
}

/**
 * Registers the `ledgerContract` (from `multipop/testing`) cases with vitest.
 *
 * @example
 * <!-- doc-context declare const PgLedger: { create(schema: string): Promise<CollectionLedger & { dropSchema(): Promise<void> }> }; declare function testSchema(): string; -->
 * ```ts
 * runLedgerContract('pg ledger', { create: () => PgLedger.create(testSchema()), dispose: (l) => l.dropSchema() });
 * ```
 */
export function runLedgerContract<L extends CollectionLedger>(
  name: string,
  factory: ContractFactory<L>,
): void {
  registerContract(ledgerContract(name, factory), vitest);
}

/**
 * Registers the `directoryContract` (from `multipop/testing`) cases with vitest.
 *
 * @example
 * <!-- doc-context declare const AccountsDirectory: new (db: unknown) => MailboxDirectory; declare function testDb(): unknown; -->
 * ```ts
 * runDirectoryContract('accounts directory', () => new AccountsDirectory(testDb()));
 * ```
 */
export function runDirectoryContract<D extends MailboxDirectory>(
  name: string,
  factory: ContractFactory<D>,
): void {
  registerContract(directoryContract(name, factory), vitest);
}

/**
 * Registers the `tokenStoreContract` (from `multipop/testing`) cases with vitest.
 *
 * @example
 * <!-- doc-context declare const VaultTokenStore: new (vault: unknown) => TokenStore; declare function testVault(): unknown; -->
 * ```ts
 * runTokenStoreContract('vault tokens', () => new VaultTokenStore(testVault()));
 * ```
 */
export function runTokenStoreContract<S extends TokenStore>(name: string, factory: ContractFactory<S>): void {
  registerContract(tokenStoreContract(name, factory), vitest);
}
