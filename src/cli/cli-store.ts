/**
 * Opens the store the config file's `store` section names — SQLite or PostgreSQL — as the three
 * ports plus the CLI's own bookkeeping (`meta`), so every command works the same on either.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMultiPopError, MultiPopError } from '../errors/index.js';
import type { CollectionLedger, MailboxDirectory, TokenStore } from '../ports/index.js';
import { openPostgresStore } from '../postgres/index.js';
import { postgresStoreMeta } from '../postgres/store-meta.js';
import { openSqliteStore } from '../sqlite/index.js';
import { storeMeta } from '../sqlite/store-meta.js';
import type { StoreMeta } from '../stores/store-meta.js';
import { describeStore, type StoreConfig, scrubStoreSecrets, storeKey } from './store-config.js';

/** The state of one installation, whichever store holds it. */
export interface CliStore {
  readonly directory: MailboxDirectory;
  readonly ledger: CollectionLedger;
  readonly tokens: TokenStore;
  /** The CLI's values beside the data (what the CLI wrote into the directory). */
  readonly meta: StoreMeta;
  close(): Promise<void>;
}

/** The namespace of the CLI's values in the store's `meta` table. */
const META_NAMESPACE = 'cli';

/**
 * Opens the store. `readonly` (the `status` command) needs no key, never writes nor migrates,
 * and works beside a running collector. Each store loads its driver (better-sqlite3, pg) only
 * when it is opened, so neither is needed unless configured.
 *
 * @throws MultiPopError `STORE_ERROR` naming where the store is (never the database password),
 *   `STORE_KEY_INVALID`, `CONFIG_INVALID` (no key or a key in another format).
 */
export async function openCliStore(
  config: StoreConfig,
  options: { readonly?: boolean } = {},
): Promise<CliStore> {
  const readonly = options.readonly === true;
  const key = readonly ? undefined : storeKey(config);
  try {
    if (config.type === 'sqlite') {
      if (!readonly) mkdirSync(dirname(config.path), { recursive: true, mode: 0o700 });
      const store = await openSqliteStore({ path: config.path, readonly, ...(key ? { key } : {}) });
      return { ...ports(store), meta: storeMeta(store, META_NAMESPACE), close: () => store.close() };
    }
    const store = await openPostgresStore({
      url: config.url,
      schema: config.schema,
      readonly,
      maxConnections: config.maxConnections,
      connectTimeoutMs: config.connectTimeoutSeconds * 1000,
      ...(key ? { key } : {}),
    });
    return { ...ports(store), meta: postgresStoreMeta(store, META_NAMESPACE), close: () => store.close() };
  } catch (err) {
    throw storeOpenError(err, config);
  }
}

function ports<S extends { directory: MailboxDirectory; ledger: CollectionLedger; tokens: TokenStore }>(
  store: S,
): Pick<CliStore, 'directory' | 'ledger' | 'tokens'> {
  return { directory: store.directory, ledger: store.ledger, tokens: store.tokens };
}

/**
 * A store that cannot be opened, said so that an administrator can act on it: the store's
 * refusal, the driver's reason (connection refused, unknown database, authentication failed)
 * and where the store is — with the connection string's password and secret parameters
 * scrubbed from all of it.
 */
function storeOpenError(err: unknown, config: StoreConfig): unknown {
  if (isMultiPopError(err) && err.code !== 'STORE_ERROR') return err;
  const what = isMultiPopError(err) ? err.message : 'The store could not be opened';
  const cause = isMultiPopError(err) ? err.cause : err;
  const reason = cause === undefined ? '' : `: ${driverReason(cause)}`;
  const message = scrubStoreSecrets(`${what}${reason} (store: ${describeStore(config)})`, config);
  return new MultiPopError(
    'STORE_ERROR',
    message,
    { ...(isMultiPopError(err) ? err.context : {}), field: 'store' },
    { cause },
  );
}

/** The driver's own words: node's connection errors come as an AggregateError with no message. */
function driverReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof AggregateError && err.errors.length > 0)
    return [...new Set(err.errors.map(driverReason))].join('; ');
  return err.message || (err as NodeJS.ErrnoException).code || err.name;
}
