import { memoryDirectory, memoryLedger, memoryQueue, memoryTokenStore } from '../../src/stores/index.js';
import {
  runDirectoryContract,
  runLedgerContract,
  runLocalQueueContract,
  runTokenStoreContract,
} from '../../src/testing/vitest.js';

runLocalQueueContract('memoryQueue', {
  create: () => memoryQueue(),
  messages: async (queue) => queue.messages.map(({ id, content }) => ({ id, content })),
});
runLedgerContract('memoryLedger', () => memoryLedger());
runDirectoryContract('memoryDirectory', () => memoryDirectory());
runTokenStoreContract('memoryTokenStore', () => memoryTokenStore());
