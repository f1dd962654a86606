/**
 * `multipop/testing`: what an integrator needs to test an embedding of multipop — with no test
 * framework (ESM and CommonJS builds; runs under vitest, Jest, mocha, `node:test` or plain `node`).
 *
 * - An in-process **fake POP3 server** ({@link startFakePop3Server}) with capabilities,
 *   Gmail/Microsoft personalities and injectable faults (stalls, drops, `-ERR [IN-USE]`, …).
 * - The **contract suites** ({@link localQueueContract}, {@link ledgerContract},
 *   {@link directoryContract}, {@link tokenStoreContract}) to run against your own port
 *   implementations: {@link runContract} runs one and returns a report, {@link registerContract}
 *   hands its cases to your framework's `describe`/`it`. For vitest, `multipop/testing/vitest`
 *   registers them in one call (`runLocalQueueContract(…)`).
 * - The **in-memory ports** (also exported by `multipop` itself) for the parts you don't test.
 * - A **fake clock** ({@link fakeClock}) for the `now` options.
 *
 * @example
 * ```ts
 * // check-queue.ts — no test framework
 * import { localQueueContract, memoryQueue, runContract } from 'multipop/testing';
 * const report = await runContract(localQueueContract('memory queue', () => memoryQueue()));
 * if (!report.ok) throw new Error(report.failed.map((f) => f.name).join('\n'));
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
