/**
 * Every case of the LocalQueue contract can fail: a small queue that keeps its promise passes
 * the whole suite, and each deliberately broken copy of it — one defect apiece, the mistakes a
 * real queue makes — fails the case written for that defect. Together the defects fail every case.
 */
import type { Readable } from 'node:stream';
import { type HeldMessage, localQueueContract } from 'multipop/testing';
import { describe, it } from 'vitest';
import type { LocalQueue, QueuedMessage } from '../../../src/ports/index.js';
import { expectEveryCaseCanFail } from './mutants.js';

type Defect =
  | 'empty id'
  | 'resolves before reading'
  | 'rewrites bare LF'
  | 'keeps only the first MiB'
  | 'keeps a broken stream'
  | 'remembers a failed key'
  | 'no deduplication'
  | 'deduplicates by content'
  | 'one buffer for all messages'
  | 'one failure fails all in flight'
  | 'checks the key before reading, records it after'
  | 'has() says yes to anything'
  | 'forgets keys on reopen';

interface TestQueue extends LocalQueue {
  held: HeldMessage[];
  has(key: string): Promise<boolean>;
}

async function read(content: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An in-memory queue, correct unless given a defect. */
function testQueue(defect?: Defect): TestQueue {
  const held: HeldMessage[] = [];
  const byKey = new Map<string, string>();
  let batch: { failed?: Error; committed: Promise<void> } | undefined;
  const newBatch = () => {
    const created: { failed?: Error; committed: Promise<void> } = {
      committed: new Promise((resolve, reject) =>
        setTimeout(() => {
          batch = undefined;
          if (created.failed) reject(created.failed);
          else resolve();
        }, 20),
      ),
    };
    created.committed.catch(() => {});
    return created;
  };
  let shared: Buffer[] = [];
  let n = 0;
  const queue: TestQueue = {
    held,
    async has(key) {
      return defect === 'has() says yes to anything' || byKey.has(key);
    },
    async enqueue(message: QueuedMessage) {
      const key = message.idempotencyKey;
      if (defect === 'resolves before reading') {
        const id = `q-${++n}`;
        byKey.set(key, id);
        return { id };
      }
      const known = defect === 'checks the key before reading, records it after' ? byKey.get(key) : undefined;
      let content: Buffer;
      try {
        if (defect === 'one buffer for all messages') {
          shared = [];
          for await (const chunk of message.content) {
            shared.push(chunk as Buffer);
            await new Promise((done) => setImmediate(done));
          }
          content = Buffer.concat(shared);
        } else if (defect === 'one failure fails all in flight') {
          // Group commit gone wrong: what arrives within 20 ms is committed, or refused, together.
          batch ??= newBatch();
          const joined = batch;
          content = await read(message.content).catch((error: Error) => {
            joined.failed = error;
            return Buffer.alloc(0);
          });
          await joined.committed;
        } else {
          content = await read(message.content);
        }
      } catch (error) {
        if (defect === 'remembers a failed key') byKey.set(key, `q-${++n}`);
        if (defect !== 'keeps a broken stream') throw error;
        content = Buffer.alloc(0);
      }
      const already =
        defect === 'checks the key before reading, records it after'
          ? known
          : defect === 'no deduplication'
            ? undefined
            : defect === 'deduplicates by content'
              ? held.find((m) => m.content.equals(content))?.id
              : byKey.get(key);
      if (already !== undefined) return { id: already };
      if (defect === 'rewrites bare LF')
        content = Buffer.from(content.toString('latin1').replace(/(?<!\r)\n/g, '\r\n'), 'latin1');
      if (defect === 'keeps only the first MiB') content = content.subarray(0, 1024 * 1024);
      if (defect === 'empty id') return { id: '' };
      const id = `q-${++n}`;
      held.push({ id, content });
      byKey.set(key, id);
      return { id };
    },
  };
  return queue;
}

const contract = (defect?: Defect) =>
  localQueueContract(defect ?? 'correct', {
    create: () => testQueue(defect),
    messages: async (queue) => queue.held,
    reopen: (queue) => (defect === 'forgets keys on reopen' ? testQueue() : queue),
  });

describe('the LocalQueue contract fails each defect at its case', () => {
  it('passes the correct queue, fails every broken one, and every case fails for some defect', async () => {
    await expectEveryCaseCanFail(contract, {
      'empty id': 'accepts a message and resolves with an id once the stream is consumed',
      'resolves before reading': 'accepts a message and resolves with an id once the stream is consumed',
      'rewrites bare LF': 'keeps every byte',
      'keeps only the first MiB': 'streams a 4 MiB message through intact',
      'keeps a broken stream': 'rejects when the content stream fails',
      'remembers a failed key': 'accepts a retry after a failed attempt',
      'no deduplication': 'accepts the same idempotency key once',
      'deduplicates by content': 'keeps messages with different keys apart',
      'one buffer for all messages': 'accepts many messages enqueued at once',
      'one failure fails all in flight': 'a failing message among concurrent ones rejects alone',
      'checks the key before reading, records it after': 'the same key enqueued concurrently gives one copy',
      'has() says yes to anything': 'has(key) answers for accepted keys only',
      'forgets keys on reopen': 'remembers accepted keys across a reopen',
    });
  });
});
