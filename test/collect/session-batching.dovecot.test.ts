import { afterAll, beforeAll, expect, it } from 'vitest';
import { passwordAuth } from '../../src/auth/index.js';
import { runSession } from '../../src/collect/session.js';
import { parseMailboxEntry, parseServerSettings } from '../../src/config/index.js';
import { createLog } from '../../src/log/index.js';
import type { Pop3ClientApi, Pop3ConnectOptions } from '../../src/pop3/api.js';
import { Pop3Client } from '../../src/pop3/client.js';
import type { CollectionLedger, LedgerChange } from '../../src/ports/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { seqOf, testMessage } from '../support/messages.js';

/**
 * Session batching against a real Dovecot: several messages of one session wait for their
 * queue's durable step at once, the accepted ones are recorded in one ledger write per batch,
 * and a DELE goes out only for a message whose ledger write had resolved.
 */
describeWithDovecot('one session batches its messages', () => {
  let dovecot: DovecotServer;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ name: 'batch', password: 'batch-pass-1' }] });
  });
  afterAll(async () => dovecot?.stop());

  it('enqueues overlap, one ledger write per batch, DELEs only after their write resolved', async () => {
    const MESSAGES = 40;
    const BATCH = 4;
    const originals = Array.from({ length: MESSAGES }, (_, i) => testMessage(i, 800 + i * 97));
    await dovecot.seed('batch', originals);

    // The queue's "sync": a message read to its end is accepted only together with the next
    // three (or with the last ones) — the way a queue's shared directory sync would. A session
    // that waited for each enqueue before reading the next body could never complete a batch.
    let waiting: (() => void)[] = [];
    let read = 0;
    let mostWaiting = 0;
    const accepted = new Set<string>();
    const queue = memoryQueue({
      beforeAccept: (message) =>
        new Promise<void>((resolve) => {
          read++;
          waiting.push(() => {
            accepted.add(message.uidl);
            resolve();
          });
          mostWaiting = Math.max(mostWaiting, waiting.length);
          if (waiting.length === BATCH || read === MESSAGES) {
            for (const release of waiting.splice(0)) release();
            waiting = [];
          }
        }),
    });

    const inner = memoryLedger();
    const writes: string[][] = [];
    const durable = new Set<string>();
    const ledger: CollectionLedger = {
      ...inner,
      load: (id) => inner.load(id),
      apply: async (id, changes: readonly LedgerChange[]) => {
        const collected = changes.filter((c) => c.type === 'collected').map((c) => c.uidl);
        for (const uidl of collected)
          expect(accepted.has(uidl), `${uidl} recorded after the queue accepted it`).toBe(true);
        await inner.apply(id, changes);
        if (collected.length > 0) writes.push(collected);
        for (const uidl of collected) durable.add(uidl);
      },
    };

    // The client as the session sees it, noting each DELE against the UIDLs the ledger held.
    const uidlOf = new Map<number, string>();
    const deletedBeforeDurable: number[] = [];
    const connect = async (options: Pop3ConnectOptions): Promise<Pop3ClientApi> => {
      const client = await Pop3Client.connect(options);
      return new Proxy(client, {
        get(target, name) {
          if (name === 'uidl')
            return async (msg?: number) => {
              const list = msg === undefined ? await target.uidl() : [await target.uidl(msg)];
              for (const { msg: n, uid } of list) uidlOf.set(n, uid);
              return msg === undefined ? list : list[0];
            };
          if (name === 'dele')
            return (msg: number) => {
              if (!durable.has(uidlOf.get(msg) ?? '')) deletedBeforeDurable.push(msg);
              return target.dele(msg);
            };
          const value = Reflect.get(target, name, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    };

    const entry = parseMailboxEntry({
      id: 'batched',
      server: `${dovecot.host}:${dovecot.popsPort}`,
      tls: 'implicit',
      username: 'batch',
      password: 'batch-pass-1',
    });
    const result = await runSession({
      userId: 'ann@example.com',
      entry,
      settings: parseServerSettings({}),
      queue,
      ledger,
      auth: passwordAuth(),
      emit: () => undefined,
      log: createLog(false),
      connection: { tlsOptions: { ca: dovecot.caPem } },
      connect,
    });

    expect(result).toMatchObject({ collected: MESSAGES, deleted: MESSAGES });
    expect(mostWaiting, 'messages waiting for the queue at once').toBe(BATCH);
    expect(writes.flat().sort()).toEqual([...accepted].sort());
    expect(writes.length, 'ledger writes for the collected messages').toBeLessThanOrEqual(
      MESSAGES / BATCH + 1,
    );
    expect(Math.max(...writes.map((w) => w.length))).toBeGreaterThan(1);
    expect(deletedBeforeDurable).toEqual([]);
    expect(uidlOf.size).toBe(MESSAGES);
    // Every message once, byte for byte after the trace header; the server is empty.
    const seqs = queue.messages.map((m) => seqOf(m.content)!).sort((a, b) => a - b);
    expect(seqs).toEqual(originals.map((_, i) => i));
    for (const stored of queue.messages) {
      const original = originals[seqOf(stored.content)!]!;
      expect(stored.content.subarray(stored.content.length - original.length).equals(original)).toBe(true);
    }
    expect(await dovecot.messages('batch')).toHaveLength(0);
  });
});
