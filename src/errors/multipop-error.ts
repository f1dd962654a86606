import type { ErrorCode } from './codes.js';

/** Structured context attached to an error. Never holds a secret. */
export interface ErrorContext {
  /** The remote mailbox entry the error belongs to. */
  mailboxId?: string;
  /** The POP3 command (verb only, never arguments that may carry credentials). */
  command?: string;
  /** The server's response line, when it is safe to show (never after AUTH/PASS). */
  response?: string;
  /** The RFC 2449/3206 response code in brackets, e.g. `IN-USE`. */
  responseCode?: string;
  /** The settings field that failed validation, e.g. `mailboxes[0].server`. */
  field?: string;
  /** Seconds the server asks us to wait (LOGIN-DELAY), when known. */
  retryAfterSeconds?: number;
  /** Any further machine-readable detail (already free of secrets). */
  [key: string]: unknown;
}

/**
 * Marks every MultiPopError, whichever copy of the library made it. `Symbol.for` keys are
 * shared by the whole process, so an error thrown by the CommonJS build is recognised by the ESM
 * build (and by another installed copy) — `require('multipop')` beside `import('multipop/testing')`
 * loads two copies of this class (the dual-package hazard).
 */
const BRAND = Symbol.for('multipop.error');

/**
 * The one error class of the library. `code` is stable; `message` is for humans. `instanceof
 * MultiPopError` and {@link isMultiPopError} recognise errors from any copy of the library
 * loaded in the same process (ESM and CommonJS builds alike).
 *
 * @example
 * ```ts
 * throw new MultiPopError('IN_USE', 'Maildrop is locked', { mailboxId: 'm1', responseCode: 'IN-USE' });
 * ```
 */
export class MultiPopError extends Error {
  override readonly name = 'MultiPopError';
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = context;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** `instanceof` by brand, not by prototype: true for a MultiPopError of any copy of the library. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** Plain object for logs and JSON output. */
  toJSON(): { name: string; code: ErrorCode; message: string; context: ErrorContext } {
    return { name: this.name, code: this.code, message: this.message, context: this.context };
  }
}

/**
 * True when `value` is a {@link MultiPopError}, optionally with the given code.
 *
 * @example
 * <!-- doc-context declare const actor: Actor, userId: string, input: MailboxEntryInput; declare function showFieldError(field: unknown): void; -->
 * ```ts
 * try {
 *   await fetcher.addEntry(actor, userId, input);
 * } catch (err) {
 *   if (isMultiPopError(err, 'CONFIG_INVALID')) showFieldError(err.context.field);
 *   else throw err;
 * }
 * ```
 */
export function isMultiPopError(value: unknown, code?: ErrorCode): value is MultiPopError {
  return value instanceof MultiPopError && (code === undefined || value.code === code);
}
