import { MultiPopError } from '../errors/index.js';
import type { Pop3ConnectOptions } from './api.js';

// A CR or LF would end the command line early and let the rest be read as another command.
const FORBIDDEN_IN_ARGUMENT = /[\r\n\0]/;

/**
 * Checks a command argument that comes from settings (user name, password, token): a string,
 * non-empty unless allowed, and free of CR, LF and NUL (no command injection).
 *
 * @example
 * ```ts
 * checkArgument('ann\r\nDELE 1', 'user', false); // throws CONFIG_INVALID
 * ```
 */
export function checkArgument(value: unknown, field: string, allowEmpty: boolean): asserts value is string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw new MultiPopError('CONFIG_INVALID', `${field} must be a${allowEmpty ? '' : ' non-empty'} string`, {
      field,
    });
  }
  if (FORBIDDEN_IN_ARGUMENT.test(value)) {
    throw new MultiPopError('CONFIG_INVALID', `${field} must not contain CR, LF or NUL`, { field });
  }
}

/**
 * Checks a message number (a positive safe integer) or, with `min: 0`, a line count.
 *
 * @example
 * ```ts
 * checkNumber(0, 'msg'); // throws CONFIG_INVALID
 * ```
 */
export function checkNumber(value: unknown, field: string, min = 1): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new MultiPopError('CONFIG_INVALID', `${field} must be an integer of at least ${min}`, { field });
  }
}

/**
 * Checks the connection options a caller passed (the types are not enforced at run time).
 *
 * @example
 * ```ts
 * checkConnectOptions({ host: 'pop.example.com', port: 995, tls: 'implicit' });
 * ```
 */
export function checkConnectOptions(options: Pop3ConnectOptions): void {
  if (
    typeof options?.host !== 'string' ||
    options.host.length === 0 ||
    FORBIDDEN_IN_ARGUMENT.test(options.host)
  ) {
    throw new MultiPopError('CONFIG_INVALID', 'host must be a non-empty host name or address', {
      field: 'host',
    });
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new MultiPopError('CONFIG_INVALID', 'port must be an integer in 1–65535', { field: 'port' });
  }
  if (!['implicit', 'starttls', 'none'].includes(options.tls)) {
    throw new MultiPopError('CONFIG_INVALID', "tls must be 'implicit', 'starttls' or 'none'", {
      field: 'tls',
    });
  }
  const p = options.pipelining;
  if (p !== undefined && p !== 'auto' && p !== false && !(typeof p === 'number' && p >= 1)) {
    throw new MultiPopError('CONFIG_INVALID', "pipelining must be 'auto', false or a window of at least 1", {
      field: 'pipelining',
    });
  }
}
