import type { Schedule, ServerSettings } from '../config/index.js';
import type { Log } from '../log/index.js';
import type { MailboxSummary } from './cycle.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** The `on-user-check` limits limits of the `on-user-check` schedule. */
export type UserCheckLimits = Pick<
  Extract<Schedule, { mode: 'on-user-check' }>,
  'maxPerHour' | 'minMinutesBetween'
>;

/**
 * `on-user-check`/`on-user-check` limits: decides whether a user's mail check may trigger a collection, per user: at most
 * `maxPerHour` collections in any sliding hour (0 = no limit) and at least
 * `minMinutesBetween` minutes after the previous one (0 = no minimum).
 *
 * Kept in memory: after a restart every user may be collected once more at once, which is
 * harmless (the remote servers' own LOGIN-DELAY still applies through the back-off).
 *
 * @example
 * ```ts
 * const limiter = new UserCheckLimiter();
 * if (limiter.tryAcquire('ann@example.com', Date.now(), { maxPerHour: 4, minMinutesBetween: 10 })) collect();
 * ```
 */
export class UserCheckLimiter {
  // userId → start times (ms) of the collections in the last hour, oldest first.
  readonly #history = new Map<string, number[]>();

  /** True (and recorded) when a collection for `userId` may start at `now`. */
  tryAcquire(userId: string, now: number, limits: UserCheckLimits): boolean {
    const recent = (this.#history.get(userId) ?? []).filter((at) => at > now - HOUR_MS && at <= now);
    const last = recent.at(-1);
    const tooSoon =
      limits.minMinutesBetween > 0 && last !== undefined && now - last < limits.minMinutesBetween * MINUTE_MS;
    const tooMany = limits.maxPerHour > 0 && recent.length >= limits.maxPerHour;
    if (tooSoon || tooMany) {
      this.#store(userId, recent);
      return false;
    }
    recent.push(now);
    this.#store(userId, recent);
    return true;
  }

  /** Forgets a user's history (when the user is removed). */
  forget(userId: string): void {
    this.#history.delete(userId);
  }

  #store(userId: string, recent: number[]): void {
    if (recent.length === 0) this.#history.delete(userId);
    else this.#history.set(userId, recent);
  }
}

/**
 * `remote-cycle`/`remote-cycle` with `everyNth`: counts the host's remote-mail cycles; every `everyNth` one triggers a collection
 * (`everyNth: 1` is `remote-cycle`, every cycle).
 *
 * @example
 * ```ts
 * const cycles = new RemoteCycleCounter();
 * cycles.tick(3); cycles.tick(3); cycles.tick(3); // false, false, true
 * ```
 */
export class RemoteCycleCounter {
  #count = 0;

  /** Counts one cycle; true when this one is due. */
  tick(everyNth: number): boolean {
    this.#count++;
    if (this.#count >= Math.max(1, everyNth)) {
      this.#count = 0;
      return true;
    }
    return false;
  }

  /** Starts counting afresh (on start, and when the schedule changes). */
  reset(): void {
    this.#count = 0;
  }
}

/**
 * A one-shot timer that never keeps the process alive (`unref`), re-armed by its owner after
 * each tick so that every cycle reads the current interval.
 *
 * @example
 * ```ts
 * const timer = new UnrefTimer();
 * timer.arm(5 * 60_000, tick);
 * timer.disarm();
 * ```
 */
export class UnrefTimer {
  #handle: ReturnType<typeof setTimeout> | undefined;

  /** Replaces any armed timer with one that calls `fn` after `ms`. */
  arm(ms: number, fn: () => void): void {
    this.disarm();
    const handle = setTimeout(() => {
      if (this.#handle === handle) this.#handle = undefined;
      fn();
    }, ms);
    handle.unref?.();
    this.#handle = handle;
  }

  disarm(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  get armed(): boolean {
    return this.#handle !== undefined;
  }
}

/** What the {@link IntervalSchedule} needs from the fetcher. */
export interface IntervalScheduleDeps {
  /** The current settings (read at every arming and every tick, so a change applies at once). */
  readSettings: () => Promise<ServerSettings>;
  /** True while the fetcher is started; a tick after stop() does nothing. */
  isStarted: () => boolean;
  /** Runs a scheduled pass through the fetcher (tracked for stop(), never rejecting). */
  trigger: (run: () => Promise<MailboxSummary[]>) => unknown;
  /** One collection pass with the settings just read. */
  collect: (settings: ServerSettings) => Promise<MailboxSummary[]>;
  log: Log;
}

/**
 * `interval`: the `interval` schedule. Arms a timer from the settings; each tick re-reads the
 * settings, re-arms with the current period (or stops when the mode changed), then collects.
 * A directory that cannot be read keeps the previous period, so the schedule survives an
 * outage of the host's store.
 *
 * @example
 * ```ts
 * const schedule = new IntervalSchedule({ readSettings, isStarted, trigger, collect, log });
 * await schedule.arm();     // on start() and reload()
 * schedule.disarm();        // on stop()
 * ```
 */
export class IntervalSchedule {
  readonly #d: IntervalScheduleDeps;
  readonly #timer = new UnrefTimer();

  constructor(deps: IntervalScheduleDeps) {
    this.#d = deps;
  }

  /** Reads the schedule and arms the timer for `interval` mode (disarms it otherwise). */
  async arm(): Promise<void> {
    let settings: ServerSettings;
    try {
      settings = await this.#d.readSettings();
    } catch (err) {
      this.#d.log.error({ err }, 'could not read the settings; the schedule stays as it was');
      return;
    }
    if (!this.#d.isStarted()) return;
    const schedule = settings.schedule;
    if (schedule.mode === 'interval') this.#armFor(schedule.minutes);
    else this.#timer.disarm();
  }

  /** Stops the timer; a tick already under way still finishes. */
  disarm(): void {
    this.#timer.disarm();
  }

  /** True while a tick is scheduled. */
  get armed(): boolean {
    return this.#timer.armed;
  }

  #armFor(minutes: number): void {
    this.#timer.arm(minutes * 60_000, () => this.#tick(minutes));
  }

  // One interval cycle: re-read the settings, re-arm with the current period, collect.
  #tick(previousMinutes: number): void {
    this.#d.trigger(async () => {
      if (!this.#d.isStarted()) return [];
      let settings: ServerSettings;
      try {
        settings = await this.#d.readSettings();
      } catch (err) {
        // Keep the timer going: a directory that is down now may be back next time.
        this.#d.log.error({ err }, 'could not read the settings; trying again next interval');
        this.#armFor(previousMinutes);
        return [];
      }
      if (!this.#d.isStarted()) return [];
      const schedule = settings.schedule;
      if (schedule.mode !== 'interval') return [];
      this.#armFor(schedule.minutes);
      return this.#d.collect(settings);
    });
  }
}
