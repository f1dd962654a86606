/**
 * Message identity through the whole collector (MultiPopFetcher → session → ledger → queue),
 * against the fake server's identity personalities — the misbehaviours a real server won't make
 * on demand: a UIDL hiccup with UIDL in CAPA, every UIDL changed with the content unchanged, ids
 * that are message numbers (reused after deletions elsewhere), and UIDLs listed twice. Each runs
 * in both modes, with new mail arriving after the event: every message ends up in the queue
 * exactly once, and the event or error is asserted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectorEvents } from '../../src/collect/events.js';
import { parseConfig } from '../../src/config/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { memoryDirectory, memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { fakeClock } from '../../src/testing/fake-clock.js';
import {
  type FakePop3Fault,
  type FakePop3Options,
  type FakePop3Server,
  startFakePop3Server,
} from '../../src/testing/fake-pop3/index.js';
import { seqOf, testMessage } from '../support/messages.js';

const DAY = 86_400_000;

/** A message of exactly `260 + bodyBytes` bytes whatever `seq` is (< 100000): same-size look-alikes. */
function sameSize(seq: number, bodyBytes = 400): Buffer {
  const padded = String(seq).padStart(5, '0');
  const head = [
    `Message-ID: <same-${padded}@multipop.test>`,
    'From: Sender <sender@example.net>',
    'To: ann@example.com',
    `Subject: look-alike ${padded}`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    `X-Test-Seq: ${seq}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.from(`${head}${'x'.repeat(bodyBytes - 2)}\r\n`, 'latin1');
}

let server: FakePop3Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Setup {
  messages: Array<Buffer | { data: Buffer; uid?: string }>;
  leaveOnServer: boolean;
  deleteAfterDays?: number;
  server?: Omit<FakePop3Options, 'users'>;
}

async function collector(setup: Setup) {
  server = await startFakePop3Server({
    users: [{ name: 'ann', password: 'pw', messages: setup.messages }],
    capabilities: { pipelining: true },
    ...setup.server,
  });
  const queue = memoryQueue();
  const ledger = memoryLedger();
  const clock = fakeClock(Date.UTC(2026, 0, 1));
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
                leaveOnServer: setup.leaveOnServer,
                deleteAfterDays: setup.deleteAfterDays ?? 0,
              },
            ],
          },
        ],
      }),
    ),
    ledger,
    queue,
    now: clock.now,
    connection: { timeouts: { connect: 5_000, greeting: 5_000, idle: 5_000 } },
  });
  const events: { name: string; payload: unknown }[] = [];
  for (const name of ['mailbox:uidls-changed', 'mailbox:duplicate-uidls', 'mailbox:error'] as const) {
    fetcher.on(name, (payload) => events.push({ name, payload }));
  }
  const fakeServer = server;
  const collect = async () => {
    clock.advance(DAY); // past any back-off
    const [summary] = await fetcher.collectNow({ force: true });
    return summary!;
  };
  /** `X-Test-Seq` of every message in the queue, in queue order. */
  const delivered = () => queue.messages.map((m) => seqOf(m.content));
  const onServer = () => fakeServer.mailbox('ann').messages.map((m) => seqOf(m));
  const eventsNamed = <K extends keyof CollectorEvents>(name: K) =>
    events.filter((e) => e.name === name).map((e) => e.payload as CollectorEvents[K]);
  return { server: fakeServer, queue, ledger, clock, fetcher, collect, delivered, onServer, eventsNamed };
}

const sorted = (values: (number | undefined)[]) => [...values].sort((a, b) => (a ?? 0) - (b ?? 0));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Session 1 in delete mode is cut off at QUIT: collected, DELE sent, nothing deleted on the server. */
const dropFirstQuit: FakePop3Fault[] = [{ action: 'drop', when: { step: 'QUIT', nth: 1 } }];

describe.each([
  { mode: 'leave on server', leaveOnServer: true },
  { mode: 'delete', leaveOnServer: false },
])('identity personalities, $mode', ({ leaveOnServer }) => {
  const firstFaults = (more: FakePop3Fault[] = []) => (leaveOnServer ? more : [...dropFirstQuit, ...more]);
  const expectFirstSession = (summary: { ok: boolean; error?: { code: string } }) => {
    if (leaveOnServer) expect(summary.ok).toBe(true);
    else expect(summary.error?.code).toBe('CONNECTION_CLOSED');
  };

  it('UIDL -ERR once while CAPA lists UIDL: UIDL_FAILED, ledger untouched, nothing delivered again', async () => {
    const c = await collector({
      messages: range(1, 12).map((i) => testMessage(i, 500 + i * 37)),
      leaveOnServer,
      server: {
        faults: firstFaults([{ action: 'respond', when: { step: 'UIDL', nth: 2 }, line: '-ERR try later' }]),
      },
    });
    expectFirstSession(await c.collect());
    expect(sorted(c.delivered())).toEqual(range(1, 12));
    const before = await c.ledger.load('ann-remote');

    const hiccup = await c.collect();
    expect(hiccup.error?.code).toBe('UIDL_FAILED');
    expect(await c.ledger.load('ann-remote')).toEqual(before);
    expect(c.delivered()).toHaveLength(12);
    expect(c.eventsNamed('mailbox:error').at(-1)?.error.code).toBe('UIDL_FAILED');

    c.server.addMessage('ann', testMessage(13, 900));
    const after = await c.collect();
    expect(after.ok).toBe(true);
    expect(sorted(c.delivered())).toEqual(range(1, 13));
    expect(c.onServer()).toEqual(leaveOnServer ? range(1, 13) : []);
  });

  it('every UIDL changed, content the same: ledger re-keyed, 0 delivered again, new mail collected', async () => {
    const c = await collector({
      messages: range(1, 40).map((i) => testMessage(i, 400 + (i % 7) * 50)),
      leaveOnServer,
      server: { faults: firstFaults() },
    });
    expectFirstSession(await c.collect());
    expect(c.delivered()).toHaveLength(40);

    c.server.renameUids('ann', (_uid, i) => `rebuilt-${i}`);
    c.server.addMessage('ann', testMessage(41, 777));
    c.server.addMessage('ann', testMessage(42, 450)); // the size of some old ones: the fingerprint tells
    const summary = await c.collect();
    expect(summary.ok).toBe(true);
    expect(sorted(c.delivered())).toEqual(range(1, 42));
    const [changed] = c.eventsNamed('mailbox:uidls-changed');
    expect(changed?.mass).toBe(true);
    expect(changed?.rekeyed).toHaveLength(40);
    expect(changed?.rekeyed[0]).toEqual({ from: 'uid-1', to: 'rebuilt-0' });
    expect(c.onServer()).toEqual(leaveOnServer ? range(1, 42) : []);

    // The ledger now knows the new ids: the next session is quiet.
    const quiet = await c.collect();
    expect(quiet).toMatchObject({ ok: true, result: { collected: 0 } });
    expect(c.eventsNamed('mailbox:uidls-changed')).toHaveLength(1);
  });

  it('ids are message numbers, reused after deletions elsewhere: the new mail is collected, nothing twice', async () => {
    // Distinct sizes for most, and look-alikes of one size that only the header fingerprint tells apart.
    const messages = [
      ...range(1, 6).map((i) => testMessage(i, 300 + i * 91)),
      ...range(7, 12).map((i) => sameSize(i)),
    ];
    const c = await collector({
      messages,
      leaveOnServer,
      server: { uidls: 'message-number', faults: firstFaults() },
    });
    expectFirstSession(await c.collect());
    expect(sorted(c.delivered())).toEqual(range(1, 12));

    c.server.removeMessages('ann', [0, 1, 6]); // the user deleted 1, 2 and 7 with another client
    for (const seq of [13, 14]) c.server.addMessage('ann', sameSize(seq));
    c.server.addMessage('ann', testMessage(15, 1_234));
    const summary = await c.collect();
    expect(summary.ok).toBe(true);
    expect(sorted(c.delivered())).toEqual(range(1, 15));
    expect(c.eventsNamed('mailbox:uidls-changed')[0]?.rekeyed.length).toBeGreaterThan(0);
    const left = leaveOnServer ? [3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15] : [];
    expect(c.onServer()).toEqual(left);

    const quiet = await c.collect();
    expect(quiet).toMatchObject({ ok: true, result: { collected: 0 } });
    expect(c.delivered()).toHaveLength(15);
  });

  it('duplicate UIDLs in one listing: reported, and each distinct message collected exactly once', async () => {
    const c = await collector({
      messages: [
        testMessage(1, 500),
        { data: testMessage(2, 600), uid: 'same-id' },
        testMessage(3, 700),
        { data: testMessage(4, 800), uid: 'same-id' },
        { data: testMessage(5, 900), uid: 'same-id' },
      ],
      leaveOnServer,
    });
    const first = await c.collect();
    expect(first.ok).toBe(true);
    expect(sorted(c.delivered())).toEqual(range(1, 5));
    expect(c.eventsNamed('mailbox:duplicate-uidls')[0]?.uidls).toEqual(['same-id']);

    c.server.addMessage('ann', { data: testMessage(6, 1_000), uid: 'same-id' });
    const second = await c.collect();
    expect(second.ok).toBe(true);
    expect(sorted(c.delivered())).toEqual(range(1, 6));
    expect(c.onServer()).toEqual(leaveOnServer ? range(1, 6) : []);
    const third = await c.collect();
    expect(third).toMatchObject({ ok: true, result: { collected: 0 } });
  });
});

describe('identity and deletion: nothing is deleted unread', () => {
  it('M6 with message-number ids of look-alike messages: the new ones are collected, not deleted', async () => {
    const c = await collector({
      messages: range(1, 10).map((i) => sameSize(i)),
      leaveOnServer: true,
      deleteAfterDays: 3,
      server: { uidls: 'message-number' },
    });
    expect((await c.collect()).ok).toBe(true);
    c.server.removeMessages('ann', [0, 1, 2]);
    for (const seq of [11, 12, 13]) c.server.addMessage('ann', sameSize(seq));
    c.clock.advance(3 * DAY);
    const summary = await c.collect(); // the old ones are due: they go; the new ones are collected and stay
    expect(summary.ok).toBe(true);
    expect(sorted(c.delivered())).toEqual(range(1, 13));
    expect(c.onServer()).toEqual([11, 12, 13]);
  });

  it('a mass change that cannot be confirmed (no TOP) pauses the mailbox with IDENTITY_UNCERTAIN', async () => {
    const c = await collector({
      messages: range(1, 12).map((i) => sameSize(i)),
      leaveOnServer: true,
      server: { capabilities: { top: false, pipelining: true } },
    });
    expect((await c.collect()).ok).toBe(true);
    c.server.renameUids('ann', (_uid, i) => `moved-${i}`);
    const before = await c.ledger.load('ann-remote');
    const paused = await c.collect();
    expect(paused.error?.code).toBe('IDENTITY_UNCERTAIN');
    expect(paused.error?.context).toMatchObject({ known: 12, lost: 12, unconfirmed: 12 });
    expect(await c.ledger.load('ann-remote')).toEqual(before);
    expect(c.delivered()).toHaveLength(12);

    // Paused: the schedule leaves it alone; only an administrator resolves it.
    c.clock.advance(DAY);
    expect((await c.fetcher.collectNow())[0]?.skipped).toBe('identity-uncertain');
    await expect(
      c.fetcher.resolveIdentity({ role: 'user', userId: 'ann@example.com' }, 'ann-remote', 'collect-as-new'),
    ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const resolved = await c.fetcher.resolveIdentity({ role: 'admin' }, 'ann-remote', 'collect-as-new');
    expect(resolved).toMatchObject({ ok: true, result: { collected: 12 } });
    expect(c.delivered()).toHaveLength(24); // what the administrator chose
    c.clock.advance(DAY);
    expect((await c.fetcher.collectNow())[0]).toMatchObject({ ok: true, result: { collected: 0 } });
  });
});
