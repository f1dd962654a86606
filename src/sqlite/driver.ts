import type BetterSqlite3 from 'better-sqlite3';
import { MultiPopError } from '../errors/index.js';

/** The better-sqlite3 database handle type. */
export type SqliteDatabase = BetterSqlite3.Database;
type DatabaseConstructor = new (path: string, options?: BetterSqlite3.Options) => SqliteDatabase;

/**
 * Loads better-sqlite3 on first use. It is an optional peer dependency (a native module), so a
 * host that brings its own stores never loads it; one that opens the SQLite store without it
 * installed gets a clear error rather than a bare "cannot find module".
 */
export async function loadSqliteDriver(): Promise<DatabaseConstructor> {
  try {
    const loaded = (await import('better-sqlite3')) as unknown as { default?: DatabaseConstructor };
    const Database = loaded.default ?? (loaded as unknown as DatabaseConstructor);
    if (typeof Database !== 'function')
      throw new TypeError('better-sqlite3 exported no Database constructor');
    return Database;
  } catch (err) {
    throw new MultiPopError(
      'STORE_ERROR',
      'multipop/sqlite needs better-sqlite3 12.x, an optional peer dependency: npm install better-sqlite3@12',
      {},
      { cause: err },
    );
  }
}
