import { chown, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Numeric owner for files Dovecot must read and change; `undefined` keeps the current user. */
export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * Creates `Maildir/{cur,new,tmp}` (and its parents below `root`) owned by `owner`.
 *
 * @example
 * ```ts
 * await makeMaildir('/tmp/x/mail/ann/Maildir', '/tmp/x/mail', { uid: 65534, gid: 65534 });
 * ```
 */
export async function makeMaildir(maildir: string, root: string, owner?: FileOwner): Promise<void> {
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, sub), { recursive: true, mode: 0o700 });
  if (!owner) return;
  // chown every directory from the mail root down, so Dovecot (running as `owner`) may write
  // its index and uidlist files next to the messages.
  let path = maildir;
  const chain: string[] = [];
  while (path.length >= root.length) {
    chain.push(path);
    if (path === root) break;
    path = path.slice(0, path.lastIndexOf('/'));
  }
  for (const dir of [...chain, ...['cur', 'new', 'tmp'].map((sub) => join(maildir, sub))]) {
    await chown(dir, owner.uid, owner.gid);
  }
}

/**
 * Delivers messages into `Maildir/new` the Maildir way: written under `tmp/`, then renamed, so
 * a POP3 session running at the same time never sees half a message.
 *
 * File names start with `<seconds>.M<counter>` so that their order (which Dovecot follows when
 * it assigns UIDs to new mail) is the order of `messages`.
 *
 * @example
 * ```ts
 * await deliverToMaildir(maildir, [Buffer.from('Subject: hi\r\n\r\nbody\r\n')], nextSequence);
 * ```
 */
export async function deliverToMaildir(
  maildir: string,
  messages: readonly Buffer[],
  nextSequence: () => number,
  owner?: FileOwner,
): Promise<string[]> {
  const names: string[] = [];
  const seconds = Math.floor(Date.now() / 1000);
  for (const message of messages) {
    const sequence = nextSequence();
    if (sequence > 999_999) throw new Error('too many seeded messages for one test server');
    const name = `${seconds}.M${String(sequence).padStart(6, '0')}P${process.pid}.multipop-test`;
    const staged = join(maildir, 'tmp', name);
    await writeFile(staged, message, { mode: 0o600 });
    if (owner) await chown(staged, owner.uid, owner.gid);
    await rename(staged, join(maildir, 'new', name));
    names.push(name);
  }
  return names;
}

/**
 * The messages now in a Maildir (`new/` and `cur/`), oldest first by their file-name time stamp
 * (`<seconds>.M<microseconds>`), which is how Dovecot and our seeding name them.
 *
 * @example
 * ```ts
 * const bodies = await readMaildir(maildir);
 * ```
 */
export async function readMaildir(maildir: string): Promise<Buffer[]> {
  // A server session that is still ending (the client hung up) may move a file from new/ to
  // cur/ between the listing and the read: then the listing is stale, so list again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await readMaildirOnce(maildir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 20) throw err;
    }
  }
}

async function readMaildirOnce(maildir: string): Promise<Buffer[]> {
  const found: Array<{ key: [number, number, string]; path: string }> = [];
  for (const sub of ['new', 'cur']) {
    let names: string[];
    try {
      names = await readdir(join(maildir, sub));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      found.push({ key: sortKey(name), path: join(maildir, sub, name) });
    }
  }
  found.sort(
    (a, b) =>
      a.key[0] - b.key[0] || a.key[1] - b.key[1] || (a.key[2] < b.key[2] ? -1 : a.key[2] > b.key[2] ? 1 : 0),
  );
  return Promise.all(found.map((entry) => readFile(entry.path)));
}

function sortKey(name: string): [number, number, string] {
  const base = name.split(':')[0] ?? name;
  const match = /^(\d+)\.(?:M(\d+))?/.exec(base);
  return [Number(match?.[1] ?? 0), Number(match?.[2] ?? 0), base];
}
