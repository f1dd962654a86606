import type { SessionResult } from '../collect/session-api.js';
import type { MultiPopError } from '../errors/index.js';
import type { MailboxStatus } from '../ports/index.js';
import { type BackoffPolicy, failureDelayMs } from './backoff.js';

/** What a failed session means for the mailbox, besides the new status. */
export type FailureKind =
  /** Counted: back-off grows, `mailbox:error` is emitted. */
  | 'failure'
  /** The OAuth grant is gone: collection pauses until a grant completes; no back-off. */
  | 'needs-permission'
  /** stop() or a signal ended it before it began: not the mailbox's fault, nothing counted. */
  | 'aborted';

/**
 * The status after a successful session: failures reset, totals grow. When the server
 * advertises `LOGIN-DELAY n`, the next attempt waits those n seconds even after a success.
 *
 * @example
 * ```ts
 * const next = statusAfterSuccess(previous, result, { startedAt, endedAt: Date.now() });
 * ```
 */
export function statusAfterSuccess(
  previous: MailboxStatus,
  result: SessionResult & { loginDelaySeconds?: number },
  time: { startedAt: number; endedAt: number },
): MailboxStatus {
  const next: MailboxStatus = {
    ...previous,
    lastRunAt: time.startedAt,
    lastSuccessAt: time.endedAt,
    consecutiveFailures: 0,
    needsPermission: false,
    totalMessages: previous.totalMessages + result.collected,
    totalBytes: previous.totalBytes + result.bytes,
    totalSessions: previous.totalSessions + 1,
  };
  delete next.nextAttemptAt;
  const delay = result.loginDelaySeconds;
  if (delay !== undefined && Number.isFinite(delay) && delay > 0)
    next.nextAttemptAt = time.endedAt + delay * 1000;
  return next;
}

/**
 * The status after a failed session, and what kind of failure it was.
 * `knownLoginDelaySeconds` is the `LOGIN-DELAY` the server advertised earlier, if known.
 *
 * @example
 * ```ts
 * const { status, kind } = statusAfterFailure(previous, error, { startedAt, endedAt }, defaultBackoff);
 * ```
 */
export function statusAfterFailure(
  previous: MailboxStatus,
  error: MultiPopError,
  time: { startedAt: number; endedAt: number },
  policy: BackoffPolicy,
  knownLoginDelaySeconds?: number,
): { status: MailboxStatus; kind: FailureKind } {
  if (error.code === 'ABORTED') return { status: previous, kind: 'aborted' };
  const recorded: MailboxStatus = {
    ...previous,
    lastRunAt: time.startedAt,
    lastErrorAt: time.endedAt,
    lastErrorCode: error.code,
    lastErrorMessage: error.message,
    totalSessions: previous.totalSessions + 1,
  };
  if (error.code === 'OAUTH_NEEDS_PERMISSION') {
    // Retrying cannot help until the user grants again: no back-off, no failure count that
    // would make the first collection after the grant wait.
    const status: MailboxStatus = { ...recorded, needsPermission: true };
    delete status.nextAttemptAt;
    return { status, kind: 'needs-permission' };
  }
  const consecutiveFailures = previous.consecutiveFailures + 1;
  const delay = failureDelayMs(consecutiveFailures, error, policy, knownLoginDelaySeconds);
  return {
    status: { ...recorded, consecutiveFailures, nextAttemptAt: time.endedAt + delay },
    kind: 'failure',
  };
}

/** Whether the schedule may try the mailbox now (back-off or a server-requested pause over). */
export function isDue(status: MailboxStatus | undefined, now: number): boolean {
  return status?.nextAttemptAt === undefined || status.nextAttemptAt <= now;
}
