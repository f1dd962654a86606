/**
 * A graceful stop() in the middle of a real session: the messages in flight finish and are
 * recorded, their DELEs go out and the session QUITs — the server really deletes them — and the
 * next fetcher collects exactly the rest. (Before, the stop signal cut the POP3 connection: the
 * session ended ABORTED with nothing deleted.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import type { LocalQueue } from '../../src/ports/index.js';
import { memoryDirectory, memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { seqOf, testMessage } from '../support/messages.js';
import { withoutTraceHeader } from '../support/trace-header.js';

const COUNT = 30;
const STOP_AT = 3;

describeWithDovecot('graceful stop against Dovecot', () => {
  let dovecot: DovecotServer;
  const originals = Array.from({ length: COUNT }, (_, k) => testMessage(k, 2_000 + k * 100));

  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ name: 'ann', password: 'pw-ann-123' }] });
    await dovecot.seed('ann', originals);
  });
  afterAll(() => dovecot?.stop());

  it('stop() while messages are in flight: they are recorded and deleted, the session QUITs, the rest comes next time', async () => {
    const directory = memoryDirectory(
      parseConfig({
        users: [
          {
            id: 'ann@example.com',
            entries: [
              {
                id: 'ann',
                server: `127.0.0.1:${dovecot.popsPort}`,
                tls: 'implicit',
                username: 'ann',
                password: 'pw-ann-123',
              },
            ],
          },
        ],
      }),
    );
    const stored = memoryQueue();
    const ledger = memoryLedger();
    let fetcher: MultiPopFetcher | undefined;
    let stopping: Promise<void> | undefined;
    let offered = 0;
    // The host's queue: on the STOP_AT-th message the host stops the fetcher, then accepts it.
    const queue: LocalQueue = {
      async enqueue(message) {
        offered++;
        if (offered === STOP_AT) stopping = fetcher!.stop();
        return stored.enqueue(message);
      },
      has: (key) => stored.has(key),
    };
    const connection = { tlsOptions: { ca: dovecot.caPem } };
    fetcher = new MultiPopFetcher({ directory, ledger, queue, connection });
    const quits: string[] = [];
    fetcher.on('session:end', (e) => quits.push(e.mailboxId));

    const [summary] = await fetcher.collectNow();
    await stopping;
    expect(summary?.ok, JSON.stringify(summary?.error)).toBe(true);
    const first = summary!.result!.collected;
    expect(first).toBeGreaterThanOrEqual(STOP_AT);
    expect(first).toBeLessThan(COUNT);
    expect(quits).toEqual(['ann']);
    // The server applied the DELEs at QUIT: exactly the collected ones are gone.
    expect(await dovecot.messages('ann')).toHaveLength(COUNT - first);
    expect(stored.messages).toHaveLength(first);

    const next = new MultiPopFetcher({ directory, ledger, queue: stored, connection });
    const [rest] = await next.collectNow();
    expect(rest?.result?.collected).toBe(COUNT - first);
    expect(await dovecot.messages('ann')).toHaveLength(0);

    const seen = stored.messages.map((m) => seqOf(m.content));
    expect(new Set(seen).size, 'each message once').toBe(COUNT);
    for (const m of stored.messages) {
      expect(withoutTraceHeader(m.content).equals(originals[seqOf(m.content)!]!)).toBe(true);
    }
    await next.stop();
  });
});
