/**
 * `QueuedMessage.beforeCommit`: the caller's last check (a fleet worker's lease) right before the
 * queue's point of no return. Refused, the message is not delivered; a later hand-off of the same
 * key (by the worker that owns the mailbox now) delivers it once.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MultiPopError } from '../../src/errors/index.js';
import { maildirQueue, memoryQueue } from '../../src/stores/index.js';
import { makeQueuedMessage } from '../../src/testing/contracts/index.js';
import { tempRoot } from './maildir-helpers.js';

const raw = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
const lost = () => Promise.reject(new MultiPopError('LEASE_LOST', 'Another worker took this mailbox over'));

let root: string;
beforeEach(async () => {
  root = await tempRoot();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('beforeCommit', () => {
  it('Maildir: a refusal delivers nothing and leaves tmp/ empty; the next owner delivers once', async () => {
    const queue = maildirQueue({ root, single: true });
    const checks: string[] = [];
    await expect(
      queue.enqueue({
        ...makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }),
        beforeCommit: () => {
          checks.push('stale');
          return lost();
        },
      }),
    ).rejects.toMatchObject({ code: 'QUEUE_REJECTED' });
    expect(await readdir(join(root, 'new'))).toEqual([]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await queue.has('k1')).toBe(false);
    await queue.enqueue({
      ...makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }),
      beforeCommit: async () => void checks.push('owner'),
    });
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    expect(checks).toEqual(['stale', 'owner']);
    expect(await readdir(join(root, 'new'))).toHaveLength(1);
  });

  it('memory: a refusal keeps the message out', async () => {
    const queue = memoryQueue();
    await expect(
      queue.enqueue({ ...makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }), beforeCommit: lost }),
    ).rejects.toMatchObject({ code: 'QUEUE_REJECTED' });
    expect(queue.messages).toHaveLength(0);
    expect(await queue.has('k1')).toBe(false);
  });
});
