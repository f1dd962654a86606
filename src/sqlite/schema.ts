import { assertCurrentSchemaVersion, assertKnownSchemaVersion } from '../stores/schema-version.js';
import type { SqliteDatabase } from './driver.js';

/**
 * Schema migrations, in order: `MIGRATIONS[n]` turns schema version n into n + 1 (SQLite's
 * `user_version` holds the version). Append only; never edit a released step.
 *
 * Secrets (entry passwords, OAuth client secrets, tokens, PKCE verifiers) are stored sealed by
 * the secret box (`mp1:…`); everything else is plain, so an administrator can read the file
 * with the sqlite3 shell.
 */
const MIGRATIONS: ReadonlyArray<(db: SqliteDatabase) => void> = [
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

      -- One row: the server-wide settings as JSON; oauth.*.clientSecret sealed inside it.
      CREATE TABLE settings (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);

      -- rowid keeps the order users and entries were first added in (upserts keep it).
      CREATE TABLE users (id TEXT PRIMARY KEY, flags TEXT NOT NULL);
      CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        json TEXT NOT NULL,          -- the entry without its password
        password TEXT                -- sealed
      );
      CREATE INDEX entries_by_user ON entries (user_id);

      -- Keyed (mailbox, uidl): apply touches only the rows it changes; load is one range scan.
      CREATE TABLE ledger (
        mailbox_id TEXT NOT NULL,
        uidl TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        collected INTEGER NOT NULL DEFAULT 0,
        delete_pending INTEGER NOT NULL DEFAULT 0,
        oversize_reported INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (mailbox_id, uidl)
      ) WITHOUT ROWID;

      CREATE TABLE mailbox_status (
        mailbox_id TEXT PRIMARY KEY,
        last_run_at INTEGER,
        last_success_at INTEGER,
        last_error_at INTEGER,
        last_error_code TEXT,
        last_error_message TEXT,
        consecutive_failures INTEGER NOT NULL,
        next_attempt_at INTEGER,
        needs_permission INTEGER NOT NULL,
        total_messages INTEGER NOT NULL,
        total_bytes INTEGER NOT NULL,
        total_sessions INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE oauth_tokens (
        mailbox_id TEXT PRIMARY KEY,
        access_token TEXT NOT NULL,  -- sealed
        refresh_token TEXT,          -- sealed
        expires_at INTEGER,
        scope TEXT,
        token_type TEXT
      ) WITHOUT ROWID;

      -- Keyed by a hash of the state: the file alone does not hand out a usable state value.
      CREATE TABLE pending_grants (
        state_hash TEXT PRIMARY KEY,
        code_verifier TEXT NOT NULL, -- sealed
        user_id TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
  },
  // 1 → 2: what each collected message is (its LIST size and header fingerprint), so a UIDL the
  // server reuses for another message is noticed. NULL in older rows: the UIDL is trusted there.
  (db) => {
    db.exec(`
      ALTER TABLE ledger ADD COLUMN size INTEGER;
      ALTER TABLE ledger ADD COLUMN fingerprint TEXT;
    `);
  },
  // 2 → 3: grants bound to who started them; refresh leases across processes.
  (db) => {
    db.exec(`
      -- Who started a grant (JSON: {"role":"user","userId":…} or {"role":"admin",…}); a grant
      -- from before this step has none and counts as started by its entry's owner.
      ALTER TABLE pending_grants ADD COLUMN started_by TEXT;
      CREATE INDEX pending_grants_by_expiry ON pending_grants (expires_at);

      -- One row while a process refreshes an entry's token: the others wait for its result
      -- instead of presenting the same refresh token twice (rotation + reuse detection).
      CREATE TABLE oauth_refresh_leases (
        mailbox_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
  },
];

/**
 * The schema version this version of the library writes.
 *
 * @example
 * <!-- doc-context declare const fileVersion: number; -->
 * ```ts
 * if (fileVersion > SCHEMA_VERSION) throw new Error('the store was written by a newer multipop');
 * ```
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

const VERSION_CHECK = { store: 'SQLite', current: SCHEMA_VERSION } as const;

/** The file's schema version (`PRAGMA user_version`); 0 for a new, empty file. */
export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the file to {@link SCHEMA_VERSION} in one write transaction (a second process that
 * opens the file at the same moment waits, then sees the migrated schema and does nothing).
 *
 * @throws MultiPopError `STORE_ERROR` when the file was written by a newer version.
 */
export function migrate(db: SqliteDatabase): void {
  db.transaction(() => {
    const from = schemaVersion(db);
    assertKnownSchemaVersion(VERSION_CHECK, from);
    for (let version = from; version < SCHEMA_VERSION; version++) MIGRATIONS[version]!(db);
    if (from !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * For read-only handles, which cannot migrate.
 * @throws MultiPopError `STORE_ERROR` when the file is not at {@link SCHEMA_VERSION}.
 */
export function assertCurrentSchema(db: SqliteDatabase): void {
  const version = schemaVersion(db);
  assertCurrentSchemaVersion(VERSION_CHECK, version);
}
