/**
 * How an integrator tests their own LocalQueue with the public test kit, `multipop/testing`:
 * first the contract suite, then the adapter wired into a real MultiPopFetcher collecting from
 * the kit's fake POP3 server.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiPopFetcher, parseConfig } from 'multipop';
import {
  type FakePop3Server,
  fakeClock,
  memoryDirectory,
  memoryLedger,
  startFakePop3Server,
} from 'multipop/testing';
import { runLocalQueueContract } from 'multipop/testing/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { SpoolQueue } from './spool-queue.js';

// 1. The contract: bytes, streams, failures, idempotency, has(), and a restart (reopen).
runLocalQueueContract('spool directory queue', {
  create: async () => new SpoolQueue(await mkdtemp(join(tmpdir(), 'spool-contract-'))),
  dispose: (queue) => rm(queue.root, { recursive: true, force: true }),
  reopen: (queue) => new SpoolQueue(queue.root),
  messages: (queue) => queue.list(),
});

// 2. Wired into the fetcher, against the fake POP3 server.
describe('SpoolQueue behind MultiPopFetcher', () => {
  let server: FakePop3Server | undefined;
  let spool: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (spool) await rm(spool, { recursive: true, force: true });
  });

  // Bytes a careless adapter would corrupt: dot lines, 8-bit, NUL, lone CR and LF.
  const originals = [
    Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n', 'latin1'),
    Buffer.from('Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n\r\nGr\xfc\xdfe\0\r\na\rb\nc\r\n', 'latin1'),
  ];

  it('collects a mailbox into the spool byte for byte, once, and deletes the remote copies', async () => {
    server = await startFakePop3Server({
      users: [{ name: 'ann-remote', password: 'remote-pw', messages: originals }],
    });
    spool = await mkdtemp(join(tmpdir(), 'spool-fetcher-'));
    const queue = new SpoolQueue(spool);
    const clock = fakeClock(Date.UTC(2025, 0, 1, 12));
    const directory = memoryDirectory(
      parseConfig({
        users: [
          {
            id: 'ann@example.com',
            entries: [
              {
                id: 'ann-remote',
                server: `${server.host}:${server.port}`,
                tls: 'none', // the fake server on loopback speaks plain POP3
                username: 'ann-remote',
                password: 'remote-pw',
              },
            ],
          },
        ],
      }),
    );
    const fetcher = new MultiPopFetcher({ directory, ledger: memoryLedger(), queue, now: clock.now });
    const collected: string[] = [];
    fetcher.on('message:collected', (e) => collected.push(e.uidl));

    const [summary] = await fetcher.collectNow();
    expect(summary?.error).toBeUndefined();
    expect(summary).toMatchObject({ ok: true, result: { collected: 2, deleted: 2 } });
    // Up to 16 messages of a session are in flight at once, so the events come in the order your
    // queue accepts them, not necessarily the server's.
    expect(collected.sort()).toEqual(['uid-1', 'uid-2']);

    // What lands is multipop's trace header (its date from the fake clock), then the remote
    // bytes exactly as the server held them.
    const spooled = await queue.list();
    expect(spooled).toHaveLength(2);
    const byUidl = new Map(spooled.map((m) => [m.envelope.source.uidl, m]));
    for (const [i, original] of originals.entries()) {
      const message = byUidl.get(`uid-${i + 1}`);
      expect(message?.envelope.recipient).toBe('ann@example.com');
      const content = message?.content ?? Buffer.alloc(0);
      const header = content.subarray(0, content.length - original.length).toString('latin1');
      expect(header).toMatch(/^Received: from /);
      expect(header).toMatch(new RegExp(`\\r\\nX-MultiPOP-Source: ann-remote;\\s+uidl=uid-${i + 1}\\r\\n$`));
      expect(content.subarray(content.length - original.length).equals(original)).toBe(true);
    }
    expect(server.mailbox('ann-remote').messages).toEqual([]);
    expect(await readdir(join(spool, 'tmp'))).toEqual([]);

    // A second cycle finds nothing new and spools nothing twice.
    const [again] = await fetcher.collectNow();
    expect(again).toMatchObject({ ok: true, result: { collected: 0 } });
    expect(await queue.list()).toHaveLength(2);
    await fetcher.stop();
  });
});
