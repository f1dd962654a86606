import { readFileSync } from 'node:fs';
import type { ConnectionTuning } from '../collect/session-api.js';
import { MultiPopFetcher } from '../fetcher/index.js';
import type { SmtpQueue } from '../handoff/smtp-queue.js';
import type { Logger } from '../log/index.js';
import { type MaildirQueue, maildirQueue } from '../stores/index.js';
import { type CliStore, openCliStore } from './cli-store.js';
import type { CliConfig } from './config-file.js';
import { type DirectoryChanges, syncDirectory } from './directory-sync.js';

/** The fetcher with the stores and queue the config file describes. */
export interface CliRuntime {
  store: CliStore;
  fetcher: MultiPopFetcher;
  /** What opening changed in the store's directory to match the config file. */
  changes: DirectoryChanges;
  /**
   * Housekeeping between collections: the Maildir queue's idempotency markers are needed only
   * until the ledger has recorded a message, so those older than 30 days are removed; files a
   * crash left in a Maildir's `tmp/` go after 36 hours.
   */
  maintenance(): Promise<void>;
  close(): Promise<void>;
}

/** How {@link openRuntime} treats the store's directory. */
export interface SyncOptions {
  /**
   * Let the config file remove users and entries, and replace settings, that the CLI did not put
   * into the store (a host's own). Without it, such a store is refused and left unchanged.
   */
  forceSync?: boolean;
}

/**
 * Opens the store (SQLite or PostgreSQL, as the config file says), makes its directory match the config file (the file is the source of
 * truth for settings, users and entries the CLI writes; collection state and tokens stay in the
 * store), and builds the fetcher. Data the CLI did not write is never removed unless `forceSync`
 * (see `directory-sync.ts`).
 */
export async function openRuntime(
  config: CliConfig,
  logger?: Logger,
  sync: SyncOptions = {},
): Promise<CliRuntime> {
  const store = await openCliStore(config.store);
  try {
    const changes = await syncDirectory(
      store.directory,
      store.meta,
      { settings: config.settings, users: config.users },
      sync.forceSync === true,
    );
    const queue = await buildQueue(config);
    const fetcher = new MultiPopFetcher({
      directory: store.directory,
      ledger: store.ledger,
      tokens: store.tokens,
      queue,
      concurrency: config.concurrency,
      connection: connectionTuning(config),
      ...(config.oauthAllowInsecureHttp ? { oauth: { allowInsecureRequests: true } } : {}),
      ...(logger ? { logger } : {}),
    });
    return {
      store,
      fetcher,
      changes,
      async maintenance() {
        if ('prune' in queue) {
          await queue.prune({ olderThanDays: 30 });
          await queue.cleanTmp();
        }
      },
      async close() {
        await fetcher.stop();
        if ('close' in queue) await queue.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The local queue the config file names (Maildir, or LMTP/SMTP hand-off). */
export async function buildQueue(config: CliConfig): Promise<MaildirQueue | SmtpQueue> {
  const queue = config.queue;
  if (queue.type === 'maildir') return maildirQueue({ root: queue.root, single: queue.single });
  // Loaded only for this queue type: nodemailer is not needed to deliver into a Maildir.
  const { smtpQueue } = await import('../handoff/smtp-queue.js');
  return smtpQueue({
    host: queue.host,
    port: queue.port,
    lmtp: queue.type === 'lmtp',
    ...(queue.caFile ? { tls: { ca: readFileSync(queue.caFile) } } : {}),
  });
}

/** Connection tuning from the config file (CA file, timeouts). */
export function connectionTuning(config: CliConfig): ConnectionTuning {
  const ms = config.timeoutSeconds === undefined ? undefined : config.timeoutSeconds * 1000;
  return {
    ...(config.caFile ? { tlsOptions: { ca: readFileSync(config.caFile) } } : {}),
    ...(ms === undefined ? {} : { timeouts: { connect: ms, greeting: ms, idle: ms } }),
  };
}
