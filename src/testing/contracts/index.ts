/**
 * Contract suites for multipop's ports, framework-free: each `…Contract(name, factory)` collects
 * its cases into a {@link Contract}, which {@link runContract} runs on its own (a plain `node`
 * script) and {@link registerContract} hands to any framework with `describe`/`it` (Jest, mocha,
 * `node:test`, vitest). `multipop/testing/vitest` registers them with vitest in one call.
 *
 * ```ts
 * import { ledgerContract, runContract } from 'multipop/testing';
 * const report = await runContract(ledgerContract('my ledger', () => new MyLedger()));
 * ```
 *
 * @packageDocumentation
 */
export { directoryContract } from './directory.js';
export type { ContractFactory, ContractHarness } from './harness.js';
export { ledgerContract } from './ledger.js';
export { type HeldMessage, type LocalQueueHarness, localQueueContract } from './local-queue.js';
export { makeQueuedMessage, type QueuedMessageInput } from './queued-message.js';
export {
  type Contract,
  type ContractReport,
  registerContract,
  runContract,
  type TestFramework,
} from './suite.js';
export { tokenStoreContract } from './token-store.js';
