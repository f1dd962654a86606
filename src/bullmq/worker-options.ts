import type { FetcherOAuthService, MultiPopFetcherOptions } from '../fetcher/options.js';
import type { MailboxLeases } from '../ports/index.js';
import type { FleetNames } from './names.js';

/** Options of a {@link MultiPopWorker}. */
export interface MultiPopWorkerOptions
  extends FleetNames,
    Pick<
      MultiPopFetcherOptions,
      | 'directory'
      | 'queue'
      | 'logger'
      | 'authFor'
      | 'connection'
      | 'isOverQuota'
      | 'overQuotaAction'
      | 'backoff'
    > {
  /** Redis of the fleet, `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  redis: string;
  /**
   * The mailbox leases of the shared store (`(await openPostgresStore(…)).leases`): every
   * session takes its mailbox's lease, and every ledger write of the session goes through the
   * lease's fenced ledger.
   */
  leases: MailboxLeases;
  /** A ready OAuth service for OAuth entries (the worker never builds one). @default undefined */
  oauth?: FetcherOAuthService;
  /** Sessions this worker runs at once. @default 8 */
  concurrency?: number;
  /** Sessions at once against one remote host over the **whole fleet** (a Redis semaphore). @default 2 */
  perHost?: number;
  /**
   * Lease time of a mailbox (PostgreSQL) and of a host slot (Redis), renewed every third of it
   * while the session runs. Make it longer than the POP3 servers' autologout (so a paused
   * worker's POP3 session is over before another worker logs in) and than the longest pause a
   * worker may take. @default 120_000
   */
  leaseMs?: number;
  /** BullMQ's job lock (`lockDuration`); a killed worker's job runs elsewhere after it. @default 30_000 */
  lockMs?: number;
  /** How often BullMQ looks for jobs whose worker died (`stalledInterval`). @default lockMs */
  stalledCheckMs?: number;
  /** How long a job waits before it asks again for a full host (plus up to as much jitter). @default 1_000 */
  hostRetryMs?: number;
  /** The name this worker holds leases under (logs, `mailbox_leases.holder`). @default host:pid:random */
  workerId?: string;
  /** Clock (ms since epoch) for status bookkeeping. @default Date.now */
  now?: () => number;
}
