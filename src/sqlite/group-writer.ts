import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MultiPopError } from '../errors/index.js';
import { groupCommit } from '../ports/index.js';
import { fsyncDirectory } from '../stores/maildir/durable-fs.js';
import type { SqliteDatabase } from './driver.js';

/** How long a group waits between tries while another process holds the write lock. */
const LOCKED_RETRY_MS = 10;

/**
 * Group commit for SQLite writes that must be durable when their promise resolves, without
 * blocking the event loop on a sync.
 *
 * Every write queued in one turn of the event loop (the `apply` calls of all sessions in the
 * process) runs in **one** transaction, each in its own savepoint, so one that fails rolls back
 * alone and rejects alone. That transaction commits with `synchronous = NORMAL`: SQLite writes
 * the WAL but does not sync it — microseconds on the event loop. Then one `fsync` of the WAL
 * file, in libuv's thread pool, makes the group durable (shared with later groups that commit
 * while it runs, see {@link groupCommit}); only then do the writes resolve. The first sync also
 * syncs the database's directory, so a WAL file created by this process survives a power loss.
 * A crash or power loss before the sync loses only writes whose promises had not resolved.
 *
 * The connection's own setting stays `synchronous = FULL` for every other write (directory,
 * tokens), and a write lock held by another process is waited for with timers, not in SQLite's
 * blocking busy handler.
 *
 * @example
 * ```ts
 * const write = groupWriter(db, (change: Change) => statement.run(change));
 * await Promise.all([write(a), write(b)]); // one transaction, one WAL sync
 * ```
 */
export function groupWriter<A>(db: SqliteDatabase, run: (arg: A) => void): (arg: A) => Promise<void> {
  interface Queued {
    arg: A;
    resolve: () => void;
    reject: (err: unknown) => void;
    failure?: unknown;
  }
  /** The connection's busy timeout: how long a group may wait for another process's write lock. */
  const busyTimeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
  let queued: Queued[] = [];
  let scheduled = false;
  const inMemory = db.memory;
  const walPath = `${db.name}-wal`;
  let directorySynced = false;
  const syncWal = groupCommit(async () => {
    const handle = await open(walPath, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (!directorySynced) {
      await fsyncDirectory(dirname(db.name));
      directorySynced = true;
    }
  });
  const one = db.transaction((item: Queued) => run(item.arg));
  const all = db.transaction((group: Queued[]) => {
    for (const item of group) {
      try {
        one(item); // nested: a savepoint, rolled back alone when it throws
      } catch (err) {
        item.failure = err;
      }
    }
  });

  const commit = (group: Queued[], deadline: number) => {
    try {
      db.pragma('busy_timeout = 0');
      db.pragma('synchronous = NORMAL');
      all.immediate(group);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY' && Date.now() < deadline) {
        setTimeout(() => commit(group, deadline), LOCKED_RETRY_MS);
        return;
      }
      for (const item of group) item.reject(err);
      return;
    } finally {
      if (db.open) {
        db.pragma('synchronous = FULL');
        db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      }
    }
    const durable = inMemory ? Promise.resolve() : syncWal();
    for (const item of group) {
      if (item.failure !== undefined) item.reject(item.failure);
      else durable.then(item.resolve, (err: unknown) => item.reject(syncFailed(err)));
    }
  };

  const flush = () => {
    scheduled = false;
    const group = queued;
    queued = [];
    if (!db.open) {
      for (const item of group) item.reject(new TypeError('The database connection is not open'));
      return;
    }
    commit(group, Date.now() + busyTimeoutMs);
  };

  return (arg) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ arg, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

function syncFailed(err: unknown): MultiPopError {
  return new MultiPopError(
    'STORE_ERROR',
    'SQLite store: syncing the write-ahead log failed; the last writes may not be durable',
    {},
    { cause: err },
  );
}
