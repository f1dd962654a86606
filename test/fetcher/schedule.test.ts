import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RemoteCycleCounter, UserCheckLimiter } from '../../src/fetcher/schedule.js';
import { entry, setup } from './support.js';

const MINUTE = 60_000;

const users = [
  { id: 'ann', entries: [entry('ann-1', 'pop.a.example'), entry('ann-2', 'pop.b.example')] },
  { id: 'bob', entries: [entry('bob-1', 'pop.a.example')] },
];

describe('schedules (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('T5 interval: collects everyone every N minutes; the timer does not run before start()', async () => {
    const { fetcher, sessions } = setup(
      { settings: { schedule: { mode: 'interval', minutes: 5 } }, users },
      { now: () => Date.now() },
    );
    await vi.advanceTimersByTimeAsync(20 * MINUTE);
    expect(sessions.calls).toHaveLength(0);

    await fetcher.start();
    await vi.advanceTimersByTimeAsync(5 * MINUTE - 1);
    expect(sessions.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(sessions.calls.map((c) => c.entry.id).sort()).toEqual(['ann-1', 'ann-2', 'bob-1']);
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(sessions.calls).toHaveLength(9);
    await fetcher.stop();
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(sessions.calls).toHaveLength(9);
  });

  it('T5 interval: re-reads the settings each cycle (new period, switched off, S1 off)', async () => {
    const { fetcher, sessions, directory } = setup({
      settings: { schedule: { mode: 'interval', minutes: 5 } },
      users,
    });
    await fetcher.start();
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect(sessions.calls).toHaveLength(3);

    // The period set now applies from the next tick on (the pending tick keeps its time).
    const settings = await directory.getSettings();
    await directory.setSettings({ ...settings, schedule: { mode: 'interval', minutes: 20 } });
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect(sessions.calls).toHaveLength(6);
    await vi.advanceTimersByTimeAsync(19 * MINUTE);
    expect(sessions.calls).toHaveLength(6);
    await vi.advanceTimersByTimeAsync(1 * MINUTE);
    expect(sessions.calls).toHaveLength(9);

    // S1 off: the timer keeps ticking, nothing is collected.
    await directory.setSettings({ ...settings, enabled: false, schedule: { mode: 'interval', minutes: 20 } });
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(sessions.calls).toHaveLength(9);

    // Another mode: the timer stops at its next tick.
    await directory.setSettings({ ...settings, schedule: { mode: 'manual' } });
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(vi.getTimerCount()).toBe(0);
    expect(sessions.calls).toHaveLength(9);

    // reload() switches to interval at once.
    await directory.setSettings({ ...settings, schedule: { mode: 'interval', minutes: 1 } });
    await fetcher.reload();
    await vi.advanceTimersByTimeAsync(1 * MINUTE);
    expect(sessions.calls).toHaveLength(12);
    await fetcher.stop();
  });

  it('T1 remote-cycle: every call to onRemoteMailProcessed collects', async () => {
    const { fetcher, sessions } = setup({ settings: { schedule: { mode: 'remote-cycle' } }, users });
    expect(await fetcher.onRemoteMailProcessed()).toEqual([]); // not started
    await fetcher.start();
    const first = await fetcher.onRemoteMailProcessed();
    expect(first.map((s) => s.ok)).toEqual([true, true, true]);
    await fetcher.onRemoteMailProcessed();
    expect(sessions.calls).toHaveLength(6);
    await fetcher.stop();
  });

  it('T2 remote-cycle: every Nth call collects', async () => {
    const { fetcher, sessions } = setup({
      settings: { schedule: { mode: 'remote-cycle', everyNth: 3 } },
      users,
    });
    await fetcher.start();
    const collectedPerCall: number[] = [];
    for (let i = 0; i < 7; i++) collectedPerCall.push((await fetcher.onRemoteMailProcessed()).length);
    expect(collectedPerCall).toEqual([0, 0, 3, 0, 0, 3, 0]);
    expect(sessions.calls).toHaveLength(6);
    await fetcher.stop();
  });

  it('remote-cycle and user-check triggers do nothing in other modes', async () => {
    const { fetcher, sessions } = setup({ settings: { schedule: { mode: 'manual' } }, users });
    await fetcher.start();
    expect(await fetcher.onRemoteMailProcessed()).toEqual([]);
    expect(await fetcher.onUserCheckedMail('ann')).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect(sessions.calls).toHaveLength(0);
    expect(await fetcher.collectNow()).toHaveLength(3);
    await fetcher.stop();
  });

  it('T3 on-user-check: collects only that user’s entries', async () => {
    const { fetcher, sessions } = setup({ settings: { schedule: { mode: 'on-user-check' } }, users });
    await fetcher.start();
    const summaries = await fetcher.onUserCheckedMail('ann');
    expect(summaries.map((s) => s.mailboxId).sort()).toEqual(['ann-1', 'ann-2']);
    expect(sessions.calls.every((c) => c.userId === 'ann')).toBe(true);
    await fetcher.stop();
  });

  it('T4: at most N per hour (sliding window) and at least M minutes apart, per user', async () => {
    const { fetcher, sessions } = setup({
      settings: { schedule: { mode: 'on-user-check', maxPerHour: 3, minMinutesBetween: 10 } },
      users,
    });
    await fetcher.start();
    const at = async (minute: number, userId = 'ann') => {
      vi.setSystemTime(new Date(Date.UTC(2030, 0, 1, 0, 0) + minute * MINUTE));
      return (await fetcher.onUserCheckedMail(userId)).length > 0;
    };
    const outcome = [
      await at(0), // 1st
      await at(5), // only 5 minutes after → no
      await at(10), // 2nd
      await at(20), // 3rd
      await at(30), // 3 in the last hour → no
      await at(59), // still 3 (0, 10, 20) → no
      await at(60), // 0 left the window (60 min ago) → 4th
      await at(65), // minimum gap → no
      await at(75), // window (15, 75]: 20, 60 → 5th
    ];
    expect(outcome).toEqual([true, false, true, true, false, false, true, false, true]);
    // Limits are per user: bob is unaffected by ann's history.
    expect(await at(76, 'bob')).toBe(true);
    expect(sessions.callsFor('ann-1')).toHaveLength(5);
    expect(sessions.callsFor('bob-1')).toHaveLength(1);
    await fetcher.stop();
  });
});

describe('schedule building blocks', () => {
  it('UserCheckLimiter with no limits always allows', () => {
    const limiter = new UserCheckLimiter();
    const allowed = [0, 1, 2, 3].map((t) =>
      limiter.tryAcquire('u', t, { maxPerHour: 0, minMinutesBetween: 0 }),
    );
    expect(allowed).toEqual([true, true, true, true]);
  });

  it('RemoteCycleCounter: everyNth 1 fires every time; reset() restarts the count', () => {
    const counter = new RemoteCycleCounter();
    expect([counter.tick(1), counter.tick(1)]).toEqual([true, true]);
    counter.tick(2);
    counter.reset();
    expect([counter.tick(2), counter.tick(2)]).toEqual([false, true]);
  });
});
