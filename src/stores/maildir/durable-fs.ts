import { closeSync, fsync, open, openSync, write, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/*
 * Which calls are synchronous, and why. Writing a small file into the page cache and closing it
 * take microseconds, while each promise-based call costs a thread-pool round trip and a
 * FileHandle — measured, that dispatch was most of the Maildir queue's CPU time per message. So
 * writes of gathered messages and closes are synchronous. Creating a file or renaming one is
 * not: on ext4 each needs a journal handle, and while the syncs of concurrent deliveries commit
 * the journal, it waits — measured, synchronous creates blocked the event loop for 2.9 s of a
 * 5 s run. Those, and everything that waits for the disk (`fsync`, a write with O_DSYNC), run
 * in the thread pool (callback API: no FileHandle, no promise per call inside Node).
 */

/**
 * `open(path, flags, mode)` in the thread pool; resolves with the descriptor.
 *
 * @example
 * ```ts
 * const fd = await openDescriptor('/tmp/x', 'wx', 0o600);
 * ```
 */
export function openDescriptor(path: string, flags: string | number, mode: number): Promise<number> {
  return new Promise((resolve, reject) =>
    open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

/**
 * `fsync(fd)` in the thread pool.
 *
 * @example
 * ```ts
 * const fd = openSync('/tmp/x', 'w');
 * await fsyncDescriptor(fd);
 * ```
 */
export function fsyncDescriptor(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Writes all of `data` at the file's position: synchronously, or in the thread pool with
 * `inThreadPool` (a descriptor opened with `O_DSYNC`, whose write waits for the disk).
 *
 * @example
 * ```ts
 * await writeAll(openSync('/tmp/x', 'w'), Buffer.from('hi'), false);
 * ```
 */
export async function writeAll(fd: number, data: Uint8Array, inThreadPool: boolean): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += inThreadPool
      ? await new Promise<number>((resolve, reject) =>
          write(fd, data, offset, data.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))),
        )
      : writeSync(fd, data, offset, data.length - offset);
  }
}

/**
 * Flushes a directory's entries (a create or rename inside it) to stable storage. File data is
 * synced through its own descriptor; a rename is durable only once its directory is. Windows
 * cannot open directories; there, this is a no-op (NTFS journals metadata itself).
 *
 * @example
 * ```ts
 * await rename(tmpPath, newPath);
 * await fsyncDirectory(dirname(newPath));
 * ```
 */
export async function fsyncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fd = openSync(path, 'r'); // opening a directory to read needs no journal handle
  try {
    await fsyncDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `path` and its missing parents; when anything was created and `durable` is set, syncs
 * each parent that gained an entry, so the new directory survives a power loss.
 *
 * @returns true when something was created.
 * @example
 * ```ts
 * await makeDirectory('/var/mail/ann/Maildir/new', { mode: 0o700, durable: true });
 * ```
 */
export async function makeDirectory(
  path: string,
  options: { mode: number; durable: boolean },
): Promise<boolean> {
  const first = await mkdir(path, { recursive: true, mode: options.mode });
  if (first === undefined) return false;
  if (options.durable) {
    // Every directory from the parent of the first one created down to `path` got a new entry.
    let dir = path;
    const chain: string[] = [];
    while (dir !== dirname(first) && dir !== dirname(dir)) {
      dir = dirname(dir);
      chain.push(dir);
    }
    for (const parent of chain.reverse()) await fsyncDirectory(parent);
  }
  return true;
}

/**
 * Ensures `folder` is a Maildir (`tmp/`, `new/`, `cur/`), creating what is missing.
 *
 * @example
 * ```ts
 * await makeMaildir('/srv/mail/ann', { mode: 0o700, durable: true });
 * ```
 */
export async function makeMaildir(
  folder: string,
  options: { mode: number; durable: boolean },
): Promise<void> {
  for (const sub of ['tmp', 'new', 'cur']) await makeDirectory(join(folder, sub), options);
}
