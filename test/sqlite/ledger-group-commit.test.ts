import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyMailboxStatus } from '../../src/ports/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/sqlite/index.js';
import { tempStore } from './sqlite-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function fresh(): Promise<{ store: SqliteStore; path: string; key: Uint8Array | string }> {
  const made = await tempStore();
  cleanups.push(async () => {
    await made.store.close();
    await rm(made.dir, { recursive: true, force: true });
  });
  return made;
}

/** How many write transactions the file has seen: SQLite's data_version moves once per commit seen from another connection. */
function commitCounter(path: string): () => number {
  const watcher = new Database(path, { readonly: true });
  cleanups.push(async () => {
    watcher.close();
  });
  const read = () => watcher.pragma('data_version', { simple: true }) as number;
  const start = read();
  return () => read() - start;
}

describe('SQLite ledger: group commit', () => {
  it('commits the writes of many sessions issued at once in one transaction, all durable after', async () => {
    const { store, path, key } = await fresh();
    const commits = commitCounter(path);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.ledger.apply(`m${i % 5}`, [{ type: 'collected', uidl: `u${i}`, at: i }]),
      ).concat([store.ledger.saveStatus({ ...emptyMailboxStatus('m0'), totalMessages: 10 })]),
    );
    expect(commits()).toBe(1);
    await store.close();
    const again = await openSqliteStore({ path, key });
    cleanups.push(() => again.close());
    let total = 0;
    for (let m = 0; m < 5; m++) total += (await again.ledger.load(`m${m}`)).size;
    expect(total).toBe(50);
    expect((await again.ledger.loadStatus('m0'))?.totalMessages).toBe(10);
  });

  it('a failing apply among concurrent ones rejects alone and leaves nothing of itself', async () => {
    const { store, path } = await fresh();
    const raw = new Database(path);
    raw.exec(
      `CREATE TRIGGER boom BEFORE INSERT ON ledger WHEN NEW.uidl = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
    );
    raw.close();
    const outcomes = await Promise.allSettled([
      store.ledger.apply('m1', [{ type: 'collected', uidl: 'a', at: 1 }]),
      store.ledger.apply('m1', [
        { type: 'collected', uidl: 'b', at: 2 },
        { type: 'collected', uidl: 'boom', at: 3 },
      ]),
      store.ledger.apply('m1', [{ type: 'collected', uidl: 'c', at: 4 }]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_ERROR' });
    expect([...(await store.ledger.load('m1')).keys()].sort()).toEqual(['a', 'c']);
  });

  it('waits for another process’s write lock without blocking the event loop', async () => {
    const { store, path } = await fresh();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    let settled = false;
    const write = store.ledger.apply('m1', [{ type: 'collected', uidl: 'u1', at: 1 }]).then(() => {
      settled = true;
    });
    // Timers keep firing while the write waits for the lock (a blocking busy handler would stall them).
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks === 5) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    expect(settled).toBe(false);
    other.exec('COMMIT');
    other.close();
    await write;
    expect((await store.ledger.load('m1')).get('u1')?.collected).toBe(true);
  });

  it('gives up with STORE_ERROR when the lock is held past the busy timeout', async () => {
    const made = await tempStore();
    await made.store.close();
    const store = await openSqliteStore({ path: made.path, key: made.key, busyTimeoutMs: 50 });
    cleanups.push(async () => {
      await store.close();
      await rm(made.dir, { recursive: true, force: true });
    });
    const other = new Database(made.path);
    other.exec('BEGIN IMMEDIATE');
    await expect(store.ledger.apply('m1', [{ type: 'forget', uidl: 'x' }])).rejects.toMatchObject({
      code: 'STORE_ERROR',
    });
    other.exec('ROLLBACK');
    other.close();
  });
});
