import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { passwordAuth } from '../../src/auth/index.js';
import { runSession } from '../../src/collect/session.js';
import { parseMailboxEntry, parseServerSettings } from '../../src/config/index.js';
import { smtpQueue } from '../../src/handoff/smtp-queue.js';
import { createLog } from '../../src/log/index.js';
import type { QueuedMessage } from '../../src/ports/index.js';
import { memoryLedger } from '../../src/stores/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { seqOf, testMessage } from '../support/messages.js';

function queued(content: Buffer, overrides: Partial<QueuedMessage> = {}): QueuedMessage {
  return {
    content: Readable.from([content.subarray(0, 700), content.subarray(700)]),
    remoteSize: content.length,
    recipient: 'local',
    source: { mailboxId: 'm1', host: 'pop.example.net', port: 995, username: 'ann' },
    uidl: 'UID1',
    idempotencyKey: 'key-0123456789abcdef',
    metadata: async () => ({ returnPath: 'bounces@example.net' }),
    ...overrides,
  };
}

describeWithDovecot('LMTP hand-off into a real Dovecot', () => {
  let dovecot: DovecotServer;
  beforeAll(async () => {
    dovecot = await startDovecot({
      users: [
        { name: 'local', password: 'local-pass-1' },
        { name: 'remote', password: 'remote-pass-1' },
      ],
      lmtp: true,
    });
  });
  afterAll(async () => dovecot?.stop());

  it('delivers the message byte for byte, with the envelope sender and the idempotency key', async () => {
    const original = testMessage(1, 5_000);
    const queue = smtpQueue({
      host: dovecot.host,
      port: dovecot.lmtpPort!,
      lmtp: true,
      tls: { ca: dovecot.caPem },
    });
    const result = await queue.enqueue(queued(original));
    expect(result.id.length).toBeGreaterThan(3);
    const [stored] = await dovecot.messages('local');
    const text = stored!.toString('latin1');
    // Dovecot records the envelope sender as Return-Path and adds its own Delivered-To/Received.
    expect(text).toMatch(/^Return-Path: <bounces@example\.net>\r?\n/);
    expect(text).toContain('X-MultiPOP-Key: key-0123456789abcdef');
    const normalized = stored!.toString('latin1').replace(/\r?\n/g, '\r\n');
    expect(normalized.endsWith(original.toString('latin1'))).toBe(true);
  });

  it('an idle connection (STARTTLS) does not keep the process alive', async () => {
    const sockets = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;
    const before = sockets();
    const queue = smtpQueue({
      host: dovecot.host,
      port: dovecot.lmtpPort!,
      lmtp: true,
      tls: { ca: dovecot.caPem },
    });
    let whileSending = 0;
    const content = new Readable({
      read() {
        whileSending = sockets(); // the server asked for the content: the session is busy
        this.push(testMessage(5));
        this.push(null);
      },
    });
    await queue.enqueue(queued(testMessage(5), { content }));
    expect(whileSending).toBeGreaterThan(before);
    expect(sockets()).toBe(before);
    await queue.close();
  });

  it('rejects with QUEUE_REJECTED and the 5xx code when the recipient is unknown', async () => {
    const queue = smtpQueue({
      host: dovecot.host,
      port: dovecot.lmtpPort!,
      lmtp: true,
      tls: { ca: dovecot.caPem },
    });
    const err = await queue
      .enqueue(queued(testMessage(2), { recipient: 'nobody-here' }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'QUEUE_REJECTED', context: { smtpCode: 550 } });
  });

  it('a refused hand-off leaves the message on the remote POP3 server', async () => {
    await dovecot.seed('remote', [testMessage(3), testMessage(4)]);
    const entry = parseMailboxEntry({
      id: 'remote-box',
      server: `${dovecot.host}:${dovecot.popsPort}`,
      tls: 'implicit',
      username: 'remote',
      password: 'remote-pass-1',
    });
    const base = {
      entry,
      settings: parseServerSettings({}),
      ledger: memoryLedger(),
      auth: passwordAuth(),
      emit: () => undefined,
      log: createLog(false),
      connection: { tlsOptions: { ca: dovecot.caPem } },
    };
    const refusing = smtpQueue({
      host: dovecot.host,
      port: dovecot.lmtpPort!,
      lmtp: true,
      tls: { ca: dovecot.caPem },
    });
    await expect(
      runSession({ ...base, userId: 'no-such-local-user', queue: refusing }),
    ).rejects.toMatchObject({
      code: 'QUEUE_REJECTED',
    });
    expect((await dovecot.messages('remote')).map(seqOf)).toEqual([3, 4]);

    // Pointed at a real local user, the same session hands both over and empties the remote box.
    const before = (await dovecot.messages('local')).length;
    const result = await runSession({ ...base, userId: 'local', queue: refusing });
    expect(result).toMatchObject({ collected: 2, deleted: 2 });
    expect(await dovecot.messages('remote')).toHaveLength(0);
    const local = await dovecot.messages('local');
    expect(local.slice(before).map(seqOf).sort()).toEqual([3, 4]);
  });
});
