import { rm } from 'node:fs/promises';
import { type MaildirQueue, maildirQueue } from '../../src/stores/index.js';
import { runLocalQueueContract } from '../../src/testing/vitest.js';
import { allRecipientMessages, maildirMessages, tempRoot } from './maildir-helpers.js';

const roots = new WeakMap<MaildirQueue, string>();

runLocalQueueContract('maildirQueue (one Maildir per recipient)', {
  async create() {
    const root = await tempRoot();
    const queue = maildirQueue({ root });
    roots.set(queue, root);
    return queue;
  },
  reopen(queue) {
    const root = roots.get(queue)!;
    const again = maildirQueue({ root });
    roots.set(again, root);
    return again;
  },
  dispose: (queue) => rm(roots.get(queue)!, { recursive: true, force: true }),
  messages: (queue) => allRecipientMessages(roots.get(queue)!),
});

runLocalQueueContract('maildirQueue (single Maildir, no fsync)', {
  async create() {
    const root = await tempRoot();
    const queue = maildirQueue({ root, single: true, fsync: false });
    roots.set(queue, root);
    return queue;
  },
  reopen(queue) {
    const root = roots.get(queue)!;
    const again = maildirQueue({ root, single: true, fsync: false });
    roots.set(again, root);
    return again;
  },
  dispose: (queue) => rm(roots.get(queue)!, { recursive: true, force: true }),
  messages: (queue) => maildirMessages(roots.get(queue)!),
});
