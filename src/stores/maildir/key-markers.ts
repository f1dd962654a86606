import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDescriptor, fsyncDirectory, makeDirectory, openDescriptor, writeAll } from './durable-fs.js';

/** Where a message was (or was about to be) delivered: its Maildir (relative to the queue root) and base name. */
export interface MarkerTarget {
  folder: string;
  name: string;
}

/** What the markers say about one idempotency key. */
export type MarkerState =
  | { state: 'done'; target?: MarkerTarget }
  | { state: 'pending'; target?: MarkerTarget }
  | { state: 'none' };

/** A marker's file name: the key hash, maybe with `.pending`. */
const MARKER_NAME = /^[0-9a-f]{64}(\.pending)?$/;

/**
 * Open flags of a durable marker write: with `O_DSYNC` the one write returns only once the data
 * (and the size needed to read it back) is on stable storage, which saves the separate `fsync`
 * call. Where the platform has no `O_DSYNC`, the file is synced instead.
 */
const DSYNC_WRITE =
  constants.O_DSYNC === undefined
    ? undefined
    : constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC;

/**
 * The idempotency record of the Maildir queue: one small file per key hash, all in one
 * directory (so the directory syncs of concurrent deliveries are one shared sync, not one per
 * shard; ext4, XFS and btrfs index large directories). `<hash>.pending` is written (and synced) *before* the message
 * is renamed into `new/` and names where it goes; it becomes `<hash>` (a rename) once the
 * message is durably there. So a key whose message reached `new/` always has a marker, and the
 * expensive check (a scan of `new/` and `cur/`) is needed only for a pending marker, i.e. only
 * after a crash or a failure in the middle of a delivery.
 */
export class KeyMarkers {
  readonly #dir: string;
  readonly #durable: boolean;
  readonly #mode: number;
  readonly #dirMode: number;
  /** Syncs the marker directory; shared between concurrent writers (a group commit). */
  readonly #syncDirectory: (dir: string) => Promise<void>;
  /** Whether the marker directory is known to exist (created at most once per process). */
  #dirReady = false;

  constructor(
    dir: string,
    options: {
      durable: boolean;
      mode: number;
      dirMode: number;
      /** @default fsyncDirectory (one sync per call) */
      syncDirectory?: (dir: string) => Promise<void>;
    },
  ) {
    this.#dir = dir;
    this.#durable = options.durable;
    this.#mode = options.mode;
    this.#dirMode = options.dirMode;
    this.#syncDirectory = options.syncDirectory ?? fsyncDirectory;
  }

  /** The file-name-safe hash of an idempotency key (any string goes in). */
  static hash(idempotencyKey: string): string {
    return createHash('sha256').update(idempotencyKey, 'utf8').digest('hex');
  }

  /**
   * What the markers say about `hash`. Almost every lookup is of a key never seen, so the
   * existence checks are synchronous `access` calls: one system call on a directory the kernel
   * has cached, without building and throwing an `ENOENT` error twice per message (which cost
   * more than the lookup itself). A marker renamed between the check and the read (pending →
   * done, by a process taking over the mailbox) is looked up once more.
   */
  async read(hash: string): Promise<MarkerState> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const donePath = this.#path(hash);
      if (existsSync(donePath)) {
        const done = await readTarget(donePath);
        if (done !== null) return done === undefined ? { state: 'done' } : { state: 'done', target: done };
      }
      const pendingPath = this.#path(hash, '.pending');
      if (!existsSync(pendingPath)) {
        if (existsSync(donePath)) continue;
        return { state: 'none' };
      }
      const pending = await readTarget(pendingPath);
      if (pending !== null)
        return pending === undefined ? { state: 'pending' } : { state: 'pending', target: pending };
    }
    return { state: 'none' };
  }

  /**
   * Records the intent; resolves once the marker is on stable storage (when durable). The file
   * is written with `O_DSYNC` (or synced through its handle); the directory entry is synced
   * through `syncDirectory`, which concurrent writers share.
   */
  async writePending(hash: string, target: MarkerTarget): Promise<void> {
    await this.#ensureDir();
    const dsync = this.#durable && DSYNC_WRITE !== undefined;
    // The write waits for the disk (O_DSYNC) in the thread pool; the close is synchronous (see durable-fs.ts).
    const fd = await openDescriptor(
      this.#path(hash, '.pending'),
      dsync ? (DSYNC_WRITE as number) : 'w',
      this.#mode,
    );
    try {
      await writeAll(fd, Buffer.from(JSON.stringify(target), 'utf8'), dsync);
      if (this.#durable && !dsync) await fsyncDescriptor(fd);
    } finally {
      closeSync(fd);
    }
    if (this.#durable) await this.#syncDirectory(this.#dir);
  }

  /**
   * Pending → done. Not synced on purpose: if this rename is lost in a crash, the pending marker
   * remains and the next lookup finds the message by scanning — correct, merely slower once.
   */
  async markDone(hash: string): Promise<void> {
    await rename(this.#path(hash, '.pending'), this.#path(hash));
  }

  async removePending(hash: string): Promise<void> {
    await rm(this.#path(hash, '.pending'), { force: true });
  }

  /** Deletes markers last written before `cutoff` (ms); returns how many. */
  async prune(cutoff: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      if (!MARKER_NAME.test(name)) continue;
      const path = join(this.#dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) {
        await unlink(path).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  #path(hash: string, suffix = ''): string {
    return join(this.#dir, hash + suffix);
  }

  async #ensureDir(): Promise<void> {
    if (this.#dirReady) return;
    await makeDirectory(this.#dir, { mode: this.#dirMode, durable: this.#durable });
    this.#dirReady = true;
  }
}

/**
 * null: no such marker. undefined: the marker exists but its content is unreadable — possible
 * only for a pending marker cut short by a crash, before anything was renamed into `new/`.
 */
async function readTarget(path: string): Promise<MarkerTarget | undefined | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const value = JSON.parse(text) as Partial<MarkerTarget>;
    if (typeof value.folder === 'string' && typeof value.name === 'string')
      return { folder: value.folder, name: value.name };
  } catch {
    // fall through: unreadable
  }
  return undefined;
}
