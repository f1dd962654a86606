/**
 * `multipop/testing`: what an integrator needs to test an embedding of multipop.
 *
 * - An in-process **fake POP3 server** ({@link startFakePop3Server}) with capabilities,
 *   Gmail/Microsoft personalities and injectable faults (stalls, drops, `-ERR [IN-USE]`, …).
 * - The **contract suites** ({@link runLocalQueueContract}, {@link runLedgerContract},
 *   {@link runDirectoryContract}, {@link runTokenStoreContract}) to run against your own port
 *   implementations. They call vitest's `describe`/`it`/`expect`, so vitest (≥ 3.2) is an
 *   optional peer dependency of multipop: install it in the project that runs them.
 * - The **in-memory ports** (also exported by `multipop` itself) for the parts you don't test.
 * - A **fake clock** ({@link fakeClock}) for the `now` options.
 *
 * @example
 * ```ts
 * // my-queue.test.ts
 * import { runLocalQueueContract } from 'multipop/testing';
 * import { SpoolQueue } from './spool-queue.js';
 * runLocalQueueContract('spool queue', () => new SpoolQueue('/tmp/spool'));
 * ```
 *
 * @packageDocumentation
 * @module multipop/testing
 */

export {
  type MemoryQueue,
  type MemoryQueueOptions,
  memoryDirectory,
  memoryLedger,
  memoryQueue,
  memoryTokenStore,
  type StoredMessage,
} from '../stores/index.js';
export * from './contracts/index.js';
export { type FakeClock, fakeClock } from './fake-clock.js';
export * from './fake-pop3/index.js';
