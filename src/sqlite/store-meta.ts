import type { SqliteDatabase } from './driver.js';
import type { SqliteStore } from './store.js';

/**
 * Small named values that a tool keeps inside a store file beside the data (the `meta` table),
 * e.g. which users the CLI put into the directory. Not part of the package's public API: the
 * CLI reaches it from inside the package; a host has its own database for such things.
 */
export interface StoreMeta {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

const handles = new WeakMap<SqliteStore, SqliteDatabase>();

/** Called by `openSqliteStore` for each store it returns. */
export function registerStoreHandle(store: SqliteStore, db: SqliteDatabase): void {
  handles.set(store, db);
}

/** The meta values of an open store under `namespace` (keys are stored as `namespace.key`). */
export function storeMeta(store: SqliteStore, namespace: string): StoreMeta {
  const db = handles.get(store);
  if (!db) throw new TypeError('storeMeta needs a store returned by openSqliteStore');
  const read = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const write = db.prepare<[string, string]>(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  return {
    get: (key) => read.get(`${namespace}.${key}`)?.value,
    set: (key, value) => {
      write.run(`${namespace}.${key}`, value);
    },
  };
}
