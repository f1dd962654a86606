import type { StoreMeta } from '../stores/store-meta.js';
import type { Db } from './db.js';
import { guarded } from './guard.js';
import type { PostgresStore } from './store.js';
import type { Tables } from './tables.js';

const handles = new WeakMap<PostgresStore, { db: Db; tables: Tables }>();

/** Called by `openPostgresStore` for each store it returns. */
export function registerPostgresStoreHandle(store: PostgresStore, db: Db, tables: Tables): void {
  handles.set(store, { db, tables });
}

/**
 * The meta values of an open store under `namespace` (keys are stored as `namespace.key` in
 * the schema's `meta` table, beside the key check).
 */
export function postgresStoreMeta(store: PostgresStore, namespace: string): StoreMeta {
  const handle = handles.get(store);
  if (!handle) throw new TypeError('postgresStoreMeta needs a store returned by openPostgresStore');
  const { db, tables } = handle;
  return {
    get: (key) =>
      guarded('reading a meta value', async () => {
        const result = await db.query<{ value: string }>(`SELECT value FROM ${tables.meta} WHERE key = $1`, [
          `${namespace}.${key}`,
        ]);
        return result.rows[0]?.value;
      }),
    set: (key, value) =>
      guarded('writing a meta value', async () => {
        await db.query(
          `INSERT INTO ${tables.meta} (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [`${namespace}.${key}`, value],
        );
      }),
  };
}
