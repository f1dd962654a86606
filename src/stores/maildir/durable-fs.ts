import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Flushes a directory's entries (a create or rename inside it) to stable storage. File data is
 * synced through its own handle; a rename is durable only once its directory is. Windows cannot
 * open directories; there, this is a no-op (NTFS journals metadata itself).
 *
 * @example
 * ```ts
 * await rename(tmpPath, newPath);
 * await fsyncDirectory(dirname(newPath));
 * ```
 */
export async function fsyncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
