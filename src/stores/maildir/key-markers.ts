import { createHash } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory, makeDirectory } from './durable-fs.js';

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

/**
 * The idempotency record of the Maildir queue: one small file per key hash under
 * `<dir>/<first two hex digits>/`. `<hash>.pending` is written (and synced) *before* the message
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
  /** Syncs a shard directory; shared between concurrent writers (a group commit). */
  readonly #syncDirectory: (dir: string) => Promise<void>;
  /** Shard directories known to exist (created at most once per process). */
  readonly #shards = new Set<string>();

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

  async read(hash: string): Promise<MarkerState> {
    const done = await readTarget(this.#path(hash));
    if (done !== null) return done === undefined ? { state: 'done' } : { state: 'done', target: done };
    const pending = await readTarget(this.#path(hash, '.pending'));
    if (pending !== null)
      return pending === undefined ? { state: 'pending' } : { state: 'pending', target: pending };
    return { state: 'none' };
  }

  /**
   * Records the intent; resolves once the marker is on stable storage (when durable). The file
   * is synced through its own handle; its shard directory through `syncDirectory`, which
   * concurrent writers share.
   */
  async writePending(hash: string, target: MarkerTarget): Promise<void> {
    const shard = await this.#shard(hash);
    const handle = await open(this.#path(hash, '.pending'), 'w', this.#mode);
    try {
      await handle.writeFile(JSON.stringify(target), 'utf8');
      if (this.#durable) await handle.sync();
    } finally {
      await handle.close();
    }
    if (this.#durable) await this.#syncDirectory(shard);
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
    let removed = 0;
    let shards: string[];
    try {
      shards = await readdir(this.#dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await readdir(join(this.#dir, shard))) {
        const path = join(this.#dir, shard, name);
        const info = await stat(path).catch(() => undefined);
        if (info && info.mtimeMs < cutoff) {
          await unlink(path).catch(() => undefined);
          removed++;
        }
      }
    }
    return removed;
  }

  #path(hash: string, suffix = ''): string {
    return join(this.#dir, hash.slice(0, 2), hash + suffix);
  }

  async #shard(hash: string): Promise<string> {
    const shard = join(this.#dir, hash.slice(0, 2));
    if (!this.#shards.has(shard)) {
      await makeDirectory(shard, { mode: this.#dirMode, durable: this.#durable });
      this.#shards.add(shard);
    }
    return shard;
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
