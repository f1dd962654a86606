import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { LocalQueue } from '../../ports/index.js';
import { expect } from './expect.js';
import { type ContractFactory, type ContractHarness, toHarness, useSubject } from './harness.js';
import { makeQueuedMessage } from './queued-message.js';
import { type Contract, defineContract, describe, it, skip } from './suite.js';

const NEEDS_READ_BACK = 'needs harness.messages to read back what the queue holds';

/** A message the queue under test holds, as its harness reads it back. */
export interface HeldMessage {
  id: string;
  content: Buffer;
}

/** A {@link ContractHarness} for queues, with an optional way to read back what was accepted. */
export interface LocalQueueHarness<Q extends LocalQueue> extends ContractHarness<Q> {
  /**
   * Every message the queue now holds. Without it, the suite cannot check bytes or copies and
   * skips those tests (it still checks acceptance, rejection, stream handling and `has`).
   */
  messages?(queue: Q): Promise<HeldMessage[]>;
}

/**
 * The {@link LocalQueue} contract: exact bytes (8-bit, NUL, bare CR and LF, dot lines, any chunk
 * boundaries, several MiB), streams consumed on success and consumed or destroyed on failure, a
 * failed stream rejects and leaves nothing behind, the same idempotency key twice gives one
 * copy (also after a reopen and when both calls run at once), and `has` when implemented. It
 * also enqueues many messages at once — the collection session keeps several in flight so a
 * queue can share its syncs between them (group commit) — and checks that each is accepted
 * once and intact, and that one failure among them rejects only its own call.
 *
 * @example
 * <!-- doc-context declare const MtaQueue: new (spool: string) => LocalQueue & { listSpool(): Promise<HeldMessage[]> }; declare function testSpool(): string; -->
 * ```ts
 * // test/my-queue.contract.test.ts
 * import { runLocalQueueContract } from 'multipop/testing/vitest';
 * runLocalQueueContract('MTA queue', {
 *   create: () => new MtaQueue(testSpool()),
 *   messages: async (queue) => queue.listSpool(),
 * });
 * ```
 */
export function localQueueContract<Q extends LocalQueue>(
  name: string,
  factory: ContractFactory<Q> | LocalQueueHarness<Q>,
): Contract {
  return defineContract(() => localQueueCases(name, factory));
}

function localQueueCases<Q extends LocalQueue>(
  name: string,
  factory: ContractFactory<Q> | LocalQueueHarness<Q>,
): void {
  const harness = toHarness(factory) as LocalQueueHarness<Q>;
  const readBack = harness.messages;

  describe(`LocalQueue contract: ${name}`, () => {
    const queue = useSubject(harness);
    const held = async () => (readBack ? readBack(queue()) : []);

    it('accepts a message and resolves with an id once the stream is consumed', async () => {
      const message = makeQueuedMessage({
        content: Buffer.from('Subject: hello\r\n\r\nbody\r\n'),
        idempotencyKey: 'k-accept',
      });
      const result = await queue().enqueue(message);
      expect(typeof result.id).toBe('string');
      expect(result.id.length).toBeGreaterThan(0);
      expect(message.content.readableEnded).toBe(true);
    });

    it.skipIf(!readBack, NEEDS_READ_BACK)(
      'keeps every byte: 8-bit, NUL, bare CR and LF, dot lines, odd chunk boundaries',
      async () => {
        const bytes = trickyBytes();
        const chunks = splitAt(bytes, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377]);
        const { id } = await queue().enqueue(
          makeQueuedMessage({ content: chunks, idempotencyKey: 'k-bytes' }),
        );
        const found = (await held()).filter((m) => m.id === id);
        expect(found).toHaveLength(1);
        expect(found[0]!.content.equals(bytes)).toBe(true);
      },
    );

    it.skipIf(!readBack, NEEDS_READ_BACK)('streams a 4 MiB message through intact', async () => {
      const size = 4 * 1024 * 1024;
      const expected = createHash('sha256');
      const content = Readable.from(
        (function* () {
          let produced = 0;
          let n = 0;
          while (produced < size) {
            const chunk = Buffer.alloc(Math.min(65_521, size - produced), n++ % 256);
            chunk[0] = 0x0d;
            chunk[chunk.length - 1] = 0x0a;
            expected.update(chunk);
            produced += chunk.length;
            yield chunk;
          }
        })(),
        { objectMode: false },
      );
      const { id } = await queue().enqueue(
        makeQueuedMessage({ content, idempotencyKey: 'k-large', remoteSize: size }),
      );
      const found = (await held()).find((m) => m.id === id);
      expect(found?.content.length).toBe(size);
      expect(createHash('sha256').update(found!.content).digest('hex')).toBe(expected.digest('hex'));
    });

    it('rejects when the content stream fails, and destroys (or consumes) the stream', async () => {
      const content = failingStream(
        Buffer.from('Subject: cut short\r\n\r\npartial'),
        new Error('connection reset'),
      );
      const message = makeQueuedMessage({ content, idempotencyKey: 'k-fail' });
      await expect(queue().enqueue(message)).rejects.toBeInstanceOf(Error);
      expect(content.destroyed || content.readableEnded).toBe(true);
      if (queue().has) expect(await queue().has!('k-fail')).toBe(false);
      if (readBack) expect(await held()).toHaveLength(0);
    });

    it('accepts a retry after a failed attempt with the same key (read back: once, byte for byte)', async () => {
      const bytes = Buffer.from('Subject: second try\r\n\r\nwhole body\r\n');
      const first = failingStream(bytes.subarray(0, 10), new Error('connection reset'));
      await expect(
        queue().enqueue(makeQueuedMessage({ content: first, idempotencyKey: 'k-retry' })),
      ).rejects.toBeInstanceOf(Error);
      const { id } = await queue().enqueue(makeQueuedMessage({ content: bytes, idempotencyKey: 'k-retry' }));
      if (queue().has) expect(await queue().has!('k-retry')).toBe(true);
      if (readBack) {
        const all = await held();
        expect(all).toHaveLength(1);
        expect(all[0]!.id).toBe(id);
        expect(all[0]!.content.equals(bytes)).toBe(true);
      }
    });

    it('accepts the same idempotency key once: the second enqueue resolves with the first id and adds no copy', async () => {
      const bytes = Buffer.from('Subject: once\r\n\r\nonly once\r\n');
      const first = await queue().enqueue(makeQueuedMessage({ content: bytes, idempotencyKey: 'k-once' }));
      const again = makeQueuedMessage({ content: bytes, idempotencyKey: 'k-once' });
      const second = await queue().enqueue(again);
      // A queue without read-back still shows a second copy: it gets an id of its own.
      expect(second.id).toBe(first.id);
      expect(again.content.destroyed || again.content.readableEnded).toBe(true);
      if (readBack) expect(await held()).toHaveLength(1);
    });

    it('keeps messages with different keys apart, even with the same bytes and for other recipients', async () => {
      const bytes = Buffer.from('Subject: twin\r\n\r\nsame\r\n');
      const a = await queue().enqueue(
        makeQueuedMessage({ content: bytes, idempotencyKey: 'k-a', recipient: 'ann@example.com' }),
      );
      const b = await queue().enqueue(
        makeQueuedMessage({ content: bytes, idempotencyKey: 'k-b', recipient: 'ann@example.com' }),
      );
      const c = await queue().enqueue(
        makeQueuedMessage({ content: bytes, idempotencyKey: 'k-c', recipient: 'bob@example.com' }),
      );
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
      if (readBack) expect((await held()).map((m) => m.id).sort()).toEqual([a.id, b.id, c.id].sort());
    });

    it('accepts many messages enqueued at once (a session keeps several in flight), each once and intact', async () => {
      const messages = Array.from({ length: 24 }, (_, i) =>
        Buffer.from(`Subject: batch ${i}\r\n\r\n${'x'.repeat(i * 97)}\r\n`),
      );
      const results = await Promise.all(
        messages.map((content, i) =>
          queue().enqueue(
            makeQueuedMessage({
              content: splitAt(content, [7, 64, 3]),
              idempotencyKey: `k-batch-${i}`,
              recipient: i % 3 === 0 ? 'bob@example.com' : 'ann@example.com',
            }),
          ),
        ),
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(messages.length);
      if (queue().has) {
        for (let i = 0; i < messages.length; i++) expect(await queue().has!(`k-batch-${i}`)).toBe(true);
      }
      if (readBack) {
        const all = await held();
        expect(all).toHaveLength(messages.length);
        for (const [i, result] of results.entries()) {
          expect(all.find((m) => m.id === result.id)?.content.equals(messages[i]!)).toBe(true);
        }
      }
    });

    it('a failing message among concurrent ones rejects alone; the others are accepted', async () => {
      const good = Buffer.from('Subject: good\r\n\r\nfine\r\n');
      const outcomes = await Promise.allSettled([
        queue().enqueue(makeQueuedMessage({ content: good, idempotencyKey: 'k-mix-1' })),
        queue().enqueue(
          makeQueuedMessage({
            content: failingStream(good.subarray(0, 9), new Error('connection reset')),
            idempotencyKey: 'k-mix-2',
          }),
        ),
        queue().enqueue(makeQueuedMessage({ content: good, idempotencyKey: 'k-mix-3' })),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      if (queue().has) expect(await queue().has!('k-mix-2')).toBe(false);
      if (readBack) expect(await held()).toHaveLength(2);
    });

    it('the same key enqueued concurrently gives one copy and one id', async () => {
      const bytes = Buffer.from('Subject: race\r\n\r\nsame key\r\n');
      const both = await Promise.all([
        queue().enqueue(makeQueuedMessage({ content: bytes, idempotencyKey: 'k-race' })),
        queue().enqueue(makeQueuedMessage({ content: bytes, idempotencyKey: 'k-race' })),
      ]);
      expect(both[0].id).toBe(both[1].id);
      if (readBack) expect(await held()).toHaveLength(1);
    });

    it('has(key) answers for accepted keys only', async () => {
      const q = queue();
      if (!q.has) skip('the queue does not implement the optional has()');
      expect(await q.has('k-has')).toBe(false);
      await q.enqueue(
        makeQueuedMessage({ content: Buffer.from('Subject: has\r\n\r\nx\r\n'), idempotencyKey: 'k-has' }),
      );
      expect(await q.has('k-has')).toBe(true);
      expect(await q.has('k-has-other')).toBe(false);
    });

    it.skipIf(!harness.reopen, 'needs harness.reopen (close and open the same data again)')(
      'remembers accepted keys across a reopen',
      async () => {
        const bytes = Buffer.from('Subject: restart\r\n\r\nx\r\n');
        const first = await queue().enqueue(
          makeQueuedMessage({ content: bytes, idempotencyKey: 'k-restart' }),
        );
        const reopened = await queue.reopen!();
        if (reopened.has) expect(await reopened.has('k-restart')).toBe(true);
        const again = await reopened.enqueue(
          makeQueuedMessage({ content: bytes, idempotencyKey: 'k-restart' }),
        );
        expect(again.id).toBe(first.id);
        if (readBack) expect(await held()).toHaveLength(1);
      },
    );
  });
}

/** Every byte value, CRLF and bare CR/LF, NUL, dot lines and a lone "." line in the body. */
function trickyBytes(): Buffer {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  return Buffer.concat([
    Buffer.from('Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nX-Raw: caf\xe9\r\n\r\n', 'latin1'),
    Buffer.from('.\r\n..two dots\r\n.x\r\nbare LF\nbare CR\rCRCRLF\r\r\n\0NUL\0\r\n', 'latin1'),
    all,
    Buffer.from('\r\n\r\n.\r\n', 'latin1'),
  ]);
}

function splitAt(bytes: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** A byte stream that yields `head`, then fails with `error` (a connection lost mid-RETR). */
function failingStream(head: Buffer, error: Error): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(head);
      } else {
        setImmediate(() => this.destroy(error));
      }
    },
  });
}
