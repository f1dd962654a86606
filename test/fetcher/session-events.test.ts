/**
 * A failed session emits the same sequence as a successful one: session:start, then one
 * session:end — carrying the error and what was done before it — then mailbox:error.
 */
import { MultiPopFetcher, parseConfig } from 'multipop';
import { memoryDirectory, memoryLedger, memoryQueue, startFakePop3Server } from 'multipop/testing';
import { describe, expect, it } from 'vitest';

describe('session events', () => {
  it('a failing session ends with session:end carrying the error, like a successful one', async () => {
    const server = await startFakePop3Server({
      users: [
        {
          name: 'ann',
          password: 'pw',
          messages: [Buffer.from('Subject: a\r\n\r\nx\r\n'), Buffer.from('Subject: b\r\n\r\ny\r\n')],
        },
      ],
      faults: [{ action: 'drop', when: { step: 'RETR', nth: 2 } }],
    });
    const entry = {
      id: 'ann-fake',
      server: `${server.host}:${server.port}`,
      tls: 'none' as const,
      username: 'ann',
      password: 'pw',
    };
    const fetcher = new MultiPopFetcher({
      directory: memoryDirectory(parseConfig({ users: [{ id: 'ann', entries: [entry] }] })),
      ledger: memoryLedger(),
      queue: memoryQueue(),
    });
    const seen: Array<[string, Record<string, unknown>]> = [];
    for (const name of ['session:start', 'session:end', 'message:collected', 'mailbox:error'] as const)
      fetcher.on(name, (e) => seen.push([name, e as unknown as Record<string, unknown>]));
    try {
      const [failed] = await fetcher.collectNow();
      expect(failed?.error?.code).toBe('CONNECTION_CLOSED');
      expect(seen.map(([name]) => name)).toEqual([
        'session:start',
        'message:collected',
        'session:end',
        'mailbox:error',
      ]);
      const end = seen[2]![1];
      expect(end['collected']).toBe(1);
      expect((end['error'] as { code: string }).code).toBe('CONNECTION_CLOSED');
    } finally {
      await fetcher.stop();
      await server.close();
    }
  });
});
