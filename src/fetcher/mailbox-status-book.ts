import type { CollectorEventSink } from '../collect/events.js';
import type { SessionResult } from '../collect/session-api.js';
import type { MailboxEntry, ServerSettings } from '../config/index.js';
import type { MultiPopError } from '../errors/index.js';
import type { Log } from '../log/index.js';
import { type CollectionLedger, emptyMailboxStatus, type MailboxStatus } from '../ports/index.js';
import type { BackoffPolicy } from './backoff.js';
import { statusAfterFailure, statusAfterSuccess } from './mailbox-status.js';

/** What a {@link MailboxStatusBook} needs from the fetcher. */
export interface StatusBookDeps {
  ledger: CollectionLedger;
  log: Log;
  now: () => number;
  backoff: BackoffPolicy;
  emit: CollectorEventSink;
}

/**
 * The per-mailbox status bookkeeping of the fetcher: what a session's outcome (or an OAuth
 * event, or a webmail operation) does to the mailbox's stored status, and the events that
 * follow from the change. The status transitions themselves are the pure functions of
 * `mailbox-status.ts`; this class reads and writes them, one update at a time per mailbox.
 *
 * @example
 * ```ts
 * const book = new MailboxStatusBook({ ledger, log, now: Date.now, backoff, emit });
 * await book.recordFailure(userId, entry, host, error, startedAt, log);
 * ```
 */
export class MailboxStatusBook {
  readonly #d: StatusBookDeps;
  // mailboxId → the tail of its status updates: read-modify-write of a status never interleaves.
  readonly #statusChains = new Map<string, Promise<unknown>>();
  // mailboxId → the LOGIN-DELAY (s) its server advertised in the last session, when known.
  readonly #loginDelays = new Map<string, number>();

  constructor(deps: StatusBookDeps) {
    this.#d = deps;
  }

  /** Status updates under way (stop() waits for them). */
  pending(): Promise<unknown>[] {
    return [...this.#statusChains.values()];
  }

  /** Drops what is remembered in memory about an entry (when it is removed). */
  forget(mailboxId: string): void {
    this.#loginDelays.delete(mailboxId);
  }

  /** Records a successful session: status, the activity log line (`settings.logActivity`), `mailbox:recovered`. */
  async recordSuccess(
    userId: string,
    entry: MailboxEntry,
    host: string,
    result: SessionResult & { loginDelaySeconds?: number },
    startedAt: number,
    settings: ServerSettings,
    log: Log,
  ): Promise<void> {
    if (result.loginDelaySeconds !== undefined) this.#loginDelays.set(entry.id, result.loginDelaySeconds);
    let afterFailures = 0;
    await this.updateStatus(entry.id, (previous) => {
      afterFailures = previous.consecutiveFailures;
      return statusAfterSuccess(previous, result, { startedAt, endedAt: this.#d.now() });
    });
    if (settings.logActivity) {
      log.info(
        {
          collected: result.collected,
          bytes: result.bytes,
          skipped: result.skipped,
          deleted: result.deleted,
          onServer: result.onServer,
        },
        'mailbox collected',
      );
    }
    if (afterFailures > 0)
      this.#d.emit('mailbox:recovered', { userId, mailboxId: entry.id, host, afterFailures });
  }

  /**
   * Records a failed session: back-off and `mailbox:error`, or needs-permission, or nothing for
   * a session stopped before it began.
   */
  async recordFailure(
    userId: string,
    entry: MailboxEntry,
    host: string,
    error: MultiPopError,
    startedAt: number,
    log: Log,
  ): Promise<void> {
    if (error.code === 'OAUTH_NEEDS_PERMISSION') {
      await this.markNeedsPermission(userId, entry.id, host, error, startedAt);
      return;
    }
    let failures = 0;
    let aborted = false;
    await this.updateStatus(entry.id, (previous) => {
      const { status, kind } = statusAfterFailure(
        previous,
        error,
        { startedAt, endedAt: this.#d.now() },
        this.#d.backoff,
        this.#loginDelays.get(entry.id),
      );
      failures = status.consecutiveFailures;
      aborted = kind === 'aborted';
      return aborted ? undefined : status;
    });
    if (aborted) {
      log.info({ code: error.code }, 'session stopped before it began');
      return;
    }
    log.warn({ err: error, consecutiveFailures: failures }, 'mailbox collection failed');
    this.#d.emit('mailbox:error', {
      userId,
      mailboxId: entry.id,
      host,
      error,
      consecutiveFailures: failures,
    });
  }

  /**
   * Sets needsPermission; emits `mailbox:needs-permission` only on the change (the OAuth
   * service and the failed session may both report the same loss).
   */
  async markNeedsPermission(
    userId: string,
    mailboxId: string,
    host: string,
    error: MultiPopError,
    startedAt?: number,
  ): Promise<void> {
    let changed = false;
    await this.updateStatus(mailboxId, (previous) => {
      changed = !previous.needsPermission;
      if (startedAt === undefined) {
        const next: MailboxStatus = { ...previous, needsPermission: true };
        delete next.nextAttemptAt;
        return next;
      }
      return statusAfterFailure(previous, error, { startedAt, endedAt: this.#d.now() }, this.#d.backoff)
        .status;
    });
    if (changed) this.#d.emit('mailbox:needs-permission', { userId, mailboxId, host, error });
  }

  /**
   * Read-modify-write of one mailbox's status, serialised per mailbox. `update` returns the
   * new status, or undefined to leave it. A store failure is logged, never thrown: the
   * session's outcome is already decided and reported.
   */
  updateStatus(
    mailboxId: string,
    update: (previous: MailboxStatus) => MailboxStatus | undefined,
  ): Promise<void> {
    const previous = this.#statusChains.get(mailboxId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const current = (await this.#d.ledger.loadStatus(mailboxId)) ?? emptyMailboxStatus(mailboxId);
        const updated = update(current);
        if (updated) await this.#d.ledger.saveStatus(updated);
      })
      .catch((err) => this.#d.log.error({ err, mailboxId }, 'could not persist the mailbox status'));
    this.#statusChains.set(mailboxId, next);
    const release = () => {
      if (this.#statusChains.get(mailboxId) === next) this.#statusChains.delete(mailboxId);
    };
    next.then(release, release);
    return next;
  }
}
