import type { ErrorCode } from './codes.js';
import { type ErrorContext, isMultiPopError, MultiPopError } from './multipop-error.js';

/**
 * The error classes JavaScript throws for a programming mistake (a property of `undefined`, a
 * call of a non-function, a bad argument to a built-in). Such an error is a bug — in multipop or
 * in a host's port — and must say so, not pass for a store or network failure.
 */
const BUG_CLASSES = [TypeError, ReferenceError, SyntaxError, RangeError];

/**
 * Any thrown value as a {@link MultiPopError}, the one place where the library does this:
 *
 * - a `MultiPopError` passes through; keys of `context` it lacks (say the mailbox id) are filled in;
 * - a `TypeError`, `ReferenceError`, `SyntaxError` or `RangeError` becomes `INTERNAL`;
 * - anything else becomes `code`.
 *
 * The new error's message is `message: <the original's message>`, and the original is its
 * `cause`. Callers pass only errors whose text carries no secret (stores, sockets, our own code).
 *
 * @example
 * ```ts
 * catch (err) {
 *   throw toMultiPopError(err, 'STORE_ERROR', 'Collection failed', { mailboxId: entry.id });
 * }
 * ```
 */
export function toMultiPopError(
  err: unknown,
  code: ErrorCode,
  message: string,
  context: ErrorContext = {},
): MultiPopError {
  if (isMultiPopError(err)) {
    const own = err.context as Record<string, unknown>;
    for (const [key, value] of Object.entries(context)) if (own[key] === undefined) own[key] = value;
    return err;
  }
  const detail = err instanceof Error ? err.message : String(err);
  const isBug = BUG_CLASSES.some((bugClass) => err instanceof bugClass);
  return new MultiPopError(
    isBug ? 'INTERNAL' : code,
    `${message}: ${detail}`,
    { ...context },
    { cause: err },
  );
}
