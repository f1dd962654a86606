import { chmodSync, existsSync } from 'node:fs';
import { readStoreKey } from '../crypto/index.js';
import { MultiPopError } from '../errors/index.js';
import type { CollectionLedger, MailboxDirectory, TokenStore } from '../ports/index.js';
import { sqliteDirectory } from './directory.js';
import { loadSqliteDriver, type SqliteDatabase } from './driver.js';
import { sqliteLedger } from './ledger.js';
import { assertCurrentSchema, migrate, SCHEMA_VERSION } from './schema.js';
import { openStoreSecretBox } from './store-key.js';
import { registerStoreHandle } from './store-meta.js';
import { sqliteTokenStore } from './token-store.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file; created (mode 0600) when missing, unless `readonly`. */
  path: string;
  /**
   * The encryption key for secrets at rest, kept outside the database (a 0600 file, a secret
   * manager). As text — the one format the CLI's `store.keyFile` and `MULTIPOP_KEY` use too —
   * the base64 of 32 random bytes (`generateStoreKey()`, `multipop keygen`), or
   * `passphrase:` followed by a passphrase (stretched with scrypt once per process; the salt
   * lives in the file); white space around it is ignored. As bytes, exactly 32. Anything else
   * is refused with `CONFIG_INVALID`, naming the expected format. Required unless `readonly` —
   * a read-only handle without a key reads everything but secrets.
   */
  key?: Uint8Array | string;
  /**
   * Open read-only (the CLI's `status` beside a running collector): never writes, never
   * migrates, works while another process writes.
   * @default false
   */
  readonly?: boolean;
  /**
   * How long to wait for another process's write lock before failing with `STORE_ERROR`.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

/** The embedded store: the three ports over one SQLite file. */
export interface SqliteStore {
  readonly path: string;
  readonly readonly: boolean;
  /** Settings, users and entries (passwords and client secrets encrypted). */
  readonly directory: MailboxDirectory;
  /** What was collected per remote mailbox, and statuses. */
  readonly ledger: CollectionLedger;
  /** OAuth tokens and pending grants (encrypted). */
  readonly tokens: TokenStore;
  /** Closes the file; further calls fail with `STORE_ERROR`. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens (or creates) the embedded SQLite store: one file in WAL mode with `synchronous = FULL`
 * (a ledger write is on disk when `apply` resolves), `busy_timeout` so a second process can
 * read while a collector writes, a versioned schema that migrates itself, and every secret
 * sealed with AES-256-GCM. Needs the optional peer dependency better-sqlite3 12.
 *
 * @throws MultiPopError `STORE_KEY_INVALID` (wrong key or passphrase), `STORE_ERROR`
 *   (better-sqlite3 missing, file unreadable or from a newer multipop), `CONFIG_INVALID` (bad key).
 * @example
 * ```ts
 * import { openSqliteStore } from 'multipop/sqlite';
 * // The key file holds what `multipop keygen` printed.
 * const store = await openSqliteStore({ path: '/var/lib/multipop/state.sqlite', key: await readFile('/etc/multipop/store.key', 'utf8') });
 * const fetcher = new MultiPopFetcher({ directory: store.directory, ledger: store.ledger, tokens: store.tokens, queue });
 * // …
 * await store.close();
 * ```
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const readonly = options.readonly === true;
  if (!readonly && options.key === undefined) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      'openSqliteStore needs a key (see generateStoreKey) unless opened read-only',
      {
        field: 'key',
      },
    );
  }
  const key = options.key === undefined ? undefined : readStoreKey(options.key);
  const Database = await loadSqliteDriver();
  const created = !readonly && !existsSync(options.path);
  let db: SqliteDatabase;
  try {
    db = new Database(options.path, {
      readonly,
      fileMustExist: readonly,
      timeout: options.busyTimeoutMs ?? 5000,
    });
  } catch (err) {
    throw new MultiPopError(
      'STORE_ERROR',
      'The SQLite store could not be opened',
      { path: options.path },
      { cause: err },
    );
  }
  try {
    if (created && process.platform !== 'win32') chmodSync(options.path, 0o600); // SQLite gives -wal/-shm the same mode
    configure(db, readonly);
    const box = await openStoreSecretBox(db, key, !readonly);
    const store: SqliteStore = {
      path: options.path,
      readonly,
      directory: sqliteDirectory(db, box),
      ledger: sqliteLedger(db),
      tokens: sqliteTokenStore(db, box),
      async close() {
        if (db.open) db.close();
      },
    };
    registerStoreHandle(store, db);
    return store;
  } catch (err) {
    db.close();
    if (err instanceof MultiPopError) throw err;
    throw new MultiPopError(
      'STORE_ERROR',
      'The SQLite store could not be opened',
      { path: options.path },
      { cause: err },
    );
  }
}

function configure(db: SqliteDatabase, readonly: boolean): void {
  db.pragma('foreign_keys = ON');
  if (readonly) {
    assertCurrentSchema(db);
    return;
  }
  // WAL: readers never block the writer and see a consistent snapshot. FULL: in WAL mode,
  // NORMAL may lose the last commits on power loss — but the collector deletes remote mail
  // on the strength of a resolved ledger write, so each commit must reach the disk.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') {
    throw new MultiPopError(
      'STORE_ERROR',
      `The SQLite store could not switch to WAL mode (got ${String(mode)})`,
    );
  }
  db.pragma('synchronous = FULL');
  migrate(db);
}

export { SCHEMA_VERSION };
