import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMultiPopError } from '../../src/errors/index.js';
import { maildirQueue, recipientFolderName } from '../../src/stores/index.js';
import { makeQueuedMessage } from '../../src/testing/contracts/index.js';
import { maildirMessages, tempRoot } from './maildir-helpers.js';

const raw = Buffer.from('Subject: hi\r\n\r\nGr\xfc\xdfe\r\n.\r\n', 'latin1');
const keyFile = (keysDir: string, key: string, suffix = '') => {
  const hash = createHash('sha256').update(key).digest('hex');
  return join(keysDir, hash + suffix);
};

let root: string;
beforeEach(async () => {
  root = await tempRoot();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('maildirQueue: layout and names', () => {
  it('creates one Maildir per recipient and names files the Maildir way, with the size', async () => {
    const queue = maildirQueue({ root, hostname: 'mx1.example' });
    const { id } = await queue.enqueue(
      makeQueuedMessage({ content: raw, recipient: 'ann@example.com', idempotencyKey: 'k1' }),
    );
    const maildir = join(root, 'ann@example.com');
    expect(queue.folderOf('ann@example.com')).toBe(maildir);
    expect((await readdir(maildir)).sort()).toEqual(['cur', 'new', 'tmp']);
    expect(id).toMatch(new RegExp(`^\\d+\\.M\\d+P${process.pid}Q\\d+R[0-9a-f]{8}\\.mx1\\.example$`));
    expect(await readdir(join(maildir, 'new'))).toEqual([`${id},S=${raw.length}`]);
    expect(await readdir(join(maildir, 'tmp'))).toEqual([]);
    expect((await readFile(join(maildir, 'new', `${id},S=${raw.length}`))).equals(raw)).toBe(true);
    expect((await stat(join(maildir, 'new', `${id},S=${raw.length}`))).mode & 0o777).toBe(0o600);
  });

  it.each([
    { kind: 'gathered in memory: 3,000 chunks, more than one writev takes', chunks: 3_000, size: 50 },
    { kind: 'streamed: past the gather limit', chunks: 40, size: 10_000 },
  ])('stores a message $kind, byte for byte', async ({ chunks, size }) => {
    const parts = Array.from({ length: chunks }, (_, i) => Buffer.alloc(size, 33 + (i % 90)));
    const queue = maildirQueue({ root, single: true });
    await queue.enqueue(makeQueuedMessage({ content: Readable.from(parts), idempotencyKey: 'k-chunks' }));
    const [stored] = await maildirMessages(root);
    expect(stored?.content.equals(Buffer.concat(parts))).toBe(true);
  });

  it('escapes "/", ":" and "," in the host name', async () => {
    const queue = maildirQueue({ root, single: true, hostname: 'a/b:c,d' });
    const { id } = await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    expect(id.endsWith('.a\\057b\\072c\\054d')).toBe(true);
  });

  it('makes recipient folder names safe and unambiguous', () => {
    expect(recipientFolderName('ann@example.com')).toBe('ann@example.com');
    expect(recipientFolderName('../etc/passwd')).toBe('%2E.%2Fetc%2Fpasswd');
    expect(recipientFolderName('.hidden')).toBe('%2Ehidden');
    expect(recipientFolderName('a%b c')).toBe('a%25b%20c');
    expect(recipientFolderName('jürgen')).toBe('j%C3%BCrgen');
    const long = recipientFolderName(`${'x'.repeat(300)}@example.com`);
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long).not.toBe(recipientFolderName(`${'x'.repeat(301)}@example.com`));
    expect(() => recipientFolderName('')).toThrow();
  });

  it('keeps a hostile recipient inside the root', async () => {
    const queue = maildirQueue({ root });
    await queue.enqueue(makeQueuedMessage({ content: raw, recipient: '../../escape', idempotencyKey: 'k1' }));
    const [only] = (await readdir(root)).filter((name) => !name.startsWith('.'));
    expect(only).toBe('%2E.%2F..%2Fescape');
    expect((await maildirMessages(join(root, only!))).length).toBe(1);
  });

  it('single: delivers into the root Maildir and keeps its markers out of Maildir++ folder names', async () => {
    const queue = maildirQueue({ root, single: true });
    await queue.enqueue(makeQueuedMessage({ content: raw, recipient: 'a', idempotencyKey: 'k1' }));
    await queue.enqueue(makeQueuedMessage({ content: raw, recipient: 'b', idempotencyKey: 'k2' }));
    expect((await readdir(root)).sort()).toEqual(['cur', 'multipop-keys', 'new', 'tmp']);
    expect(await maildirMessages(root)).toHaveLength(2);
  });

  it('folderFor: relative paths are under the root, absolute ones are used as they are', async () => {
    const elsewhere = join(root, 'elsewhere', 'Maildir');
    const queue = maildirQueue({
      root,
      folderFor: (recipient) => (recipient === 'abs' ? elsewhere : `users/${recipient}/Maildir`),
    });
    await queue.enqueue(makeQueuedMessage({ content: raw, recipient: 'ann', idempotencyKey: 'k1' }));
    await queue.enqueue(makeQueuedMessage({ content: raw, recipient: 'abs', idempotencyKey: 'k2' }));
    expect(await maildirMessages(join(root, 'users', 'ann', 'Maildir'))).toHaveLength(1);
    expect(await maildirMessages(elsewhere)).toHaveLength(1);
  });

  it('delivers into an existing Maildir without touching its messages', async () => {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(root, sub), { recursive: true });
    await writeFile(join(root, 'cur', '1.M1P1.host:2,S'), 'old mail');
    const queue = maildirQueue({ root, single: true });
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    expect((await maildirMessages(root)).map((m) => m.sub).sort()).toEqual(['cur', 'new']);
  });
});

describe('maildirQueue: failures', () => {
  it('rejects a broken stream with QUEUE_REJECTED (cause kept) and leaves no file and no marker', async () => {
    const queue = maildirQueue({ root, single: true });
    const cause = new Error('ECONNRESET');
    let sent = false;
    const content = new Readable({
      read() {
        if (sent) this.destroy(cause);
        else {
          sent = true;
          this.push(raw);
        }
      },
    });
    const error = await queue
      .enqueue(makeQueuedMessage({ content, idempotencyKey: 'k1' }))
      .catch((err: unknown) => err);
    expect(isMultiPopError(error, 'QUEUE_REJECTED')).toBe(true);
    expect((error as Error).cause).toBe(cause);
    expect(content.destroyed).toBe(true);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await readdir(join(root, 'new'))).toEqual([]);
    expect(await readdir(join(root, 'multipop-keys')).catch(() => [])).toEqual([]);
  });

  it('rejects when the Maildir cannot be created, and destroys the stream', async () => {
    await writeFile(join(root, 'blocker'), 'a file where a directory should be');
    const queue = maildirQueue({ root, folderFor: () => 'blocker/Maildir' });
    const message = makeQueuedMessage({ content: raw, idempotencyKey: 'k1' });
    await expect(queue.enqueue(message)).rejects.toMatchObject({ code: 'QUEUE_REJECTED' });
    expect(message.content.destroyed).toBe(true);
  });

  it('refuses a decoded (string) stream', async () => {
    const queue = maildirQueue({ root, single: true });
    const content = Readable.from(['Subject: x\r\n\r\ntext\r\n']);
    await expect(queue.enqueue(makeQueuedMessage({ content, idempotencyKey: 'k1' }))).rejects.toMatchObject({
      code: 'QUEUE_REJECTED',
    });
    expect(await readdir(join(root, 'new'))).toEqual([]);
  });
});

describe('maildirQueue: idempotency and crash windows', () => {
  const keys = () => join(root, 'multipop-keys');

  it('resolves a repeated key with the first id and stores one copy; also for concurrent calls', async () => {
    const queue = maildirQueue({ root, single: true });
    const first = await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    const second = await queue.enqueue(
      makeQueuedMessage({ content: Buffer.from('other'), idempotencyKey: 'k1' }),
    );
    expect(second.id).toBe(first.id);
    const both = await Promise.all([
      queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k2' })),
      queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k2' })),
    ]);
    expect(both[0].id).toBe(both[1].id);
    expect(await maildirMessages(root)).toHaveLength(2);
  });

  it('does not deliver again after the host moved the message to cur/ or removed it', async () => {
    const queue = maildirQueue({ root, single: true });
    const { id } = await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    const [file] = await readdir(join(root, 'new'));
    await unlink(join(root, 'new', file!)); // delivered onwards by the host
    expect(await queue.has('k1')).toBe(true);
    expect((await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }))).id).toBe(id);
    expect(await maildirMessages(root)).toHaveLength(0);
  });

  it('crash after the rename into new/, before the marker was completed: the retry finds the file', async () => {
    const queue = maildirQueue({ root, single: true });
    const { id } = await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    await rename(keyFile(keys(), 'k1'), keyFile(keys(), 'k1', '.pending')); // the lost last step
    const restarted = maildirQueue({ root, single: true });
    expect(await restarted.has('k1')).toBe(true);
    expect((await restarted.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }))).id).toBe(id);
    expect(await maildirMessages(root)).toHaveLength(1);
    await expect(stat(keyFile(keys(), 'k1'))).resolves.toBeDefined(); // completed by the lookup
  });

  it('same crash, and a reader has meanwhile moved the file to cur/ with flags', async () => {
    const queue = maildirQueue({ root, single: true });
    const { id } = await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    await rename(keyFile(keys(), 'k1'), keyFile(keys(), 'k1', '.pending'));
    const [file] = await readdir(join(root, 'new'));
    await rename(join(root, 'new', file!), join(root, 'cur', `${file}:2,S`));
    const restarted = maildirQueue({ root, single: true });
    expect((await restarted.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }))).id).toBe(id);
    expect((await maildirMessages(root)).map((m) => m.sub)).toEqual(['cur']);
  });

  it('crash before the rename (pending marker, file only in tmp/): the retry delivers', async () => {
    const queue = maildirQueue({ root, single: true });
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    const [file] = await readdir(join(root, 'new'));
    await rename(join(root, 'new', file!), join(root, 'tmp', file!));
    await rename(keyFile(keys(), 'k1'), keyFile(keys(), 'k1', '.pending'));
    const restarted = maildirQueue({ root, single: true });
    expect(await restarted.has('k1')).toBe(false);
    const { id } = await restarted.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    const delivered = await maildirMessages(root);
    expect(delivered.map((m) => m.id)).toEqual([id]);
    expect(delivered[0]?.content.equals(raw)).toBe(true);
  });

  it('a pending marker cut short by a crash (unreadable) means "not delivered"', async () => {
    const queue = maildirQueue({ root, single: true });
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k0' })); // creates the key directory
    await writeFile(keyFile(keys(), 'k1', '.pending'), '{"fold');
    expect(await queue.has('k1')).toBe(false);
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    expect(await maildirMessages(root)).toHaveLength(2);
    expect(await queue.has('k1')).toBe(true);
  });

  // A small message is gathered in memory (nothing on disk until it is complete); a large one is
  // streamed to tmp/ as it arrives (the queue's GATHER_LIMIT is 256 KiB).
  it.each([
    { kind: 'small', firstPart: 0, inTmp: 0 },
    { kind: 'large', firstPart: 300 * 1024, inTmp: 1 },
  ])(
    'a process killed in the middle of a $kind message leaves nothing a retry would duplicate',
    async ({ firstPart, inTmp }) => {
      const { spawn } = await import('node:child_process');
      const script = `
      import { Readable } from 'node:stream';
      import { maildirQueue } from './src/stores/index.ts';
      import { makeQueuedMessage } from './src/testing/contracts/index.ts';
      const content = new Readable({ read() {} });
      content.push(Buffer.concat([Buffer.from('Subject: half\\r\\n\\r\\n'), Buffer.alloc(Number(process.env.FIRST_PART), 97)]));
      maildirQueue({ root: process.env.ROOT, single: true }).enqueue(makeQueuedMessage({ content, idempotencyKey: 'k-killed' }));
      setTimeout(() => process.stdout.write('streaming\\n'), 200);
      setInterval(() => {}, 1000);
    `;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: join(import.meta.dirname, '..', '..'),
        env: { ...process.env, ROOT: root, FIRST_PART: String(firstPart) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('close', resolve));
      expect(await readdir(join(root, 'tmp'))).toHaveLength(inTmp); // a half message is invisible to readers
      expect(await readdir(join(root, 'new'))).toEqual([]);

      const queue = maildirQueue({ root, single: true });
      expect(await queue.has('k-killed')).toBe(false);
      await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k-killed' }));
      const delivered = await maildirMessages(root);
      expect(delivered).toHaveLength(1);
      expect(delivered[0]?.content.equals(raw)).toBe(true);
    },
  );

  it('prune() removes markers older than the retention and keeps recent ones', async () => {
    const queue = maildirQueue({ root, single: true });
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'old' }));
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'new' }));
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    await utimes(keyFile(keys(), 'old'), longAgo, longAgo);
    expect(await queue.prune()).toBe(1);
    expect(await queue.has('old')).toBe(false);
    expect(await queue.has('new')).toBe(true);
    expect(await queue.prune({ olderThanDays: 0 })).toBe(1);
    expect(await queue.has('new')).toBe(false);
  });

  it('removes files a crash left in tmp/ after 36 hours, on first delivery and with cleanTmp()', async () => {
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(root, sub), { recursive: true });
    const old = new Date(Date.now() - 37 * 3_600_000);
    const recent = new Date(Date.now() - 35 * 3_600_000);
    await writeFile(join(root, 'tmp', 'crashed-long-ago'), 'half a message');
    await utimes(join(root, 'tmp', 'crashed-long-ago'), old, old);
    await writeFile(join(root, 'tmp', 'crashed-recently'), 'half a message');
    await utimes(join(root, 'tmp', 'crashed-recently'), recent, recent);
    const queue = maildirQueue({ root, single: true });
    await queue.enqueue(makeQueuedMessage({ content: raw, idempotencyKey: 'k1' }));
    expect(await readdir(join(root, 'tmp'))).toEqual(['crashed-recently']);
    expect(await queue.cleanTmp()).toBe(0);
    await utimes(join(root, 'tmp', 'crashed-recently'), old, old);
    expect(await queue.cleanTmp()).toBe(1);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await maildirMessages(root)).toHaveLength(1);
  });
});
