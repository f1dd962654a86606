import { isMultiPopError, MultiPopError } from '../../errors/index.js';
import type {
  EnqueueResult,
  LocalQueue,
  MessageMetadata,
  MessageSource,
  QueuedMessage,
} from '../../ports/index.js';
import { chunkBytes, drain } from '../content-stream.js';

/** A message the {@link memoryQueue} accepted: its exact bytes with the envelope. */
export interface StoredMessage {
  /** The id `enqueue` resolved with (`mem-1`, `mem-2`, …). */
  id: string;
  /** The exact bytes read from `message.content`. */
  content: Buffer;
  recipient: string;
  source: MessageSource;
  uidl: string;
  idempotencyKey: string;
  remoteSize: number;
  /** What `message.metadata()` returned, or undefined when it failed or was turned off. */
  metadata?: MessageMetadata;
  /** When the queue accepted it (ms since epoch). */
  acceptedAt: number;
}

/** Options of {@link memoryQueue}. */
export interface MemoryQueueOptions {
  /**
   * Called after the bytes were read and before the message is accepted; throwing refuses the
   * message (enqueue rejects with `QUEUE_REJECTED`, the error as cause). For fault-injection
   * tests: "the queue refuses every third message".
   */
  beforeAccept?(message: Readonly<StoredMessage>): void | Promise<void>;
  /**
   * Call `message.metadata()` and keep the result.
   * @default true
   */
  metadata?: boolean;
}

/** The in-memory {@link LocalQueue}: for tests and small embeds. */
export interface MemoryQueue extends LocalQueue {
  /** Reads the message into memory and keeps it (see {@link memoryQueue}). */
  enqueue(message: QueuedMessage): Promise<EnqueueResult>;
  has(idempotencyKey: string): Promise<boolean>;
  /** Copies of the accepted messages, in the order they were accepted. */
  readonly messages: StoredMessage[];
  /** Forgets every message and key. */
  clear(): void;
}

/**
 * An in-memory {@link LocalQueue}. It reads each message into a Buffer, keeps it with its
 * envelope and metadata, and is idempotent on `idempotencyKey`: a key it already holds resolves
 * with the first id, and the new stream is drained, not stored. Values are copied in and out.
 *
 * @example
 * <!-- doc-context import { expect } from 'vitest'; -->
 * ```ts
 * const queue = memoryQueue();
 * const fetcher = new MultiPopFetcher({ directory, ledger, queue });
 * await fetcher.collectNow();
 * // The remote bytes, after the trace headers multipop puts in front (Received:, X-MultiPOP-Source:).
 * expect(queue.messages[0]?.content.toString('latin1').endsWith('Subject: hi\r\n\r\nx\r\n')).toBe(true);
 * ```
 */
export function memoryQueue(options: MemoryQueueOptions = {}): MemoryQueue {
  // Accepted messages in order; `byKey` indexes them. Both only change together, synchronously.
  const accepted: StoredMessage[] = [];
  const byKey = new Map<string, StoredMessage>();
  let sequence = 0;

  async function enqueue(message: QueuedMessage): Promise<EnqueueResult> {
    const earlier = byKey.get(message.idempotencyKey);
    if (earlier) {
      await drain(message.content);
      return { id: earlier.id };
    }
    let stored: StoredMessage;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of message.content) chunks.push(chunkBytes(chunk)); // concat below copies
      stored = {
        id: '',
        content: Buffer.concat(chunks),
        recipient: message.recipient,
        source: { ...message.source },
        uidl: message.uidl,
        idempotencyKey: message.idempotencyKey,
        remoteSize: message.remoteSize,
        acceptedAt: 0,
      };
      if (options.metadata !== false) {
        const metadata = await message.metadata().catch(() => undefined);
        if (metadata) stored.metadata = copyMetadata(metadata);
      }
      await options.beforeAccept?.(copyStored(stored));
      await message.beforeCommit?.();
    } catch (err) {
      message.content.destroy();
      if (isMultiPopError(err, 'QUEUE_REJECTED')) throw err;
      throw new MultiPopError(
        'QUEUE_REJECTED',
        'The memory queue did not accept the message',
        { mailboxId: message.source.mailboxId },
        { cause: err },
      );
    }
    // Another enqueue of the same key may have finished while this one was reading.
    const winner = byKey.get(message.idempotencyKey);
    if (winner) return { id: winner.id };
    stored.id = `mem-${++sequence}`;
    stored.acceptedAt = Date.now();
    accepted.push(stored);
    byKey.set(stored.idempotencyKey, stored);
    return { id: stored.id };
  }

  return {
    enqueue,
    async has(idempotencyKey) {
      return byKey.has(idempotencyKey);
    },
    get messages() {
      return accepted.map(copyStored);
    },
    clear() {
      accepted.length = 0;
      byKey.clear();
    },
  };
}

function copyStored(message: StoredMessage): StoredMessage {
  const copy: StoredMessage = {
    ...message,
    content: Buffer.from(message.content),
    source: { ...message.source },
  };
  if (message.metadata) copy.metadata = copyMetadata(message.metadata);
  return copy;
}

function copyMetadata(metadata: MessageMetadata): MessageMetadata {
  const copy: MessageMetadata = { ...metadata };
  if (metadata.date) copy.date = new Date(metadata.date.getTime());
  return copy;
}
