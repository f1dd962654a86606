import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { smtpQueue } from '../../src/handoff/smtp-queue.js';
import type { QueuedMessage } from '../../src/ports/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { discardedCopies, shippedDedupeRecipe } from '../support/lmtp-recipe.js';
import { seqOf, testMessage } from '../support/messages.js';

/**
 * The LMTP hand-off reuses its connections, against a real Dovecot: connections are counted by
 * a TCP proxy in front of Dovecot's LMTP listener (plain text, so the proxy can also cut a
 * session right after Dovecot answered a message's DATA).
 */
function queued(seq: number, recipient = 'local', key = `key-${seq}`, size = 3_000): QueuedMessage {
  return {
    content: Readable.from([testMessage(seq, size)]),
    remoteSize: size,
    recipient,
    source: { mailboxId: 'm1', host: 'pop.example.net', port: 995, username: 'ann' },
    uidl: `UID${seq}`,
    idempotencyKey: key,
    metadata: async () => ({}),
  };
}

/** Seq → how many copies are in the user's Maildir; every copy must end with the original bytes. */
async function copies(dovecot: DovecotServer, user: string): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  for (const file of await dovecot.messages(user)) {
    const seq = seqOf(file)!;
    expect(file.subarray(file.length - testMessage(seq, 3_000).length).equals(testMessage(seq, 3_000))).toBe(
      true,
    );
    seen.set(seq, (seen.get(seq) ?? 0) + 1);
  }
  return seen;
}

const PLAIN_LMTP = 'protocol lmtp {\n  ssl = no\n}';
let users = 0;

describeWithDovecot('LMTP hand-off: connection reuse', () => {
  let dovecot: DovecotServer;
  let proxy: TcpProxy;
  let user: string;
  beforeAll(async () => {
    dovecot = await startDovecot({
      users: Array.from({ length: 8 }, (_, i) => ({ name: `u${i}`, password: `pass-${i}` })),
      lmtp: true,
      extraConfig: PLAIN_LMTP,
    });
  });
  afterAll(async () => dovecot?.stop());
  beforeEach(async () => {
    proxy = await startTcpProxy(dovecot.lmtpPort!);
    user = `u${users++}`;
  });
  afterEach(async () => proxy?.close());

  it('one connection carries many messages one after another', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true });
    for (let seq = 1; seq <= 20; seq++) await queue.enqueue(queued(seq, user));
    await queue.close();
    expect(proxy.connections).toBe(1);
    const seen = await copies(dovecot, user);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('concurrent enqueues share at most maxConnections; a 5xx rejects only its own message', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true, maxConnections: 3 });
    const seqs = Array.from({ length: 30 }, (_, i) => 100 + i);
    const results = await Promise.allSettled(
      seqs.map((seq) => queue.enqueue(queued(seq, seq % 7 === 0 ? 'nobody-here' : user))),
    );
    await queue.close();
    expect(proxy.connections).toBeGreaterThan(0);
    expect(proxy.connections).toBeLessThanOrEqual(3);
    const refused = seqs.filter((_seq, i) => results[i]!.status === 'rejected');
    expect(refused).toEqual(seqs.filter((seq) => seq % 7 === 0));
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected')
        expect(result.reason).toMatchObject({ code: 'QUEUE_REJECTED', context: { smtpCode: 550 } });
      else expect(seqs[i]! % 7).not.toBe(0);
    }
    const seen = await copies(dovecot, user);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(seqs.filter((seq) => seq % 7 !== 0));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('a connection broken while idle is replaced; the message is delivered once', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true });
    await queue.enqueue(queued(200, user));
    // Cut the idle connection and hand the next message over in the same tick: it is written
    // to a connection that is already gone, fails before a byte of it was sent, and goes again
    // on a fresh connection.
    proxy.dropAll();
    await queue.enqueue(queued(201, user));
    await queue.enqueue(queued(202, user));
    await queue.close();
    expect(proxy.connections).toBe(2);
    const seen = await copies(dovecot, user);
    expect(Object.fromEntries(seen)).toEqual({ 200: 1, 201: 1, 202: 1 });
  });

  it('when every idle connection went stale at once, the message still goes out, once', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true, maxConnections: 3 });
    await Promise.all([250, 251, 252].map((seq) => queue.enqueue(queued(seq, user))));
    const opened = proxy.connections;
    proxy.dropAll(); // as if the MTA restarted while the pool was idle
    await queue.enqueue(queued(253, user));
    await queue.close();
    expect(proxy.connections).toBe(opened + 1);
    expect(Object.fromEntries(await copies(dovecot, user))).toEqual({ 250: 1, 251: 1, 252: 1, 253: 1 });
  });

  it('a reply lost after DATA rejects the message — though Dovecot has it (the window the recipe closes)', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true });
    await queue.enqueue(queued(300, user));
    proxy.loseNextReplyAfterData();
    await expect(queue.enqueue(queued(301, user))).rejects.toMatchObject({ code: 'QUEUE_REJECTED' });
    // The collector offers it again (same key); without the recipe, that is a second copy.
    await queue.enqueue(queued(301, user));
    await queue.close();
    expect(Object.fromEntries(await copies(dovecot, user))).toEqual({ 300: 1, 301: 2 });
  });

  it('close() ends the idle connections and refuses further messages', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true, idleTimeoutMs: 60_000 });
    await queue.enqueue(queued(400, user));
    await queue.close();
    await expect(queue.enqueue(queued(401, user))).rejects.toMatchObject({ code: 'QUEUE_REJECTED' });
    expect(proxy.connections).toBe(1);
  });
});

describeWithDovecot('LMTP hand-off: a recipient refused after DATA', () => {
  let dovecot: DovecotServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    dovecot = await startDovecot({
      users: [{ name: 'local', password: 'local-pass-1' }],
      lmtp: true,
      // Quota is checked when the message is stored, so LMTP refuses the recipient in its reply
      // after DATA (552), not at RCPT.
      extraConfig: [
        'protocol lmtp {',
        '  ssl = no',
        '  mail_plugins = $mail_plugins quota',
        '}',
        'plugin {',
        '  quota = maildir:User quota',
        '  quota_rule = *:storage=16K',
        '}',
      ].join('\n'),
    });
    proxy = await startTcpProxy(dovecot.lmtpPort!);
  });
  afterAll(async () => {
    await proxy?.close();
    await dovecot?.stop();
  });

  it('rejects that message only, and the same connection carries the next', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true });
    await queue.enqueue(queued(1, 'local', 'k1', 3_000));
    const refused = await queue.enqueue(queued(2, 'local', 'k2', 40_000)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'QUEUE_REJECTED', context: { smtpCode: 552 } });
    await queue.enqueue(queued(3, 'local', 'k3', 3_000));
    await queue.close();
    expect(proxy.connections).toBe(1);
    const seqs = (await dovecot.messages('local')).map(seqOf);
    expect(seqs).toEqual([1, 3]);
  });
});

describeWithDovecot('LMTP hand-off with the shipped Sieve duplicate recipe', () => {
  let dovecot: DovecotServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    dovecot = await startDovecot({
      users: [{ name: 'local', password: 'local-pass-1' }],
      sieveBefore: shippedDedupeRecipe(),
      extraConfig: PLAIN_LMTP,
    });
    proxy = await startTcpProxy(dovecot.lmtpPort!);
  });
  afterAll(async () => {
    await proxy?.close();
    await dovecot?.stop();
  });

  it('a second offer with the same key is accepted and discarded; other mail is untouched', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true });
    await queue.enqueue(queued(1));
    await queue.enqueue(queued(1));
    // The lost 250: Dovecot stored message 2, the hand-off never heard so and rejected it.
    await queue.enqueue(queued(2));
    proxy.loseNextReplyAfterData();
    await expect(queue.enqueue(queued(3))).rejects.toMatchObject({ code: 'QUEUE_REJECTED' });
    await queue.enqueue(queued(3));
    // A different key is a different message, even with the same content.
    await queue.enqueue(queued(1, 'local', 'another-key'));
    await queue.close();
    expect(Object.fromEntries(await copies(dovecot, 'local'))).toEqual({ 1: 2, 2: 1, 3: 1 });
    // Dovecot's log process writes asynchronously: wait for the lines rather than read once.
    await expect.poll(async () => discardedCopies(await dovecot.logText())).toBe(2);
  });

  it('two offers of one key at the same moment, on two connections, leave one copy', async () => {
    const queue = smtpQueue({ host: '127.0.0.1', port: proxy.port, lmtp: true, maxConnections: 2 });
    for (let seq = 10; seq < 16; seq++) {
      await Promise.all([
        queue.enqueue(queued(seq, 'local', `race-${seq}`)),
        queue.enqueue(queued(seq, 'local', `race-${seq}`)),
      ]);
    }
    await queue.close();
    const seen = await copies(dovecot, 'local');
    for (let seq = 10; seq < 16; seq++) expect(seen.get(seq), `message ${seq}`).toBe(1);
  });
});
