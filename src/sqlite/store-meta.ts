import type { StoreMeta } from '../stores/store-meta.js';
import type { SqliteDatabase } from './driver.js';
import type { SqliteStore } from './store.js';

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
    get: async (key) => read.get(`${namespace}.${key}`)?.value,
    set: async (key, value) => {
      write.run(`${namespace}.${key}`, value);
    },
  };
}
