import { afterAll, beforeAll, expect, it } from 'vitest';
import { passwordAuth } from '../../src/auth/index.js';
import type { CollectorEventName, CollectorEvents } from '../../src/collect/events.js';
import { runSession } from '../../src/collect/session.js';
import type { SessionOptions } from '../../src/collect/session-api.js';
import {
  type MailboxEntryInput,
  parseMailboxEntry,
  parseServerSettings,
  type ServerSettingsInput,
} from '../../src/config/index.js';
import { createLog } from '../../src/log/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { seqOf, testMessage } from '../support/messages.js';

const DAY = 24 * 60 * 60 * 1000;

describeWithDovecot('runSession against Dovecot: every policy end to end', () => {
  let dovecot: DovecotServer;
  let userCount = 0;

  beforeAll(async () => {
    const users = Array.from({ length: 12 }, (_, i) => ({ name: `u${i}`, password: `pw-${i}-secret` }));
    dovecot = await startDovecot({ users });
  });
  afterAll(async () => dovecot?.stop());

  /** A fresh Dovecot user seeded with `messages`, and a session factory for it. */
  async function mailbox(
    messages: Buffer[],
    entry: Partial<MailboxEntryInput> = {},
    settings: ServerSettingsInput = {},
  ) {
    const n = userCount++;
    const user = `u${n}`;
    await dovecot.seed(user, messages);
    const queue = memoryQueue();
    const ledger = memoryLedger();
    const events: { name: CollectorEventName; payload: unknown }[] = [];
    const parsedEntry = parseMailboxEntry({
      id: `entry-${n}`,
      server: `${dovecot.host}:${dovecot.popsPort}`,
      tls: 'implicit',
      username: user,
      password: `pw-${n}-secret`,
      ...entry,
    });
    const run = (overrides: Partial<SessionOptions> = {}) =>
      runSession({
        userId: 'ann@example.com',
        entry: parsedEntry,
        settings: parseServerSettings(settings),
        queue,
        ledger,
        auth: passwordAuth(),
        emit: <K extends CollectorEventName>(name: K, payload: CollectorEvents[K]) =>
          events.push({ name, payload }),
        log: createLog(false),
        connection: { tlsOptions: { ca: dovecot.caPem } },
        ...overrides,
      });
    return { user, queue, ledger, events, run, entry: parsedEntry };
  }

  function delivered(queue: ReturnType<typeof memoryQueue>, originals: Buffer[]) {
    for (const stored of queue.messages) {
      const seq = seqOf(stored.content)!;
      const original = originals.find((m) => seqOf(m) === seq)!;
      expect(stored.content.subarray(stored.content.length - original.length).equals(original)).toBe(true);
      expect(stored.content.subarray(0, stored.content.length - original.length).toString('latin1')).toMatch(
        /^Received: from 127\.0\.0\.1[\s\S]*X-MultiPOP-Source: entry-\d+; uidl=/,
      );
    }
    return queue.messages.map((m) => seqOf(m.content)).sort((a, b) => a! - b!);
  }

  it('delete mode: collects every message byte for byte and empties the server', async () => {
    const originals = [0, 1, 2, 3, 4].map((i) => testMessage(i, 500 + i * 3000));
    const box = await mailbox(originals);
    const result = await box.run();
    expect(result).toMatchObject({ collected: 5, deleted: 5, onServer: 5, skipped: 0 });
    expect(delivered(box.queue, originals)).toEqual([0, 1, 2, 3, 4]);
    expect(await dovecot.messages(box.user)).toHaveLength(0);
    expect((await box.ledger.load(box.entry.id)).size).toBe(0);
    expect(box.queue.messages[0]!.recipient).toBe('ann@example.com');
    expect(box.queue.messages[0]!.metadata?.messageId).toBe('<seq-0@multipop.test>');
    const names = box.events.map((e) => e.name);
    expect(names[0]).toBe('session:start');
    expect(names.at(-1)).toBe('session:end');
    expect(names.filter((n) => n === 'message:collected')).toHaveLength(5);
  });

  it('leave mode: keeps the messages, and the next session delivers nothing again', async () => {
    const originals = [10, 11, 12].map((i) => testMessage(i));
    const box = await mailbox(originals, { leaveOnServer: true });
    expect(await box.run()).toMatchObject({ collected: 3, deleted: 0 });
    expect(await dovecot.messages(box.user)).toHaveLength(3);
    expect(await box.run()).toMatchObject({ collected: 0, deleted: 0, onServer: 3 });
    expect(box.queue.messages).toHaveLength(3);
    await dovecot.seed(box.user, [testMessage(13)]);
    expect(await box.run()).toMatchObject({ collected: 1, onServer: 4 });
    expect(delivered(box.queue, [...originals, testMessage(13)])).toEqual([10, 11, 12, 13]);
  });

  it('S2 "always delete" overrides leave-on-server', async () => {
    const box = await mailbox(
      [testMessage(20), testMessage(21)],
      { leaveOnServer: true },
      { alwaysDelete: true },
    );
    expect(await box.run()).toMatchObject({ collected: 2, deleted: 2 });
    expect(await dovecot.messages(box.user)).toHaveLength(0);
  });

  it('M6: deletes kept messages N days after they were first collected (injected clock)', async () => {
    let now = Date.UTC(2026, 0, 1);
    const box = await mailbox([testMessage(30), testMessage(31)], {
      leaveOnServer: true,
      deleteAfterDays: 3,
    });
    expect(await box.run({ now: () => now })).toMatchObject({ collected: 2, deleted: 0 });
    now += 2 * DAY;
    await dovecot.seed(box.user, [testMessage(32)]);
    expect(await box.run({ now: () => now })).toMatchObject({ collected: 1, deleted: 0 });
    now += 1 * DAY + 1000; // the first two are now 3 days old, the third only 1
    expect(await box.run({ now: () => now })).toMatchObject({ collected: 0, deleted: 2 });
    const left = await dovecot.messages(box.user);
    expect(left.map((m) => seqOf(m))).toEqual([32]);
    expect(box.queue.messages).toHaveLength(3);
  });

  it('M7: skips over-size messages, reports them once, and leaves them on the server', async () => {
    const big = testMessage(41, 40_000);
    const box = await mailbox([testMessage(40), big], { maxMessageSizeKb: 20 });
    expect(await box.run()).toMatchObject({ collected: 1, skipped: 1, deleted: 1 });
    expect(await box.run()).toMatchObject({ collected: 0, skipped: 1, deleted: 0 });
    const skipped = box.events.filter((e) => e.name === 'message:skipped');
    expect(skipped).toHaveLength(1);
    expect((await dovecot.messages(box.user)).map((m) => seqOf(m))).toEqual([41]);
  });

  it('M7 + S7: over-size messages are deleted without being downloaded', async () => {
    const box = await mailbox(
      [testMessage(50), testMessage(51, 40_000)],
      { maxMessageSizeKb: 20 },
      { deleteOversized: true },
    );
    expect(await box.run()).toMatchObject({ collected: 1, deleted: 2 });
    expect(box.queue.messages.map((m) => seqOf(m.content))).toEqual([50]);
    expect(await dovecot.messages(box.user)).toHaveLength(0);
  });

  it('a queue that refuses message k: k stays on the server, nothing after it is lost', async () => {
    const originals = [60, 61, 62, 63].map((i) => testMessage(i));
    const box = await mailbox(originals);
    let calls = 0;
    const refusing = memoryQueue({
      beforeAccept() {
        if (++calls === 2) throw new Error('disk full');
      },
    });
    await expect(box.run({ queue: refusing })).rejects.toMatchObject({ code: 'QUEUE_REJECTED' });
    // The first message was accepted and deleted; the refused one stays, and fetching stops
    // there. Messages already in flight behind it (the session keeps several enqueues going at
    // once) may have been accepted too: each one is either accepted and deleted, or still there.
    const accepted = refusing.messages.map((m) => seqOf(m.content));
    expect(accepted[0]).toBe(60);
    expect(accepted).not.toContain(61);
    const left = (await dovecot.messages(box.user)).map((m) => seqOf(m));
    expect([...accepted, ...left].sort()).toEqual([60, 61, 62, 63]);
    expect(left).toContain(61);
    // The next session (the queue works again) collects the rest, exactly once.
    expect(await box.run({ queue: refusing })).toMatchObject({ collected: left.length });
    expect(delivered(refusing, originals)).toEqual([60, 61, 62, 63]);
    expect(await dovecot.messages(box.user)).toHaveLength(0);
  });

  it('STARTTLS on the plain port works like implicit TLS', async () => {
    const box = await mailbox([testMessage(70)], {
      server: `${dovecot.host}:${dovecot.popPort}`,
      tls: 'starttls',
    });
    expect(await box.run()).toMatchObject({ collected: 1, deleted: 1 });
  });

  it('a wrong password fails with AUTH_FAILED and changes nothing', async () => {
    const box = await mailbox([testMessage(80)], { password: 'wrong-password' });
    await expect(box.run()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(await dovecot.messages(box.user)).toHaveLength(1);
    expect(box.queue.messages).toHaveLength(0);
  });
});
