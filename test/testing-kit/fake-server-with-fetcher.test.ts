/**
 * The scenarios docs/testing-kit.md shows, run for real: the public kit's fake POP3 server and
 * in-memory ports behind a MultiPopFetcher, with injected faults.
 */
import { MultiPopFetcher, parseConfig } from 'multipop';
import {
  type FakePop3Options,
  type FakePop3Server,
  fakeClock,
  memoryDirectory,
  memoryLedger,
  memoryQueue,
  startFakePop3Server,
} from 'multipop/testing';
import { afterEach, describe, expect, it } from 'vitest';

const hello = Buffer.from('Subject: hello\r\n\r\n.dot line\r\nbody\r\n', 'latin1');
const second = Buffer.from('Subject: second\r\n\r\n8-bit: \xe9\xff\r\n', 'latin1');

let server: FakePop3Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setUp(options: Omit<FakePop3Options, 'users'>, leaveOnServer = false) {
  server = await startFakePop3Server({
    users: [{ name: 'ann', password: 'pw', messages: [hello, second] }],
    ...options,
  });
  const queue = memoryQueue();
  const clock = fakeClock(Date.UTC(2025, 0, 1));
  const fetcher = new MultiPopFetcher({
    directory: memoryDirectory(
      parseConfig({
        users: [
          {
            id: 'ann@example.com',
            entries: [
              {
                id: 'ann-remote',
                server: `${server.host}:${server.port}`,
                tls: 'none',
                username: 'ann',
                password: 'pw',
                leaveOnServer,
              },
            ],
          },
        ],
      }),
    ),
    ledger: memoryLedger(),
    queue,
    now: clock.now,
    connection: { timeouts: { connect: 5_000, greeting: 5_000, idle: 5_000 } },
  });
  return { server, queue, fetcher, clock };
}

describe('the fake POP3 server behind a fetcher', () => {
  it('serves the mail, applies DELE at QUIT and records what it received', async () => {
    const { server, queue, fetcher } = await setUp({ capabilities: { pipelining: true } });
    const [summary] = await fetcher.collectNow();
    expect(summary).toMatchObject({ ok: true, result: { collected: 2, deleted: 2 } });
    expect(queue.messages.map((m) => m.content.subarray(-hello.length).equals(hello))).toEqual([true, false]);
    expect(queue.messages[1]!.content.subarray(-second.length).equals(second)).toBe(true);
    expect(server.mailbox('ann').messages).toEqual([]);
    const verbs = server.commands.map((c) => c.verb);
    expect(verbs).toContain('RETR');
    expect(verbs.at(-1)).toBe('QUIT');
    await fetcher.stop();
  });

  it('[IN-USE] at PASS: the mailbox fails with IN_USE, nothing is collected, the mail stays', async () => {
    const { server, queue, fetcher } = await setUp({
      faults: [{ action: 'respond', when: { step: 'PASS' }, line: '-ERR [IN-USE] Mailbox is locked' }],
    });
    const [summary] = await fetcher.collectNow();
    expect(summary?.error?.code).toBe('IN_USE');
    expect(queue.messages).toEqual([]);
    expect(server.mailbox('ann').messages).toHaveLength(2);
    await fetcher.stop();
  });

  it('a connection dropped in the middle of the second message keeps it on the server, and the next session fetches it', async () => {
    const { server, queue, fetcher, clock } = await setUp({
      faults: [{ action: 'drop', when: { step: 'RETR', nth: 2, afterBodyBytes: 10 } }],
    });
    const [first] = await fetcher.collectNow();
    expect(first?.error?.code).toBe('CONNECTION_CLOSED');
    // No QUIT, so no DELE took effect: both messages are still there; the first one is in the queue once.
    expect(server.mailbox('ann').messages).toHaveLength(2);
    expect(queue.messages).toHaveLength(1);

    clock.advance(24 * 3_600_000); // past any back-off
    const [again] = await fetcher.collectNow();
    expect(again).toMatchObject({ ok: true, result: { collected: 1 } });
    expect(queue.messages).toHaveLength(2);
    expect(queue.messages[1]!.content.subarray(-second.length).equals(second)).toBe(true);
    expect(server.mailbox('ann').messages).toEqual([]);
    await fetcher.stop();
  });

  it("the gmail personality's LOGIN-DELAY 300 keeps the next session at least 5 minutes away", async () => {
    const { server, fetcher, clock } = await setUp({ personality: 'gmail' }, true);
    expect((await fetcher.collectNow())[0]?.ok).toBe(true);
    expect((await fetcher.statistics('ann-remote'))?.nextAttemptAt).toBe(clock.now() + 300_000);
    clock.advance(299_999);
    expect((await fetcher.collectNow())[0]?.skipped).toBe('backoff');
    clock.advance(1);
    expect((await fetcher.collectNow())[0]).toMatchObject({
      ok: true,
      result: { collected: 0, onServer: 2 },
    });
    expect(server.connections).toBe(2);
    await fetcher.stop();
  });
});
