import { MultiPopError } from '../errors/index.js';
import type { Pop3Limits, Pop3Timeouts } from './api.js';

/**
 * Default timeouts of the POP3 client, in milliseconds.
 *
 * @example
 * ```ts
 * const client = await Pop3Client.connect({
 *   host: 'pop.example.com', port: 995, tls: 'implicit', timeouts: { idle: 2 * DEFAULT_TIMEOUTS.idle },
 * });
 * ```
 */
export const DEFAULT_TIMEOUTS: Readonly<Pop3Timeouts> = Object.freeze({
  connect: 15_000,
  greeting: 15_000,
  idle: 60_000,
});

/**
 * Default bounds on what a POP3 server may send. Everything a server sends is untrusted input:
 * each bound turns into one error shape (`LIMIT_EXCEEDED`, see `limitExceeded`) and ends the session.
 *
 * @example
 * ```ts
 * const client = await Pop3Client.connect({
 *   host: 'pop.example.com', port: 995, tls: 'implicit',
 *   limits: { maxLineLength: 2 * DEFAULT_LIMITS.maxLineLength, maxMessageSize: 50 * 1024 * 1024 },
 * });
 * ```
 */
export const DEFAULT_LIMITS: Readonly<Pop3Limits> = Object.freeze({
  maxLineLength: 8192,
  maxMessageSize: Number.POSITIVE_INFINITY,
  maxListingEntries: 1_000_000,
});

/**
 * Commands in flight when the server advertises PIPELINING and the caller did not choose a
 * window. Large enough to hide a long round trip for small messages, small enough that a
 * failed session rejects a bounded number of operations.
 */
export const DEFAULT_PIPELINE_WINDOW = 64;

/**
 * RFC 2449 §4: a command line, CRLF included, is at most 255 octets. SASL initial responses
 * that would exceed it are sent after a `+` continuation instead (RFC 5034 §4).
 */
export const MAX_COMMAND_LENGTH = 255;

/**
 * Fills in defaults for the limits a caller left out and checks the ones given.
 *
 * @example
 * ```ts
 * resolveLimits({ maxLineLength: 1024 }).maxMessageSize // → Infinity
 * ```
 */
export function resolveLimits(partial: Partial<Pop3Limits> = {}): Pop3Limits {
  const limits = { ...DEFAULT_LIMITS, ...stripUndefined(partial) };
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
      throw new MultiPopError('CONFIG_INVALID', `POP3 limit ${key} must be a positive number`, {
        field: `limits.${key}`,
      });
    }
  }
  // A line must at least hold "+OK" and CRLF; anything lower is a configuration mistake.
  if (limits.maxLineLength < 16) {
    throw new MultiPopError('CONFIG_INVALID', 'POP3 limit maxLineLength must be at least 16', {
      field: 'limits.maxLineLength',
    });
  }
  return limits;
}

/**
 * Fills in defaults for the timeouts a caller left out and checks the ones given.
 *
 * @example
 * ```ts
 * resolveTimeouts({ idle: 5000 }) // → { connect: 15000, greeting: 15000, idle: 5000 }
 * ```
 */
export function resolveTimeouts(partial: Partial<Pop3Timeouts> = {}): Pop3Timeouts {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...stripUndefined(partial) };
  for (const [key, value] of Object.entries(timeouts)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new MultiPopError('CONFIG_INVALID', `POP3 timeout ${key} must be a positive number of ms`, {
        field: `timeouts.${key}`,
      });
    }
  }
  return timeouts;
}

/** Which bound a server exceeded. */
export type Pop3LimitName = keyof Pop3Limits;

/**
 * The one error shape for every exceeded bound: `LIMIT_EXCEEDED` with the limit's name and
 * value in the context. The session cannot continue after it (the rest of the response is
 * unread), so the client closes the connection.
 *
 * @example
 * ```ts
 * throw limitExceeded('maxLineLength', 8192, { command: 'STAT' });
 * ```
 */
export function limitExceeded(
  limit: Pop3LimitName,
  value: number,
  context: Record<string, unknown> = {},
): MultiPopError {
  return new MultiPopError('LIMIT_EXCEEDED', `The server exceeded the ${limit} limit (${value})`, {
    ...context,
    limit,
    limitValue: value,
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
