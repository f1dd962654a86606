/**
 * An integrator's own LocalQueue, written the way a host would write one: the host's mail
 * system picks up messages from a spool directory, one `<id>.eml` file per message with its
 * envelope beside it in `<id>.json`. multipop knows nothing about this format; the contract
 * suite in `queue.test.ts` is what tells the host that the adapter keeps multipop's promises.
 *
 * The duties (docs/integrating.md, "Implementing LocalQueue"):
 * 1. Resolve only once the message is durable: data and directory entry are fsync'ed first,
 *    because the moment `enqueue` resolves, multipop may delete the remote copy.
 * 2. Accept an idempotency key once: after a crash between "queued" and "recorded in the
 *    ledger", the same message is offered again and must not be delivered twice.
 * 3. Consume or destroy the stream either way, and leave nothing behind when it fails.
 *
 * Layout: `tmp/` holds files being written; `new/` holds finished messages. The file name is a
 * hash of the idempotency key, and a message enters `new/` with `link()`, which fails when the
 * name exists — so two attempts with the same key can never both be accepted, not even at once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { EnqueueResult, LocalQueue, QueuedMessage } from 'multipop/ports';

/** The envelope the host's mail system reads beside each message. */
export interface SpoolEnvelope {
  recipient: string;
  /** Where the message came from (for the host's logs). */
  source: { mailboxId: string; host: string; uidl: string };
  idempotencyKey: string;
}

/** A message in the spool, as the host's pick-up process sees it. */
export interface SpooledMessage {
  id: string;
  envelope: SpoolEnvelope;
  content: Buffer;
}

/** A LocalQueue over a spool directory (see the file comment). */
export class SpoolQueue implements LocalQueue {
  readonly root: string;
  readonly #ready: Promise<void>;

  constructor(root: string) {
    this.root = root;
    this.#ready = Promise.all([
      mkdir(join(root, 'tmp'), { recursive: true }),
      mkdir(join(root, 'new'), { recursive: true }),
    ]).then(() => undefined);
  }

  async enqueue(message: QueuedMessage): Promise<EnqueueResult> {
    await this.#ready;
    const id = spoolId(message.idempotencyKey);
    if (await this.#holds(id)) {
      // Already accepted (a retry after a crash): read the offer to its end and say yes.
      message.content.resume();
      await finished(message.content);
      return { id };
    }
    const tmp = join(this.root, 'tmp', `${id}.${randomUUID()}`);
    try {
      // pipeline() destroys the source when writing fails, and rejects when the source fails.
      await pipeline(message.content, createWriteStream(`${tmp}.eml`, { flags: 'wx' }));
      await fsyncFile(`${tmp}.eml`);
      const envelope: SpoolEnvelope = {
        recipient: message.recipient,
        source: { mailboxId: message.source.mailboxId, host: message.source.host, uidl: message.uidl },
        idempotencyKey: message.idempotencyKey,
      };
      await writeFile(`${tmp}.json`, JSON.stringify(envelope), { flag: 'wx' });
      await fsyncFile(`${tmp}.json`);
      // The envelope first: the host only picks up an .eml, and then its .json is there.
      // rename() replaces atomically an envelope left by a failed attempt (same key, same content).
      await rename(`${tmp}.json`, this.#path(id, 'json'));
      try {
        await link(`${tmp}.eml`, this.#path(id, 'eml'));
      } catch (err) {
        // Another attempt with the same key won the race: that copy counts, this one goes.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      await fsyncDirectory(join(this.root, 'new'));
      return { id };
    } finally {
      await rm(`${tmp}.eml`, { force: true });
      await rm(`${tmp}.json`, { force: true });
    }
  }

  async has(idempotencyKey: string): Promise<boolean> {
    await this.#ready;
    return this.#holds(spoolId(idempotencyKey));
  }

  /** Every finished message, as the host's pick-up process would read them. */
  async list(): Promise<SpooledMessage[]> {
    await this.#ready;
    const names = (await readdir(join(this.root, 'new'))).filter((n) => n.endsWith('.eml')).sort();
    return Promise.all(
      names.map(async (name) => {
        const id = name.slice(0, -'.eml'.length);
        const envelope = JSON.parse(await readFile(this.#path(id, 'json'), 'utf8')) as SpoolEnvelope;
        return { id, envelope, content: await readFile(this.#path(id, 'eml')) };
      }),
    );
  }

  #path(id: string, extension: 'eml' | 'json'): string {
    return join(this.root, 'new', `${id}.${extension}`);
  }

  async #holds(id: string): Promise<boolean> {
    return stat(this.#path(id, 'eml')).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
  }
}

/** A file-safe name for a key: keys contain mailbox ids and UIDLs, which may hold anything. */
function spoolId(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 32);
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames and links in a directory durable (Linux: fsync on the directory itself). */
async function fsyncDirectory(path: string): Promise<void> {
  await fsyncFile(path);
}
