import { describe, expect, it } from 'vitest';
import type { CollectorEvents } from '../../src/collect/events.js';
import { MultiPopError } from '../../src/errors/index.js';
import { defaultBackoff, failureDelayMs, serverDelayMs } from '../../src/fetcher/backoff.js';
import { entry, result, setup } from './support.js';

const MINUTE = 60_000;

describe('failure isolation, back-off and recovery', () => {
  it('one failing mailbox never stops the others; its typed error is in its summary and event', async () => {
    const { fetcher, sessions } = setup({
      users: [
        { id: 'ann', entries: [entry('ann-1'), entry('ann-bad')] },
        { id: 'bob', entries: [entry('bob-1', 'pop.other.example')] },
      ],
    });
    sessions.when('ann-bad', () => {
      throw new MultiPopError('AUTH_FAILED', 'bad password', { mailboxId: 'ann-bad' });
    });
    const errors: CollectorEvents['mailbox:error'][] = [];
    fetcher.on('mailbox:error', (e) => errors.push(e));
    const summaries = await fetcher.collectNow();
    const byId = Object.fromEntries(summaries.map((s) => [s.mailboxId, s]));
    expect(byId['ann-1']?.ok).toBe(true);
    expect(byId['bob-1']?.ok).toBe(true);
    expect(byId['ann-bad']).toMatchObject({ ok: false, error: { code: 'AUTH_FAILED' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      mailboxId: 'ann-bad',
      userId: 'ann',
      host: 'pop.example.com',
      consecutiveFailures: 1,
    });
    expect(errors[0]?.error.code).toBe('AUTH_FAILED');
  });

  it('a TypeError thrown by a session (a bug) becomes a typed INTERNAL error with the cause kept', async () => {
    const { fetcher, sessions } = setup({ users: [{ id: 'ann', entries: [entry('ann-1')] }] });
    const boom = new TypeError('boom');
    sessions.when('ann-1', () => {
      throw boom;
    });
    const [summary] = await fetcher.collectNow();
    expect(summary?.error).toBeInstanceOf(MultiPopError);
    expect(summary?.error?.code).toBe('INTERNAL');
    expect(summary?.error?.cause).toBe(boom);
  });

  it('backs off exponentially per consecutive failure (capped), and recovers with an event', async () => {
    let clock = 10_000_000;
    const { fetcher, sessions, ledger } = setup(
      { users: [{ id: 'ann', entries: [entry('ann-1')] }] },
      { now: () => clock, backoff: { baseMs: MINUTE, maxMs: 5 * MINUTE, random: () => 1 } },
    );
    let failing = true;
    sessions.when('ann-1', () => {
      if (failing) throw new MultiPopError('CONNECT_FAILED', 'refused', {});
      return result(4);
    });
    const recovered: CollectorEvents['mailbox:recovered'][] = [];
    fetcher.on('mailbox:recovered', (e) => recovered.push(e));

    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await fetcher.collectNow();
      const status = await ledger.loadStatus('ann-1');
      delays.push((status?.nextAttemptAt ?? 0) - clock);
      // Not due yet: skipped, no new session.
      expect((await fetcher.collectNow())[0]?.skipped).toBe('backoff');
      clock = status?.nextAttemptAt ?? clock;
    }
    expect(delays).toEqual([1, 2, 4, 5, 5].map((m) => m * MINUTE));
    expect(sessions.calls).toHaveLength(5);
    expect(await ledger.loadStatus('ann-1')).toMatchObject({
      consecutiveFailures: 5,
      lastErrorCode: 'CONNECT_FAILED',
      lastErrorMessage: 'refused',
    });

    failing = false;
    const [ok] = await fetcher.collectNow();
    expect(ok?.ok).toBe(true);
    expect(recovered).toEqual([
      { userId: 'ann', mailboxId: 'ann-1', host: 'pop.example.com', afterFailures: 5 },
    ]);
    const status = await ledger.loadStatus('ann-1');
    expect(status).toMatchObject({
      consecutiveFailures: 0,
      lastSuccessAt: clock,
      totalMessages: 4,
      totalBytes: 400,
      totalSessions: 6,
    });
    expect(status?.nextAttemptAt).toBeUndefined();
    // A second success is no recovery.
    await fetcher.collectNow();
    expect(recovered).toHaveLength(1);
  });

  it('IN_USE and LOGIN_DELAY wait at least as long as the server asked', async () => {
    const clock = 0;
    const { fetcher, sessions, ledger } = setup(
      { users: [{ id: 'ann', entries: [entry('in-use'), entry('delay', 'pop.other.example')] }] },
      { now: () => clock, backoff: { baseMs: MINUTE, maxMs: 10 * MINUTE, random: () => 0 } },
    );
    sessions.when('in-use', () => {
      throw new MultiPopError('IN_USE', 'locked', { responseCode: 'IN-USE', retryAfterSeconds: 1800 });
    });
    sessions.when('delay', () => {
      throw new MultiPopError('LOGIN_DELAY', 'too soon', {
        responseCode: 'LOGIN-DELAY',
        retryAfterSeconds: 120,
      });
    });
    await fetcher.collectNow();
    // 30 minutes even above maxMs; 2 minutes above the jittered 30 s.
    expect((await ledger.loadStatus('in-use'))?.nextAttemptAt).toBe(30 * MINUTE);
    expect((await ledger.loadStatus('delay'))?.nextAttemptAt).toBe(2 * MINUTE);
  });

  it('a server-advertised LOGIN-DELAY after a success defers the next attempt and serves as the floor', async () => {
    let clock = 0;
    const { fetcher, sessions, ledger } = setup(
      { users: [{ id: 'ann', entries: [entry('ann-1')] }] },
      { now: () => clock, backoff: { baseMs: 1000, maxMs: 2000, random: () => 0 } },
    );
    sessions.when('ann-1', (_o, call) => {
      if (call === 1) return { ...result(1), loginDelaySeconds: 300 };
      throw new MultiPopError('LOGIN_DELAY', 'too soon', {});
    });
    await fetcher.collectNow();
    expect((await ledger.loadStatus('ann-1'))?.nextAttemptAt).toBe(300_000);
    expect((await fetcher.collectNow())[0]?.skipped).toBe('backoff');
    clock = 300_000;
    await fetcher.collectNow();
    expect((await ledger.loadStatus('ann-1'))?.nextAttemptAt).toBe(600_000);
  });

  it('statistics come from the persisted statuses', async () => {
    const { fetcher, sessions } = setup({
      users: [{ id: 'ann', entries: [entry('a'), entry('b'), entry('c')] }],
    });
    sessions.when('c', () => {
      throw new MultiPopError('SYS_TEMP', 'try later', {});
    });
    await fetcher.collectNow();
    await fetcher.collectNow({ force: true });
    const stats = await fetcher.statistics();
    expect(stats.totals).toEqual({
      mailboxes: 3,
      messages: 4,
      bytes: 400,
      sessions: 6,
      failing: 1,
      needsPermission: 0,
    });
    expect(stats.mailboxes.map((m) => m.mailboxId)).toEqual(['a', 'b', 'c']);
    expect(await fetcher.statistics('c')).toMatchObject({
      consecutiveFailures: 2,
      lastErrorCode: 'SYS_TEMP',
    });
    expect(await fetcher.statistics('nope')).toBeUndefined();
  });

  it('a listener that throws does not break collection; the error is logged', async () => {
    const logged: string[] = [];
    const { fetcher, sessions } = setup(
      { users: [{ id: 'ann', entries: [entry('a'), entry('b')] }] },
      { logger: { debug() {}, info() {}, warn() {}, error: (_o, msg) => logged.push(String(msg)) } },
    );
    sessions.when('*', () => {
      throw new MultiPopError('AUTH_FAILED', 'no', {});
    });
    const seen: string[] = [];
    fetcher.on('mailbox:error', () => {
      throw new Error('listener bug');
    });
    fetcher.on('mailbox:error', (e) => seen.push(e.mailboxId));
    const summaries = await fetcher.collectNow();
    expect(summaries.map((s) => s.error?.code)).toEqual(['AUTH_FAILED', 'AUTH_FAILED']);
    expect(seen.sort()).toEqual(['a', 'b']);
    expect(logged.filter((m) => m.includes('listener'))).toHaveLength(2);
  });
});

describe('failureDelayMs / serverDelayMs', () => {
  const policy = { ...defaultBackoff, baseMs: 1000, maxMs: 8000 };
  const error = { code: 'CONNECT_FAILED' as const, context: {} };

  it('spreads the nominal delay over its upper half (equal jitter)', () => {
    expect(failureDelayMs(1, error, { ...policy, random: () => 0 })).toBe(500);
    expect(failureDelayMs(1, error, { ...policy, random: () => 0.5 })).toBe(750);
    expect(failureDelayMs(3, error, { ...policy, random: () => 0.999999 })).toBe(4000);
    expect(failureDelayMs(50, error, { ...policy, random: () => 1 })).toBe(8000);
    expect(failureDelayMs(5000, error, { ...policy, random: () => 1 })).toBe(8000);
  });

  it('takes the server’s delay only for IN_USE and LOGIN_DELAY', () => {
    expect(serverDelayMs({ code: 'IN_USE', context: { retryAfterSeconds: 5 } })).toBe(5000);
    expect(serverDelayMs({ code: 'LOGIN_DELAY', context: {} }, 60)).toBe(60_000);
    expect(serverDelayMs({ code: 'IN_USE', context: {} }, 60)).toBe(0);
    expect(serverDelayMs({ code: 'AUTH_FAILED', context: { retryAfterSeconds: 5 } })).toBe(0);
  });
});
