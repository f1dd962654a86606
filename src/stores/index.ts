/**
 * The port implementations multipop ships: in memory (tests, small embeds) and the Maildir queue.
 * The SQLite store lives in its own entry point, `multipop/sqlite`.
 *
 * @packageDocumentation
 */

export { recipientFolderName } from './maildir/names.js';
export { type MaildirQueue, type MaildirQueueOptions, maildirQueue } from './maildir-queue.js';
export { memoryDirectory } from './memory/directory.js';
export { memoryLedger } from './memory/ledger.js';
export {
  type MemoryQueue,
  type MemoryQueueOptions,
  memoryQueue,
  type StoredMessage,
} from './memory/queue.js';
export { memoryTokenStore } from './memory/token-store.js';
