/**
 * `multipop/sqlite`: the embedded SQLite store (directory, ledger and token store in one file,
 * secrets encrypted). Needs the optional peer dependency better-sqlite3 12.
 *
 * @packageDocumentation
 * @module multipop/sqlite
 */

export { generateStoreKey } from '../crypto/index.js';
export { openSqliteStore, SCHEMA_VERSION, type SqliteStore, type SqliteStoreOptions } from './store.js';
