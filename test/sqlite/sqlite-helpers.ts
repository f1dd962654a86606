import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../../src/sqlite/index.js';
import type { ContractHarness } from '../../src/testing/contracts/index.js';

/** A fresh store file in its own temp directory. */
export async function tempStore(
  key: Uint8Array | string = randomBytes(32),
): Promise<{ store: SqliteStore; dir: string; path: string; key: Uint8Array | string }> {
  const dir = await mkdtemp(join(tmpdir(), 'multipop-sqlite-'));
  const path = join(dir, 'state.sqlite');
  return { store: await openSqliteStore({ path, key }), dir, path, key };
}

/**
 * A contract harness for one port of the SQLite store: each test gets a new file; `reopen`
 * closes the handle and opens the same file again (as after a restart).
 */
export function sqliteHarness<T extends object>(
  pick: (store: SqliteStore) => T,
  key?: () => Uint8Array | string,
): ContractHarness<T> {
  const opened = new WeakMap<
    T,
    { store: SqliteStore; dir: string; path: string; key: Uint8Array | string }
  >();
  return {
    async create() {
      const made = await tempStore(key?.());
      const port = pick(made.store);
      opened.set(port, made);
      return port;
    },
    async reopen(port) {
      const made = opened.get(port)!;
      await made.store.close();
      const store = await openSqliteStore({ path: made.path, key: made.key });
      const again = pick(store);
      opened.set(again, { ...made, store });
      return again;
    },
    async dispose(port) {
      const made = opened.get(port)!;
      await made.store.close();
      await rm(made.dir, { recursive: true, force: true });
    },
  };
}
