/**
 * A minimal Maildir delivery for the Node-based contenders (raw client, node-pop3 script):
 * bytes go to `tmp/`, then a rename puts the finished file into `new/`, so a reader never sees
 * half a message. Synchronous on purpose: these clients run one session per process or a few
 * at a time, and a sync write of a small file is cheaper than a round of promises.
 *
 * Large messages are written to the file as they arrive (`write` is called per chunk and
 * flushes above a threshold), so memory stays flat whatever the message size.
 */
import { closeSync, fsync, mkdirSync, openSync, renameSync, writevSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Bytes held in memory before a partial message is flushed to its `tmp/` file. */
const FLUSH_BYTES = 1 << 20;
/** writev() takes at most IOV_MAX (1024 on Linux) buffers per call. */
const MAX_IOV = 1024;

const host = hostname().replace(/[/:]/g, '_');
let counter = 0;

/** One message being written; `finish()` makes it visible in `new/`. */
export interface MaildirMessage {
  write(chunk: Buffer): void;
  finish(): void;
  /** For group commit: writes what is left and returns the still open file, not yet renamed. */
  stage(): StagedMessage;
  abort(): void;
}

/** A message written to `tmp/` whose file is still open, waiting for its group's sync. */
export interface StagedMessage {
  fd: number;
  tmp: string;
  final: string;
}

/**
 * The durable delivery of a group of staged messages, the way the durable raw client does it:
 * every file synced **in parallel** (libuv's thread pool; the file system merges concurrent
 * syncs into one journal commit), each renamed into `new/`, then `new/` synced **once**.
 *
 * @example
 * ```ts
 * await commitGroup(maildir, staged.splice(0));
 * ```
 */
export async function commitGroup(maildir: string, group: readonly StagedMessage[]): Promise<void> {
  if (group.length === 0) return;
  await Promise.all(
    group.map(
      (m) => new Promise<void>((resolve, reject) => fsync(m.fd, (err) => (err ? reject(err) : resolve()))),
    ),
  );
  for (const m of group) {
    closeSync(m.fd);
    renameSync(m.tmp, m.final);
  }
  const dir = await open(join(maildir, 'new'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Makes sure `tmp/`, `new/` and `cur/` exist below `maildir`.
 *
 * @example
 * ```ts
 * ensureMaildir('/var/mail/ann/Maildir');
 * ```
 */
export function ensureMaildir(maildir: string): void {
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(maildir, sub), { recursive: true });
}

/**
 * Starts one message: nothing touches the disk until the first flush or `finish()`.
 *
 * @example
 * ```ts
 * const message = startMessage(maildir);
 * message.write(bytes);
 * message.finish();
 * ```
 */
export function startMessage(maildir: string): MaildirMessage {
  const now = process.hrtime.bigint();
  const name = `${now / 1_000_000_000n}.M${(now / 1_000n) % 1_000_000n}P${process.pid}Q${++counter}.${host}`;
  const tmp = join(maildir, 'tmp', name);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let fd: number | undefined;
  const flush = () => {
    fd ??= openSync(tmp, 'w', 0o600);
    for (let i = 0; i < pending.length; i += MAX_IOV) {
      const batch = pending.slice(i, i + MAX_IOV);
      const expected = batch.reduce((sum, chunk) => sum + chunk.length, 0);
      // Regular files take the whole write unless the disk is full; a short write is an error here.
      if (writevSync(fd, batch) !== expected) throw new Error(`short write to ${tmp}`);
    }
    pending = [];
    pendingBytes = 0;
  };
  return {
    write(chunk) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= FLUSH_BYTES) flush();
    },
    finish() {
      flush();
      closeSync(fd as number);
      renameSync(tmp, join(maildir, 'new', name));
    },
    stage() {
      flush();
      return { fd: fd as number, tmp, final: join(maildir, 'new', name) };
    },
    abort() {
      if (fd !== undefined) closeSync(fd);
      pending = [];
    },
  };
}
