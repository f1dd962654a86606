import type { MultiPopError } from '../errors/index.js';

/** How long a failing mailbox waits before the schedule tries it again. */
export interface BackoffOptions {
  /**
   * Delay after the first failure, in ms; it doubles with each further consecutive failure.
   * @default 60_000
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, backoff: { baseMs: 30_000 } });
   * ```
   */
  baseMs?: number;
  /**
   * Longest delay, in ms (the doubling stops here).
   * @default 3_600_000
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, backoff: { maxMs: 6 * 3_600_000 } });
   * ```
   */
  maxMs?: number;
  /**
   * Source of randomness in [0, 1) for the jitter, replaceable so tests are deterministic.
   * @default Math.random
   * @example
   * ```ts
   * new MultiPopFetcher({ ...ports, backoff: { random: () => 0.5 } });
   * ```
   */
  random?: () => number;
}

/**
 * Failures that retrying soon cannot fix — the OAuth app refused by the provider, a valid
 * token refused by the POP3 server: retried at the longest delay only, so a fix applies
 * within that time without hammering the provider meanwhile.
 */
const NEEDS_A_PERSON: ReadonlySet<string> = new Set(['OAUTH_APP_REJECTED', 'OAUTH_TOKEN_REFUSED']);

/** {@link BackoffOptions} with every default applied. */
export type BackoffPolicy = Required<BackoffOptions>;

/** The defaults of {@link BackoffOptions}. */
export const defaultBackoff: BackoffPolicy = Object.freeze({
  baseMs: 60_000,
  maxMs: 3_600_000,
  random: Math.random,
});

/**
 * The delay before the next attempt after `consecutiveFailures` failures in a row (≥ 1).
 *
 * Exponential with "equal jitter": the nominal delay `min(max, base · 2^(n−1))` (`max` from the
 * first failure for `OAUTH_APP_REJECTED` and `OAUTH_TOKEN_REFUSED`) is spread over
 * its upper half, so many mailboxes that failed together (a host's network outage) do not all
 * come back in the same second, and none comes back sooner than half the nominal delay.
 *
 * When the server itself asked for a pause — `[IN-USE]` or `[LOGIN-DELAY]` with
 * `retryAfterSeconds` in the error's context, or a `LOGIN-DELAY n` capability seen earlier —
 * the delay is at least that long, even above `maxMs`: logging in sooner only fails again and
 * some servers lock the account for it.
 *
 * @example
 * ```ts
 * failureDelayMs(3, error, { baseMs: 60_000, maxMs: 3_600_000, random: () => 1 }); // 240_000
 * ```
 */
export function failureDelayMs(
  consecutiveFailures: number,
  error: Pick<MultiPopError, 'code' | 'context'>,
  policy: BackoffPolicy,
  knownLoginDelaySeconds?: number,
): number {
  const n = Math.max(1, consecutiveFailures);
  // 2^(n-1) overflows to Infinity for huge n; min() keeps the result finite. A configuration
  // problem that only a person can fix waits the longest delay from the start.
  const nominal = NEEDS_A_PERSON.has(error.code)
    ? policy.maxMs
    : Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 1023));
  const random = clamp01(policy.random());
  const jittered = Math.round(nominal / 2 + (nominal / 2) * random);
  return Math.max(jittered, serverDelayMs(error, knownLoginDelaySeconds));
}

/**
 * The pause the server asked for, in ms (0 when it asked for none): `retryAfterSeconds` from
 * an `IN_USE` or `LOGIN_DELAY` error, else for `LOGIN_DELAY` the advertised `LOGIN-DELAY`.
 *
 * @example
 * ```ts
 * serverDelayMs({ code: 'LOGIN_DELAY', context: { retryAfterSeconds: 900 } }); // 900_000
 * ```
 */
export function serverDelayMs(
  error: Pick<MultiPopError, 'code' | 'context'>,
  knownLoginDelaySeconds?: number,
): number {
  if (error.code !== 'IN_USE' && error.code !== 'LOGIN_DELAY') return 0;
  const fromError = error.context.retryAfterSeconds;
  if (typeof fromError === 'number' && Number.isFinite(fromError) && fromError > 0) return fromError * 1000;
  if (error.code === 'LOGIN_DELAY' && knownLoginDelaySeconds !== undefined && knownLoginDelaySeconds > 0) {
    return knownLoginDelaySeconds * 1000;
  }
  return 0;
}

function clamp01(value: number): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  return Math.min(value, 1);
}
