/**
 * A minimal Maildir delivery for the Node-based contenders (raw client, node-pop3 script):
 * bytes go to `tmp/`, then a rename puts the finished file into `new/`, so a reader never sees
 * half a message. Synchronous on purpose: these clients run one session per process or a few
 * at a time, and a sync write of a small file is cheaper than a round of promises.
 *
 * Large messages are written to the file as they arrive (`write` is called per chunk and
 * flushes above a threshold), so memory stays flat whatever the message size.
 */
import { closeSync, mkdirSync, openSync, renameSync, writevSync } from 'node:fs';
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
  abort(): void;
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
    abort() {
      if (fd !== undefined) closeSync(fd);
      pending = [];
    },
  };
}
