import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { MultiPopError } from '../errors/index.js';

/** The better-sqlite3 database handle type. */
export type SqliteDatabase = BetterSqlite3.Database;
type DatabaseConstructor = new (path: string, options?: BetterSqlite3.Options) => SqliteDatabase;

/**
 * Loads better-sqlite3 on first use. It is an optional peer dependency (a native module), so a
 * host that brings its own stores never loads it; one that opens the SQLite store without it
 * installed gets a clear error rather than a bare "cannot find module". It is a CommonJS
 * package, so both builds `require` it (with a `require` made for this file): a dynamic
 * `import()` fails in the CommonJS build under Jest and other CommonJS module loaders.
 */
export async function loadSqliteDriver(
  load: (id: string) => unknown = ownRequire(),
): Promise<DatabaseConstructor> {
  try {
    const loaded = load('better-sqlite3') as DatabaseConstructor | { default?: DatabaseConstructor };
    const Database = typeof loaded === 'function' ? loaded : loaded.default;
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

// `import.meta.url` in both builds (the CommonJS one gets it from tsup's shims): a bare `require`
// would become esbuild's throwing placeholder in the ESM build.
function ownRequire(): (id: string) => unknown {
  return createRequire(import.meta.url);
}
