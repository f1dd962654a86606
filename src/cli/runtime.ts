import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ConnectionTuning } from '../collect/session-api.js';
import { MultiPopFetcher } from '../fetcher/index.js';
import { smtpQueue } from '../handoff/smtp-queue.js';
import type { Logger } from '../log/index.js';
import type { LocalQueue, MailboxDirectory } from '../ports/index.js';
import { openSqliteStore, type SqliteStore } from '../sqlite/index.js';
import { type MaildirQueue, maildirQueue } from '../stores/index.js';
import { type CliConfig, storeKey } from './config-file.js';

/** The fetcher with the stores and queue the config file describes. */
export interface CliRuntime {
  store: SqliteStore;
  fetcher: MultiPopFetcher;
  /**
   * Housekeeping between collections: the Maildir queue's idempotency markers are needed only
   * until the ledger has recorded a message, so those older than 30 days are removed; files a
   * crash left in a Maildir's `tmp/` go after 36 hours.
   */
  maintenance(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the SQLite store, makes its directory match the config file (the file is the source of
 * truth for settings, users and entries; collection state and tokens stay in the store), and
 * builds the fetcher.
 */
export async function openRuntime(config: CliConfig, logger?: Logger): Promise<CliRuntime> {
  mkdirSync(dirname(config.store.path), { recursive: true, mode: 0o700 });
  const store = await openSqliteStore({ path: config.store.path, key: storeKey(config) });
  try {
    await syncDirectory(store.directory, config);
    const queue = buildQueue(config);
    const fetcher = new MultiPopFetcher({
      directory: store.directory,
      ledger: store.ledger,
      tokens: store.tokens,
      queue,
      connection: connectionTuning(config),
      ...(config.oauthAllowInsecureHttp ? { oauth: { allowInsecureRequests: true } } : {}),
      ...(logger ? { logger } : {}),
    });
    return {
      store,
      fetcher,
      async maintenance() {
        if ('prune' in queue) {
          await queue.prune({ olderThanDays: 30 });
          await queue.cleanTmp();
        }
      },
      async close() {
        await fetcher.stop();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

function buildQueue(config: CliConfig): LocalQueue | MaildirQueue {
  const queue = config.queue;
  if (queue.type === 'maildir') return maildirQueue({ root: queue.root, single: queue.single });
  return smtpQueue({
    host: queue.host,
    port: queue.port,
    lmtp: queue.type === 'lmtp',
    ...(queue.caFile ? { tls: { ca: readFileSync(queue.caFile) } } : {}),
  });
}

function connectionTuning(config: CliConfig): ConnectionTuning {
  const ms = config.timeoutSeconds === undefined ? undefined : config.timeoutSeconds * 1000;
  return {
    ...(config.caFile ? { tlsOptions: { ca: readFileSync(config.caFile) } } : {}),
    ...(ms === undefined ? {} : { timeouts: { connect: ms, greeting: ms, idle: ms } }),
  };
}

async function syncDirectory(directory: MailboxDirectory, config: CliConfig): Promise<void> {
  await directory.setSettings(config.settings);
  const wanted = new Map(config.users.map((u) => [u.id, u]));
  for (const existing of await directory.listUsers()) {
    const user = wanted.get(existing.id);
    if (!user) {
      await directory.removeUser(existing.id);
      continue;
    }
    const keep = new Set(user.entries.map((e) => e.id));
    for (const entry of existing.entries) if (!keep.has(entry.id)) await directory.removeEntry(entry.id);
  }
  for (const user of config.users) {
    const { entries, ...flags } = user;
    await directory.putUser(flags);
    for (const entry of entries) await directory.putEntry(user.id, entry);
  }
}
