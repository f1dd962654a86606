import { closeSync, writevSync } from 'node:fs';
import { readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { MultiPopError } from '../errors/index.js';
import { keyedSerial } from '../ports/group-commit.js';
import type { EnqueueResult, LocalQueue, QueuedMessage } from '../ports/index.js';
import { keyedGroupCommit } from '../ports/index.js';
import { chunkBytes, drain } from './content-stream.js';
import {
  fsyncDescriptor,
  fsyncDirectory,
  makeMaildir,
  openDescriptor,
  writeAll,
} from './maildir/durable-fs.js';
import { KeyMarkers, type MarkerTarget } from './maildir/key-markers.js';
import { isNameOf, maildirHostName, recipientFolderName, uniqueMaildirName } from './maildir/names.js';

/** Options of {@link maildirQueue}. */
export interface MaildirQueueOptions {
  /** The queue root: the parent of one Maildir per recipient, or the Maildir itself with `single`. */
  root: string;
  /**
   * Deliver every message into the one Maildir at `root`, whoever the recipient is — the
   * collector-command case (one remote mailbox into one `MAILDIR`).
   * @default false
   */
  single?: boolean;
  /**
   * The Maildir for a recipient (absolute, or relative to `root`). Default: `<root>/<recipient>`
   * with the recipient made file-name safe (`ann@example.com` stays readable). Ignored with `single`.
   * @example
   * ```ts
   * maildirQueue({ root: '/var/vmail', folderFor: (recipient) => `${recipient.split('@')[1]}/${recipient.split('@')[0]}/Maildir` });
   * ```
   */
  folderFor?(recipient: string): string;
  /**
   * Sync file data and directory entries to stable storage before `enqueue` resolves. Turn off
   * only for tests and benchmarks: without it a power loss can lose mail the remote server has
   * already deleted.
   * @default true
   */
  fsync?: boolean;
  /**
   * Where the idempotency markers live. Default: `<root>/multipop-keys` with `single` (not
   * dot-leading: Maildir++ readers such as Dovecot take `.name` directories for folders), else
   * `<root>/.multipop-keys` (recipient folder names never start with a dot, so it cannot clash).
   */
  keysDir?: string;
  /** The host part of file names. @default os.hostname() */
  hostname?: string;
  /** Mode of message and marker files. @default 0o600 */
  fileMode?: number;
  /** Mode of directories the queue creates. @default 0o700 */
  dirMode?: number;
}

/** The Maildir {@link LocalQueue} returned by {@link maildirQueue}. */
export interface MaildirQueue extends LocalQueue {
  /** Writes the message into the recipient's Maildir (see {@link maildirQueue}). */
  enqueue(message: QueuedMessage): Promise<EnqueueResult>;
  has(idempotencyKey: string): Promise<boolean>;
  /** The Maildir a recipient's messages go to (absolute path). */
  folderOf(recipient: string): string;
  /**
   * Deletes idempotency markers older than `olderThanDays` (default 30) and returns how many.
   * A marker is needed only until the collector has recorded the message in its ledger — a
   * retry comes with the mailbox's next session — so call this now and then (e.g. daily).
   */
  prune(options?: { olderThanDays?: number }): Promise<number>;
  /**
   * Deletes files in `tmp/` older than `olderThanHours` (default 36, the Maildir convention) from
   * every Maildir this queue delivered to since it was created, and returns how many. Such files
   * are what a crash in the middle of a delivery leaves; readers never see them. The queue also
   * does this once per Maildir, when it first delivers there.
   */
  cleanTmp(options?: { olderThanHours?: number }): Promise<number>;
}

/** Files in `tmp/` older than this are leftovers of a crash (the Maildir convention). */
const TMP_MAX_AGE_HOURS = 36;

/**
 * A {@link LocalQueue} that delivers into Maildirs, the way every Maildir MDA does: the content
 * is streamed to `tmp/<unique>` (never held in memory), synced, renamed into `new/`, and `new/`
 * is synced; only then does `enqueue` resolve. File names follow the Maildir convention
 * (`<time>.M<µs>P<pid>Q<seq>R<random>.<host>,S=<size>`); the id returned is the name without
 * `,S=…` (the part that stays when a reader moves the file to `cur/` and adds flags).
 *
 * Idempotent on `idempotencyKey`, across crashes, with O(1) work per message: a marker file per
 * key is written and synced before the rename into `new/`, and names the file; a retry with the
 * same key finds the marker and the message and resolves with the first id, draining the new
 * stream. See docs/stores.md for the crash windows.
 *
 * @example
 * ```ts
 * // one Maildir per local recipient: /var/spool/multipop/ann@example.com/{tmp,new,cur}
 * const queue = maildirQueue({ root: '/var/spool/multipop' });
 * // one remote mailbox into one Maildir
 * const inbox = maildirQueue({ root: process.env.MAILDIR!, single: true });
 * ```
 */
export function maildirQueue(options: MaildirQueueOptions): MaildirQueue {
  const root = resolve(options.root);
  const durable = options.fsync !== false;
  const fileMode = options.fileMode ?? 0o600;
  const dirMode = options.dirMode ?? 0o700;
  const host = maildirHostName(options.hostname);
  /** Directory syncs shared by concurrent deliveries (one in progress and one waiting per directory). */
  const syncDirectory = keyedGroupCommit(fsyncDirectory);
  const markers = new KeyMarkers(
    resolve(root, options.keysDir ?? (options.single ? 'multipop-keys' : '.multipop-keys')),
    {
      durable,
      mode: fileMode,
      dirMode,
      syncDirectory,
    },
  );
  /** Maildirs known to exist (created at most once per process). */
  const ready = new Set<string>();
  /** Same-key calls run one after another (per key hash). */
  const serialized = keyedSerial();

  function folderOf(recipient: string): string {
    if (options.single) return root;
    const chosen = options.folderFor ? options.folderFor(recipient) : recipientFolderName(recipient);
    return isAbsolute(chosen) ? resolve(chosen) : resolve(root, chosen);
  }

  /**
   * Whether the message a marker names is in its Maildir (`new/` or `cur/`), synced when found
   * so a delivery interrupted before its final sync is made durable before anyone relies on it.
   */
  async function delivered(target: MarkerTarget): Promise<boolean> {
    const folder = resolve(root, target.folder);
    for (const sub of ['new', 'cur']) {
      let entries: string[];
      try {
        entries = await readdir(join(folder, sub));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (entries.some((entry) => isNameOf(entry, target.name))) {
        if (durable) await syncDirectory(join(folder, sub));
        return true;
      }
    }
    return false;
  }

  /** The id of an earlier delivery of this key, or undefined when there was none. */
  async function earlierDelivery(hash: string): Promise<string | undefined> {
    const marker = await markers.read(hash);
    if (marker.state === 'done') return marker.target?.name ?? `key-${hash.slice(0, 16)}`;
    if (marker.state === 'pending' && marker.target && (await delivered(marker.target))) {
      await markers.markDone(hash).catch(() => undefined);
      return marker.target.name;
    }
    // No marker, or a pending one whose message never reached new/ (or that a crash cut short
    // before the rename — the rename happens only after the marker is complete and synced).
    return undefined;
  }

  async function deliver(message: QueuedMessage, hash: string): Promise<EnqueueResult> {
    const folder = folderOf(message.recipient);
    if (!ready.has(folder)) {
      await makeMaildir(folder, { mode: dirMode, durable });
      ready.add(folder);
      await removeStale(join(folder, 'tmp'), TMP_MAX_AGE_HOURS).catch(() => 0);
    }
    const name = uniqueMaildirName(host);
    const staged = join(folder, 'tmp', name);
    // The marker is written while the content streams; both must be complete before the rename.
    const [written, marked] = await Promise.allSettled([
      writeContent(message, staged, { durable, mode: fileMode }),
      markers.writePending(hash, { folder: relative(root, folder), name }),
    ]);
    if (written.status === 'rejected' || marked.status === 'rejected') {
      await rm(staged, { force: true }).catch(() => undefined);
      if (marked.status === 'fulfilled') await markers.removePending(hash).catch(() => undefined);
      throw written.status === 'rejected' ? written.reason : (marked as PromiseRejectedResult).reason;
    }
    const newDir = join(folder, 'new');
    try {
      // The caller's last word before the message is delivered (a fleet worker's lease check). A
      // refusal leaves the pending marker: one whose message never reached new/ counts as none,
      // and it may already name another worker's delivery of the same key.
      await message.beforeCommit?.();
    } catch (err) {
      await rm(staged, { force: true }).catch(() => undefined);
      throw err;
    }
    try {
      await rename(staged, join(newDir, `${name},S=${written.value}`));
    } catch (err) {
      await rm(staged, { force: true }).catch(() => undefined);
      await markers.removePending(hash).catch(() => undefined);
      throw err;
    }
    // From here the file is in new/: on failure keep the pending marker, so a retry finds it.
    if (durable) await syncDirectory(newDir);
    await markers.markDone(hash).catch(() => undefined); // a lost rename only costs one scan later
    return { id: name };
  }

  return {
    folderOf,
    enqueue(message) {
      const hash = KeyMarkers.hash(message.idempotencyKey);
      return serialized(hash, async () => {
        try {
          const earlier = await earlierDelivery(hash);
          if (earlier !== undefined) {
            await drain(message.content);
            return { id: earlier };
          }
          return await deliver(message, hash);
        } catch (err) {
          message.content.destroy();
          throw new MultiPopError(
            'QUEUE_REJECTED',
            'The Maildir queue did not accept the message',
            { mailboxId: message.source.mailboxId },
            { cause: err },
          );
        }
      });
    },
    has(idempotencyKey) {
      const hash = KeyMarkers.hash(idempotencyKey);
      return serialized(hash, async () => {
        try {
          return (await earlierDelivery(hash)) !== undefined;
        } catch (err) {
          throw new MultiPopError(
            'STORE_ERROR',
            'The Maildir queue could not read its idempotency markers',
            {},
            { cause: err },
          );
        }
      });
    },
    async prune({ olderThanDays = 30 } = {}) {
      return markers.prune(Date.now() - olderThanDays * 86_400_000);
    },
    async cleanTmp({ olderThanHours = TMP_MAX_AGE_HOURS } = {}) {
      let removed = 0;
      for (const folder of ready) removed += await removeStale(join(folder, 'tmp'), olderThanHours);
      return removed;
    },
  };
}

/**
 * Removes the files in `dir` last modified more than `hours` ago; returns how many. A file
 * being written now is younger than that by far (each write updates its time), so only the
 * leftovers of interrupted deliveries go.
 */
async function removeStale(dir: string, hours: number): Promise<number> {
  const cutoff = Date.now() - hours * 3_600_000;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < cutoff) {
      await unlink(path).then(
        () => removed++,
        () => undefined,
      );
    }
  }
  return removed;
}

/**
 * A message up to this size is gathered in memory and written with one synchronous `writev`
 * (see durable-fs.ts); a larger one is streamed to its file as it arrives. The bodies of a
 * session arrive one after another and the gathered bytes are let go once written, so a session
 * holds at most this much of a message at a time.
 */
const GATHER_LIMIT = 256 * 1024;

/** writev() takes at most IOV_MAX (1024 on Linux) buffers per call. */
const IOV_MAX = 1024;

/**
 * Writes the content into a new file (exclusive create) and syncs it; returns its size. A small
 * message is gathered and written at once; a large one is streamed, each chunk written (in the
 * thread pool) before the next is read, so a slow disk slows the reader — back-pressure up to
 * the socket. If anything fails, leaving the loop destroys the stream (the port requires
 * consume or destroy).
 */
async function writeContent(
  message: QueuedMessage,
  path: string,
  options: { durable: boolean; mode: number },
): Promise<number> {
  const gathered: Uint8Array[] = [];
  let size = 0;
  let fd: number | undefined;
  try {
    for await (const chunk of message.content) {
      const bytes = chunkBytes(chunk);
      size += bytes.length;
      if (fd === undefined && size <= GATHER_LIMIT) {
        gathered.push(bytes);
        continue;
      }
      if (fd === undefined) {
        fd = await openDescriptor(path, 'wx', options.mode);
        writeGathered(fd, gathered.splice(0));
      }
      await writeAll(fd, bytes, true);
    }
    fd ??= await openDescriptor(path, 'wx', options.mode);
    writeGathered(fd, gathered.splice(0)); // the page cache has the bytes: let go of them while the sync runs
    if (options.durable) await fsyncDescriptor(fd);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return size;
}

/** Writes the parts with as few `writev` calls as the kernel takes (short writes resumed). */
function writeGathered(fd: number, parts: Uint8Array[]): void {
  let pending = parts;
  while (pending.length > 0) {
    const batch = pending.slice(0, IOV_MAX);
    let written = writevSync(fd, batch);
    // Drop what was written, keeping the unwritten tail of a part cut short.
    let index = 0;
    while (index < batch.length && written >= batch[index]!.length) written -= batch[index++]!.length;
    pending = pending.slice(index);
    if (written > 0) pending[0] = pending[0]!.subarray(written);
  }
}
