import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStore, type PostgresStore } from '../../src/postgres/index.js';
import type { ContractHarness } from '../../src/testing/contracts/index.js';

let schemas = 0;

/** A fresh schema name per call: tests share one server and stay apart by schema. */
export function freshSchema(): string {
  return `t${process.pid}_${++schemas}_${randomBytes(3).toString('hex')}`;
}

/** Drops a schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A contract harness for one port of the PostgreSQL store: each test gets a new schema on the
 * file's server; `reopen` closes the store and opens the same schema again (as after a restart).
 */
export function postgresHarness<T extends object>(
  url: () => string,
  pick: (store: PostgresStore) => T,
  key: Uint8Array | string = randomBytes(32),
): ContractHarness<T> {
  const opened = new WeakMap<T, { store: PostgresStore; schema: string }>();
  return {
    async create() {
      const schema = freshSchema();
      const store = await openPostgresStore({ url: url(), schema, key, maxConnections: 4 });
      const port = pick(store);
      opened.set(port, { store, schema });
      return port;
    },
    async reopen(port) {
      const { store, schema } = opened.get(port)!;
      await store.close();
      const again = await openPostgresStore({ url: url(), schema, key, maxConnections: 4 });
      const next = pick(again);
      opened.set(next, { store: again, schema });
      return next;
    },
    async dispose(port) {
      const { store, schema } = opened.get(port)!;
      await store.close();
      await dropSchema(url(), schema);
    },
  };
}
