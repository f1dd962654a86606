import type { Pool } from 'pg';
import { openStoreSecretBox, readStoreKey } from '../crypto/index.js';
import { MultiPopError } from '../errors/index.js';
import type { MailboxDirectory, MailboxLeases, TokenStore } from '../ports/index.js';
import { Db, type PostgresCounters } from './db.js';
import { postgresDirectory } from './directory.js';
import { loadPgPool } from './driver.js';
import { postgresLeases } from './leases.js';
import { type PostgresLedger, postgresLedger } from './ledger.js';
import { assertCurrentSchema, migrate, PG_SCHEMA_VERSION } from './schema.js';
import { registerPostgresStoreHandle } from './store-meta.js';
import { tablesIn } from './tables.js';
import { postgresTokenStore } from './token-store.js';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** A connection string (`postgres://user:password@host:5432/db`); or give `pool`. */
  url?: string;
  /**
   * A node-postgres pool the host already has (then `url` and `maxConnections` are ignored,
   * and `close()` leaves the pool open: it is the host's).
   */
  pool?: Pool;
  /**
   * The schema that holds multipop's tables, created when missing — a host points multipop at
   * its own database and keeps it apart by schema. Lower-case identifier.
   * @default "multipop"
   */
  schema?: string;
  /**
   * The encryption key for secrets at rest, in the one format the SQLite store takes too: as
   * text, the base64 of 32 random bytes (`generateStoreKey()`, `multipop keygen`), or
   * `passphrase:` followed by a passphrase (scrypt; the salt is kept in the schema's `meta`
   * table); white space around it is ignored. As bytes, exactly 32. Anything else is refused
   * with `CONFIG_INVALID`. Required unless `readonly`. Every worker of a fleet opens the store
   * with the same key.
   */
  key?: Uint8Array | string;
  /** Never write nor migrate (e.g. `multipop status`); without a key, secrets stay sealed. @default false */
  readonly?: boolean;
  /** Size of the pool this store creates from `url`. @default 10 */
  maxConnections?: number;
  /**
   * How long the pool this store creates from `url` waits for a new connection before failing
   * (an unreachable host fails then instead of hanging). Without it, as long as the network
   * takes (node-postgres' default).
   */
  connectTimeoutMs?: number;
}

/** The three ports (and the mailbox leases of a fleet) over one PostgreSQL schema. */
export interface PostgresStore {
  /** The schema name. */
  readonly schema: string;
  readonly readonly: boolean;
  /** Settings, users and entries (passwords and client secrets encrypted). */
  readonly directory: MailboxDirectory;
  /** What was collected per remote mailbox, and statuses; group commit; fenced views. */
  readonly ledger: PostgresLedger;
  /** OAuth tokens and pending grants (encrypted). */
  readonly tokens: TokenStore;
  /** One owner per remote mailbox across a fleet, enforced by the ledger (fencing tokens). */
  readonly leases: MailboxLeases;
  /** Statements and transactions sent so far (for cost measurements). */
  counters(): PostgresCounters;
  /** Ends the pool this store created (a host's own pool stays open). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens the PostgreSQL store: directory, ledger and token store in one schema, secrets sealed
 * with AES-256-GCM exactly as in the SQLite store, a versioned schema that migrates itself
 * (once, under an advisory lock, however many workers start together), a ledger whose
 * concurrent writes share one transaction (group commit), and the mailbox leases that fence a
 * fleet's writers. Needs the optional peer dependency pg 8.
 *
 * @throws MultiPopError `CONFIG_INVALID` (no url/pool, bad schema name or key), `STORE_KEY_INVALID`
 *   (wrong key), `STORE_ERROR` (pg missing, database unreachable, schema from a newer multipop).
 * @example
 * ```ts
 * import { openPostgresStore } from 'multipop/postgres';
 * const store = await openPostgresStore({ url: process.env.DATABASE_URL!, schema: 'multipop', key: await readFile('/etc/multipop/store.key', 'utf8') });
 * const fetcher = new MultiPopFetcher({ directory: store.directory, ledger: store.ledger, tokens: store.tokens, queue });
 * // …
 * await store.close();
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const readonly = options.readonly === true;
  const schema = options.schema ?? 'multipop';
  const tables = tablesIn(schema);
  const key = options.key === undefined ? undefined : readStoreKey(options.key);
  if (!readonly && options.key === undefined) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      'openPostgresStore needs a key (32 bytes or a passphrase) unless opened read-only',
      {
        field: 'key',
      },
    );
  }
  if (!options.pool && !options.url) {
    throw new MultiPopError('CONFIG_INVALID', 'openPostgresStore needs a connection string (url) or a pool', {
      field: 'url',
    });
  }
  const ownPool = !options.pool;
  let pool: Pool;
  if (options.pool) {
    pool = options.pool;
  } else {
    const Pool = await loadPgPool();
    pool = new Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      ...(options.connectTimeoutMs === undefined
        ? {}
        : { connectionTimeoutMillis: options.connectTimeoutMs }),
    });
    // An idle connection that the server ends (a restart, pg_terminate_backend) is dropped
    // from the pool and replaced on the next use; without a listener it would crash the process.
    pool.on('error', () => undefined);
  }
  const db = new Db(pool);
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= ownPool ? pool.end() : Promise.resolve();
    return closed;
  };
  try {
    if (readonly) await assertCurrentSchema(db, tables);
    else await migrate(db, tables);
    const box = await openStoreSecretBox(
      {
        storeName: 'PostgreSQL store',
        read: async (name) =>
          (await db.query<{ value: string }>(`SELECT value FROM ${tables.meta} WHERE key = $1`, [name]))
            .rows[0]?.value,
        insertIfMissing: async (name, value) => {
          await db.query(
            `INSERT INTO ${tables.meta} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
            [name, value],
          );
        },
      },
      key,
      !readonly,
    );
    const ledger = postgresLedger(db, tables);
    const store: PostgresStore = {
      schema,
      readonly,
      directory: postgresDirectory(db, tables, box),
      ledger,
      tokens: postgresTokenStore(db, tables, box),
      leases: postgresLeases(db, tables, ledger),
      counters: () => ({ ...db.counters }),
      close,
    };
    registerPostgresStoreHandle(store, db, tables);
    return store;
  } catch (err) {
    await close().catch(() => undefined);
    if (err instanceof MultiPopError) throw err;
    throw new MultiPopError(
      'STORE_ERROR',
      'The PostgreSQL store could not be opened',
      { schema },
      { cause: err },
    );
  }
}

export { PG_SCHEMA_VERSION };
