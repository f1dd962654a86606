/**
 * The `queue.has()` path of the session when the connection drops while the previous message is
 * being stored: the next body (sent ahead, pipelined) has already failed by the time its turn
 * comes, and the session must end with the transport's error instead of waiting for ever.
 */
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { passwordAuth } from '../../src/auth/index.js';
import { runSession } from '../../src/collect/session.js';
import { parseMailboxEntry, parseServerSettings } from '../../src/config/index.js';
import { createLog } from '../../src/log/index.js';
import type { Pop3ClientApi, Pop3ConnectOptions } from '../../src/pop3/api.js';
import { Pop3Client } from '../../src/pop3/index.js';
import type { LocalQueue } from '../../src/ports/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { startFakePop3Server } from '../../src/testing/fake-pop3/index.js';
import { testMessage } from '../support/messages.js';

describe('session: queue.has() after the connection dropped', () => {
  it('ends with CONNECTION_CLOSED when the next body failed while the previous one was stored', async () => {
    const messages = [testMessage(1, 2_000), testMessage(2, 30_000)];
    const server = await startFakePop3Server({
      users: [
        { name: 'ann', password: 'pw', messages: messages.map((data, i) => ({ data, uid: `u${i + 1}` })) },
      ],
      capabilities: { pipelining: true },
      faults: [{ action: 'drop', when: { step: 'RETR', nth: 2, afterBodyBytes: 100 } }],
    });
    const entry = parseMailboxEntry({
      id: 'has-box',
      server: `${server.host}:${server.port}`,
      tls: 'none',
      username: 'ann',
      password: 'pw',
    });
    // The second body, as the session's pipelined RETR receives it.
    let second: Promise<NodeJS.ReadableStream> | undefined;
    const connect = async (options: Pop3ConnectOptions): Promise<Pop3ClientApi> => {
      const client = await Pop3Client.connect(options);
      const retr = client.retr.bind(client);
      client.retr = (msg: number) => {
        const body = retr(msg);
        if (msg === 2) second = body;
        return body;
      };
      return client;
    };
    const inner = memoryQueue();
    let asked = 0;
    const queue: LocalQueue = {
      async enqueue(message) {
        const accepted = await inner.enqueue(message);
        // "Storing" message 1 lasts until the connection has dropped under message 2.
        await finished(await second!).catch(() => undefined);
        return accepted;
      },
      // Message 2 is "already in the queue" (a retry after a crash would find it so).
      has: async () => ++asked === 2,
    };

    const session = runSession({
      userId: 'ann@example.com',
      entry,
      settings: parseServerSettings({}),
      queue,
      ledger: memoryLedger(),
      auth: passwordAuth(),
      emit: () => undefined,
      log: createLog(undefined),
      connect,
      connection: { timeouts: { connect: 2_000, greeting: 2_000, idle: 2_000 } },
    });
    await expect(session).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(inner.messages).toHaveLength(1);
    await server.close();
  });
});
