/**
 * Contract test suites for multipop's ports. Run them from your own vitest files against your
 * implementations (they call vitest's `describe`/`it`/`expect`):
 *
 * ```ts
 * import { runLedgerContract } from 'multipop/testing';
 * runLedgerContract('my ledger', () => new MyLedger());
 * ```
 *
 * @packageDocumentation
 */
export { runDirectoryContract } from './directory.js';
export type { ContractFactory, ContractHarness } from './harness.js';
export { runLedgerContract } from './ledger.js';
export { type HeldMessage, type LocalQueueHarness, runLocalQueueContract } from './local-queue.js';
export { makeQueuedMessage, type QueuedMessageInput } from './queued-message.js';
export { runTokenStoreContract } from './token-store.js';
