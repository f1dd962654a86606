/**
 * A clock a test moves by hand. Everything in multipop that needs the time takes a
 * `now: () => number` option (the fetcher, sessions, the OAuth service) and never reads
 * `Date.now()` behind its back, so a test can pass `clock.now` and step through days of
 * back-off or an `entry.deleteAfterDays` "delete after N days" policy without waiting and without mocking globals.
 *
 * It does not drive timers: the fetcher's `interval` schedule still uses real (unref'd) timers.
 * Tests of the schedule call the triggers (`collectNow`, `onRemoteMailProcessed`,
 * `onUserCheckedMail`) instead.
 *
 * @example
 * ```ts
 * import { fakeClock } from 'multipop/testing';
 * const clock = fakeClock(Date.UTC(2025, 0, 1));
 * const fetcher = new MultiPopFetcher({ directory, ledger, queue, now: clock.now });
 * clock.advance(8 * 86_400_000); // eight days later
 * ```
 */
export interface FakeClock {
  /**
   * The current fake time in ms since the epoch. A bound function: pass `clock.now` itself
   * wherever an option wants `() => number`.
   *
   * @example
   * ```ts
   * const session = { now: clock.now };
   * clock.now(); // 1735689600000
   * ```
   */
  readonly now: () => number;
  /**
   * Moves the clock forward by `ms` (0 or more) and returns the new time.
   *
   * @example
   * ```ts
   * clock.advance(60_000); // one minute later
   * ```
   * @throws RangeError when `ms` is negative or not a finite number (time does not run backwards
   *   by accident; use {@link FakeClock.set} to jump on purpose)
   */
  advance(ms: number): number;
  /**
   * Sets the clock to `ms` since the epoch (forwards or backwards, e.g. to test a host whose
   * clock was corrected) and returns it.
   *
   * @example
   * ```ts
   * clock.set(Date.UTC(2025, 5, 30));
   * ```
   * @throws RangeError when `ms` is not a finite number
   */
  set(ms: number): number;
}

/**
 * Makes a {@link FakeClock} that starts at `start` (ms since the epoch, or a `Date`) and moves
 * only when told to.
 *
 * @param start - the initial time (default: 0, the epoch)
 * @example
 * ```ts
 * import { fakeClock } from 'multipop/testing';
 * const clock = fakeClock(new Date('2025-01-01T00:00:00Z'));
 * clock.advance(1_000);
 * clock.now(); // Date.parse('2025-01-01T00:00:01Z')
 * ```
 * @throws RangeError when `start` is not a finite time
 */
export function fakeClock(start: number | Date = 0): FakeClock {
  let current = finiteTime(start instanceof Date ? start.getTime() : start, 'start');
  return {
    now: () => current,
    advance(ms: number): number {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`fakeClock.advance: ms must be a finite number ≥ 0, got ${ms}`);
      }
      current += ms;
      return current;
    },
    set(ms: number): number {
      current = finiteTime(ms, 'set');
      return current;
    },
  };
}

function finiteTime(ms: number, what: string): number {
  if (!Number.isFinite(ms)) throw new RangeError(`fakeClock ${what}: not a finite time (${ms})`);
  return ms;
}
