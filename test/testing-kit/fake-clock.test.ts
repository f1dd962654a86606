import { MultiPopError, MultiPopFetcher, parseConfig } from 'multipop';
import { fakeClock, memoryDirectory, memoryLedger, memoryQueue } from 'multipop/testing';
import { describe, expect, it } from 'vitest';

describe('fakeClock', () => {
  it('starts at the given time (a number or a Date) and stands still until moved', () => {
    expect(fakeClock(1_000).now()).toBe(1_000);
    const clock = fakeClock(new Date('2025-01-01T00:00:00Z'));
    expect(clock.now()).toBe(Date.UTC(2025, 0, 1));
    expect(clock.now()).toBe(Date.UTC(2025, 0, 1));
    expect(fakeClock().now()).toBe(0);
  });

  it('advances by a duration and jumps with set, returning the new time', () => {
    const clock = fakeClock(10);
    expect(clock.advance(5)).toBe(15);
    expect(clock.advance(0)).toBe(15);
    expect(clock.set(3)).toBe(3);
    expect(clock.now()).toBe(3);
  });

  it('keeps now bound, so it can be passed around as a plain function', () => {
    const clock = fakeClock(42);
    const { now } = clock;
    clock.advance(8);
    expect(now()).toBe(50);
    expect([1, 2].map(() => now())).toEqual([50, 50]);
  });

  it('refuses a negative or non-finite step and a non-finite time, changing nothing', () => {
    const clock = fakeClock(100);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.set(Number.NaN)).toThrow(RangeError);
    expect(() => fakeClock(new Date('not a date'))).toThrow(RangeError);
    expect(clock.now()).toBe(100);
  });
});

describe('fakeClock as the fetcher clock', () => {
  it('moves a failing mailbox through its back-off without waiting', async () => {
    const clock = fakeClock(Date.UTC(2025, 0, 1));
    let sessions = 0;
    const fetcher = new MultiPopFetcher({
      directory: memoryDirectory(
        parseConfig({
          users: [
            { id: 'ann', entries: [{ id: 'm1', server: 'pop.example.net', username: 'a', password: 'pw' }] },
          ],
        }),
      ),
      ledger: memoryLedger(),
      queue: memoryQueue(),
      now: clock.now,
      backoff: { baseMs: 60_000, maxMs: 60_000, random: () => 1 },
      runSession: async () => {
        sessions++;
        throw new MultiPopError('CONNECT_FAILED', 'down');
      },
    });
    expect((await fetcher.collectNow())[0]?.error?.code).toBe('CONNECT_FAILED');
    expect((await fetcher.statistics('m1'))?.nextAttemptAt).toBe(clock.now() + 60_000);
    clock.advance(59_999);
    expect((await fetcher.collectNow())[0]?.skipped).toBe('backoff');
    clock.advance(1);
    expect((await fetcher.collectNow())[0]?.error?.code).toBe('CONNECT_FAILED');
    expect(sessions).toBe(2);
    await fetcher.stop();
  });
});
