import { assertCurrentSchemaVersion, assertKnownSchemaVersion } from '../stores/schema-version.js';
import type { Db, Query } from './db.js';
import type { Tables } from './tables.js';

/**
 * Schema migrations, in order: `MIGRATIONS[n]` turns schema version n into n + 1. Append
 * only; never edit a released step. Secrets are stored sealed by the secret box (`mp1:…`),
 * exactly as in the SQLite store; everything else is plain, for an administrator's `psql`.
 */
const MIGRATIONS: ReadonlyArray<(t: Tables) => string> = [
  (t) => `
    CREATE TABLE ${t.meta} (key text PRIMARY KEY, value text NOT NULL);

    -- One row: the server-wide settings as JSON; oauth.*.clientSecret sealed inside it.
    CREATE TABLE ${t.settings} (id int PRIMARY KEY CHECK (id = 1), json text NOT NULL);

    -- seq keeps the order users and entries were first added in (upserts keep it).
    CREATE TABLE ${t.users} (id text PRIMARY KEY, seq bigserial NOT NULL, flags text NOT NULL);
    CREATE TABLE ${t.entries} (
      id text PRIMARY KEY,
      seq bigserial NOT NULL,
      user_id text NOT NULL REFERENCES ${t.users} (id) ON DELETE CASCADE,
      json text NOT NULL,          -- the entry without its password
      password text                -- sealed
    );
    CREATE INDEX ON ${t.entries} (user_id);

    -- Keyed (mailbox, uidl): apply touches only the rows it changes; load is one index range.
    CREATE TABLE ${t.ledger} (
      mailbox_id text NOT NULL,
      uidl text NOT NULL,
      first_seen bigint NOT NULL,
      collected boolean NOT NULL DEFAULT false,
      delete_pending boolean NOT NULL DEFAULT false,
      oversize_reported boolean NOT NULL DEFAULT false,
      PRIMARY KEY (mailbox_id, uidl)
    );

    CREATE TABLE ${t.status} (
      mailbox_id text PRIMARY KEY,
      last_run_at bigint,
      last_success_at bigint,
      last_error_at bigint,
      last_error_code text,
      last_error_message text,
      consecutive_failures integer NOT NULL,
      next_attempt_at bigint,
      needs_permission boolean NOT NULL,
      total_messages bigint NOT NULL,
      total_bytes bigint NOT NULL,
      total_sessions bigint NOT NULL
    );

    CREATE TABLE ${t.tokens} (
      mailbox_id text PRIMARY KEY,
      access_token text NOT NULL,  -- sealed
      refresh_token text,          -- sealed
      expires_at bigint,
      scope text,
      token_type text
    );

    -- Keyed by a hash of the state: the database alone does not hand out a usable state value.
    CREATE TABLE ${t.grants} (
      state_hash text PRIMARY KEY,
      code_verifier text NOT NULL, -- sealed
      user_id text NOT NULL,
      mailbox_id text NOT NULL,
      provider text NOT NULL,
      redirect_uri text NOT NULL,
      expires_at bigint NOT NULL
    );

    -- One row per remote maildrop ever leased, never deleted: the token only grows, so a
    -- holder that lost its lease can never match a later one (fencing). Times are the
    -- database's clock, never a worker's.
    CREATE TABLE ${t.leases} (
      lease_key text PRIMARY KEY,
      holder text NOT NULL,
      token bigint NOT NULL,
      expires_at timestamptz NOT NULL
    );
  `,
  // 1 → 2: what each collected message is (its LIST size and header fingerprint), so a UIDL
  // the server reuses or changes can be told apart (as SQLite migration 2).
  (t) => `
    ALTER TABLE ${t.ledger} ADD COLUMN size bigint;
    ALTER TABLE ${t.ledger} ADD COLUMN fingerprint text;
  `,
  // 2 → 3: grants bound to who started them; OAuth refresh leases across workers.
  (t) => `
    -- JSON {"role":"user","userId":…} or {"role":"admin",…}; NULL (older rows): the owner.
    ALTER TABLE ${t.grants} ADD COLUMN started_by text;
    CREATE INDEX ON ${t.grants} (expires_at);

    -- One row while a worker refreshes an entry's access token (ms since epoch, the callers'
    -- clock as the TokenStore port defines it): the others wait for its result.
    CREATE TABLE ${t.refreshLeases} (
      mailbox_id text PRIMARY KEY,
      holder text NOT NULL,
      expires_at bigint NOT NULL
    );
  `,
];

/**
 * The schema version this version of the library writes (kept in `<schema>.schema_version`).
 *
 * @example
 * <!-- doc-context declare const storedVersion: number; -->
 * ```ts
 * if (storedVersion > PG_SCHEMA_VERSION) throw new Error('the schema was written by a newer multipop');
 * ```
 */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

const VERSION_CHECK = { store: 'PostgreSQL', current: PG_SCHEMA_VERSION } as const;

/**
 * Creates the schema if needed and brings it to {@link PG_SCHEMA_VERSION} in one transaction,
 * under a transaction-scoped advisory lock per schema: when a fleet of workers starts at once,
 * one migrates and the others wait, then find nothing to do.
 *
 * @throws MultiPopError `STORE_ERROR` when the schema was written by a newer multipop.
 */
export async function migrate(db: Db, t: Tables): Promise<void> {
  await db.transaction(async (query) => {
    await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`multipop:migrate:${t.schema}`]);
    await query(`CREATE SCHEMA IF NOT EXISTS ${t.schema}`);
    await query(
      `CREATE TABLE IF NOT EXISTS ${t.schemaVersion} (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL)`,
    );
    const from = await readVersion(query, t);
    assertKnownSchemaVersion(VERSION_CHECK, from);
    for (let version = from; version < PG_SCHEMA_VERSION; version++) await query(MIGRATIONS[version]!(t));
    if (from !== PG_SCHEMA_VERSION) {
      await query(
        `INSERT INTO ${t.schemaVersion} (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
        [PG_SCHEMA_VERSION],
      );
    }
  });
}

/**
 * For read-only handles, which never migrate.
 * @throws MultiPopError `STORE_ERROR` when the schema is missing or not at {@link PG_SCHEMA_VERSION}.
 */
export async function assertCurrentSchema(db: Db, t: Tables): Promise<void> {
  const exists = await db.query('SELECT to_regclass($1) AS name', [t.schemaVersion]);
  const version = exists.rows[0]?.name === null ? 0 : await readVersion(db.query, t);
  assertCurrentSchemaVersion(VERSION_CHECK, version);
}

async function readVersion(query: Query, t: Tables): Promise<number> {
  const result = await query<{ version: number }>(`SELECT version FROM ${t.schemaVersion} WHERE id = 1`);
  return result.rows[0]?.version ?? 0;
}
