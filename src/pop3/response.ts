import { type ErrorCode, type ErrorContext, MultiPopError } from '../errors/index.js';

/** A parsed `+OK …` / `-ERR …` status line. */
export interface Pop3Status {
  ok: boolean;
  /** The text after `+OK` / `-ERR` (and after the response code, if any), trimmed. */
  text: string;
  /** The RFC 2449 response code in brackets, upper-cased (`IN-USE`, `SYS/TEMP`, `AUTH`, …). */
  code?: string;
}

const STATUS = /^(\+OK|-ERR)(?:[ \t]+(.*))?$/is;
const RESPONSE_CODE = /^\[([!-Z\\^-~]+)\][ \t]*(.*)$/s;

/**
 * Parses a status line. Returns `undefined` when the line is neither `+OK` nor `-ERR`, which
 * the caller reports as a protocol error. The indicator is matched case-insensitively because
 * some servers send `+ok`.
 *
 * @example
 * ```ts
 * parseStatus('-ERR [IN-USE] Mailbox locked') // → { ok: false, code: 'IN-USE', text: 'Mailbox locked' }
 * parseStatus('+OK 2 320')                    // → { ok: true, text: '2 320' }
 * ```
 */
export function parseStatus(line: string): Pop3Status | undefined {
  const match = STATUS.exec(line);
  if (!match) return undefined;
  const ok = match[1]!.toUpperCase() === '+OK';
  const rest = (match[2] ?? '').trim();
  const coded = RESPONSE_CODE.exec(rest);
  if (coded) return { ok, code: coded[1]!.toUpperCase(), text: coded[2]!.trim() };
  return { ok, text: rest };
}

/**
 * Maps a response code to an error code (RFC 2449 §8, RFC 3206). Hierarchical codes match on
 * their prefix (`SYS/TEMP/DISK` is `SYS/TEMP`). Without a known code, failures of
 * authentication commands are `AUTH_FAILED`, all others `SERVER_ERROR`.
 *
 * @example
 * ```ts
 * errorCodeForResponse('LOGIN-DELAY', true) // → 'LOGIN_DELAY'
 * errorCodeForResponse(undefined, false)    // → 'SERVER_ERROR'
 * ```
 */
export function errorCodeForResponse(code: string | undefined, authCommand: boolean): ErrorCode {
  const upper = code?.toUpperCase() ?? '';
  const is = (prefix: string) => upper === prefix || upper.startsWith(`${prefix}/`);
  if (is('IN-USE')) return 'IN_USE';
  if (is('LOGIN-DELAY')) return 'LOGIN_DELAY';
  if (is('SYS/TEMP')) return 'SYS_TEMP';
  if (is('SYS/PERM')) return 'SYS_PERM';
  if (is('AUTH')) return 'AUTH_FAILED';
  return authCommand ? 'AUTH_FAILED' : 'SERVER_ERROR';
}

/** How to describe a failed command in an error. */
export interface FailedCommand {
  /** The command verb (`RETR`, `PASS`, …); never its arguments. */
  verb: string;
  /** True for USER/PASS/APOP/AUTH: their response text is not put into the error. */
  auth: boolean;
  /** Seconds from the `LOGIN-DELAY` capability, reported with a `LOGIN_DELAY` error. */
  loginDelay?: number;
  /** Extra context (e.g. `saslError`). */
  context?: ErrorContext;
}

/**
 * Turns a `-ERR` status into the typed error the caller receives. The server's text is kept in
 * `context.response` for ordinary commands only: after USER/PASS/APOP/AUTH it is left out,
 * because servers sometimes echo what they were sent.
 *
 * @example
 * ```ts
 * errorFromStatus({ ok: false, code: 'IN-USE', text: 'locked' }, { verb: 'PASS', auth: true })
 * // → MultiPopError IN_USE, context { command: 'PASS', responseCode: 'IN-USE' }
 * ```
 */
export function errorFromStatus(status: Pop3Status, command: FailedCommand): MultiPopError {
  const code = errorCodeForResponse(status.code, command.auth);
  const context: ErrorContext = { command: command.verb, ...command.context };
  if (status.code !== undefined) context.responseCode = status.code;
  if (!command.auth) context.response = status.text;
  if (code === 'LOGIN_DELAY' && command.loginDelay !== undefined)
    context.retryAfterSeconds = command.loginDelay;
  const what = command.auth ? 'rejected the authentication' : 'answered -ERR';
  const codeText = status.code === undefined ? '' : ` [${status.code}]`;
  const detail = command.auth ? '' : status.text === '' ? '' : `: ${status.text}`;
  return new MultiPopError(code, `${command.verb}: the server ${what}${codeText}${detail}`, context);
}
