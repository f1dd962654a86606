import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { memoryDirectory, memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { seqOf, testMessage } from '../support/messages.js';
import { withoutTraceHeader } from '../support/trace-header.js';

const PER_MAILBOX = 4;

describeWithDovecot('MultiPopFetcher against Dovecot', () => {
  const remote = ['ann-a', 'ann-b', 'ann-c', 'bob-a', 'bob-b', 'bob-c'];
  let dovecot: DovecotServer;
  const originals = new Map<number, Buffer>();

  beforeAll(async () => {
    dovecot = await startDovecot({ users: remote.map((name) => ({ name, password: `pw-${name}-123` })) });
    for (const [i, name] of remote.entries()) {
      const messages = Array.from({ length: PER_MAILBOX }, (_, k) =>
        testMessage(i * 100 + k, 3_000 + k * 500),
      );
      for (const [k, m] of messages.entries()) originals.set(i * 100 + k, m);
      await dovecot.seed(name, messages);
    }
  });
  afterAll(() => dovecot?.stop());

  it('collects two users × three mailboxes concurrently, byte for byte; delete mode empties, leave mode keeps', async () => {
    const entryOf = (name: string, leaveOnServer: boolean) => ({
      id: name,
      server: `127.0.0.1:${dovecot.popsPort}`,
      tls: 'implicit' as const,
      username: name,
      password: `pw-${name}-123`,
      leaveOnServer,
    });
    const directory = memoryDirectory(
      parseConfig({
        users: [
          // ann deletes after collecting (the default); bob leaves a copy on the server.
          { id: 'ann@example.com', entries: ['ann-a', 'ann-b', 'ann-c'].map((n) => entryOf(n, false)) },
          { id: 'bob@example.com', entries: ['bob-a', 'bob-b', 'bob-c'].map((n) => entryOf(n, true)) },
        ],
      }),
    );
    const queue = memoryQueue();
    const ledger = memoryLedger();
    const fetcher = new MultiPopFetcher({
      directory,
      ledger,
      queue,
      connection: { tlsOptions: { ca: dovecot.caPem } },
      concurrency: { global: 8, perHost: 6 },
    });
    let running = 0;
    let maxRunning = 0;
    fetcher.on('session:start', () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
    });
    fetcher.on('session:end', () => running--);

    const summaries = await fetcher.collectNow();
    expect(summaries.map((s) => [s.mailboxId, s.ok, s.error?.code])).toEqual(
      remote.map((name) => [name, true, undefined]),
    );
    expect(summaries.every((s) => s.result?.collected === PER_MAILBOX)).toBe(true);
    expect(maxRunning, 'sessions ran at the same time').toBeGreaterThan(1);

    // Every message arrived once, for the right local user, byte-identical after our header.
    expect(queue.messages).toHaveLength(remote.length * PER_MAILBOX);
    const seen = new Set<number>();
    for (const stored of queue.messages) {
      const seq = seqOf(stored.content);
      expect(seq).toBeDefined();
      expect(seen.has(seq!), `message ${seq} delivered once`).toBe(false);
      seen.add(seq!);
      const owner = remote[Math.floor(seq! / 100)]!;
      expect(stored.source.mailboxId).toBe(owner);
      expect(stored.recipient).toBe(owner.startsWith('ann') ? 'ann@example.com' : 'bob@example.com');
      expect(
        withoutTraceHeader(stored.content).equals(originals.get(seq!)!),
        `message ${seq} byte-identical`,
      ).toBe(true);
    }

    // Delete mode: the servers are empty. Leave mode: every message is still there.
    for (const name of remote) {
      expect((await dovecot.messages(name)).length, name).toBe(name.startsWith('ann') ? 0 : PER_MAILBOX);
    }

    // A second run collects nothing new from the kept messages.
    const again = await fetcher.collectNow();
    expect(again.map((s) => s.result?.collected)).toEqual(remote.map(() => 0));
    expect(again.filter((s) => s.mailboxId.startsWith('bob')).map((s) => s.result?.onServer)).toEqual([
      4, 4, 4,
    ]);
    expect(queue.messages).toHaveLength(remote.length * PER_MAILBOX);

    const stats = await fetcher.statistics();
    expect(stats.totals).toMatchObject({ mailboxes: 6, messages: 24, sessions: 12, failing: 0 });
    await fetcher.stop();
  });
});
