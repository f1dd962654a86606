/**
 * A bug is reported as a bug: a TypeError thrown inside a port (here a ledger with a
 * programming error) during a real collection from Dovecot reaches the host as `INTERNAL`,
 * never as `STORE_ERROR "Collection failed"`, and the message stays on the server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import type { CollectionLedger } from '../../src/ports/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { oneDovecotEntry } from '../support/dovecot-directory.js';

const PASSWORD = 'Internal-pw-4711';

describeWithDovecot('a bug in a port surfaces as INTERNAL', () => {
  let dovecot: DovecotServer;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ name: 'ann', password: PASSWORD }] });
    await dovecot.seed('ann', [Buffer.from('Subject: kept\r\n\r\nstill here\r\n')]);
  });
  afterAll(async () => dovecot?.stop());

  it('a ledger whose load() throws a TypeError: the summary and the event say INTERNAL', async () => {
    const working = memoryLedger();
    const buggy: CollectionLedger = {
      ...working,
      load: async () => {
        const records = undefined as unknown as Map<string, unknown>;
        return records.get('x') as never; // the bug: a property of undefined
      },
    };
    const queue = memoryQueue();
    const fetcher = new MultiPopFetcher({
      directory: oneDovecotEntry(dovecot, PASSWORD),
      ledger: buggy,
      queue,
      connection: { tlsOptions: { ca: dovecot.caPem } },
    });
    const codes: string[] = [];
    fetcher.on('mailbox:error', (e) => codes.push(e.error.code));
    const [summary] = await fetcher.collectNow();
    await fetcher.stop();

    expect(summary?.ok).toBe(false);
    expect(summary?.error?.code).toBe('INTERNAL');
    expect(summary?.error?.cause).toBeInstanceOf(TypeError);
    expect(codes).toEqual(['INTERNAL']);
    expect(queue.messages).toHaveLength(0);
    expect(await dovecot.messages('ann')).toHaveLength(1);
  });
});
