import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isMultiPopError } from '../../src/errors/index.js';
import { memoryQueue } from '../../src/stores/index.js';
import { makeQueuedMessage } from '../../src/testing/contracts/index.js';

const raw = Buffer.from(
  'Message-ID: <a@b>\r\nFrom: Ann <ann@example.com>\r\nSubject: Hi\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n',
);

describe('memoryQueue', () => {
  it('keeps the envelope and metadata with the bytes', async () => {
    const queue = memoryQueue();
    const { id } = await queue.enqueue(
      makeQueuedMessage({
        content: raw,
        idempotencyKey: 'k1',
        recipient: 'ann',
        uidl: 'u1',
        mailboxId: 'm1',
      }),
    );
    const [stored] = queue.messages;
    expect(stored).toMatchObject({
      id,
      recipient: 'ann',
      uidl: 'u1',
      idempotencyKey: 'k1',
      remoteSize: raw.length,
    });
    expect(stored?.source.mailboxId).toBe('m1');
    expect(stored?.metadata).toEqual({
      messageId: '<a@b>',
      from: 'Ann <ann@example.com>',
      subject: 'Hi',
      date: new Date('2026-11-26T10:00:00Z'),
    });
  });

  it('resolves a repeated key with the first id', async () => {
    const queue = memoryQueue();
    const first = await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    const second = await queue.enqueue(
      makeQueuedMessage({ content: Buffer.from('other bytes'), idempotencyKey: 'k1' }),
    );
    expect(second.id).toBe(first.id);
    expect(queue.messages).toHaveLength(1);
    expect(queue.messages[0]?.content.equals(raw)).toBe(true);
  });

  it('stores one copy when the same key is enqueued twice at the same time', async () => {
    const queue = memoryQueue();
    const results = await Promise.all([
      queue.enqueue(
        makeQueuedMessage({ content: [raw.subarray(0, 5), raw.subarray(5)], idempotencyKey: 'k1' }),
      ),
      queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' })),
    ]);
    expect(results[0].id).toBe(results[1].id);
    expect(queue.messages).toHaveLength(1);
  });

  it('hands out copies: changing .messages changes nothing stored', async () => {
    const queue = memoryQueue();
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    const [copy] = queue.messages;
    copy!.content.fill(0);
    copy!.source.host = 'changed';
    copy!.metadata!.date!.setTime(0);
    const [again] = queue.messages;
    expect(again?.content.equals(raw)).toBe(true);
    expect(again?.source.host).toBe('pop.example.net');
    expect(again?.metadata?.date?.getTime()).toBe(Date.parse('2026-11-26T10:00:00Z'));
  });

  it('refuses a message when beforeAccept throws, with QUEUE_REJECTED and the cause', async () => {
    const cause = new Error('disk full');
    const queue = memoryQueue({
      beforeAccept(message) {
        if (message.uidl === 'bad') throw cause;
      },
    });
    const error = await queue
      .enqueue(makeQueuedMessage({ content: raw, uidl: 'bad', idempotencyKey: 'k-bad' }))
      .catch((err: unknown) => err);
    expect(isMultiPopError(error, 'QUEUE_REJECTED')).toBe(true);
    expect((error as Error).cause).toBe(cause);
    expect(await queue.has('k-bad')).toBe(false);
    await queue.enqueue(makeQueuedMessage({ content: raw, uidl: 'good', idempotencyKey: 'k-good' }));
    expect(queue.messages.map((m) => m.uidl)).toEqual(['good']);
  });

  it('refuses a decoded (string) stream rather than re-encode it', async () => {
    const queue = memoryQueue();
    const content = Readable.from(['Subject: x\r\n\r\n', 'caf\u00e9\r\n']);
    const error = await queue
      .enqueue(makeQueuedMessage({ content, idempotencyKey: 'k-text' }))
      .catch((err: unknown) => err);
    expect(isMultiPopError(error, 'QUEUE_REJECTED')).toBe(true);
    expect(content.destroyed).toBe(true);
    expect(queue.messages).toHaveLength(0);
  });

  it('keeps the message when metadata() fails, without metadata', async () => {
    const queue = memoryQueue();
    const message = makeQueuedMessage({ content: raw, idempotencyKey: 'k1' });
    message.metadata = () => Promise.reject(new Error('unparsable'));
    await queue.enqueue(message);
    expect(queue.messages[0]?.metadata).toBeUndefined();
  });

  it('clear() forgets messages and keys', async () => {
    const queue = memoryQueue({ metadata: false });
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    expect(queue.messages[0]?.metadata).toBeUndefined();
    queue.clear();
    expect(queue.messages).toEqual([]);
    expect(await queue.has('k1')).toBe(false);
  });
});
