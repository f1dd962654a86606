import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseMailboxEntry, parseServerSettings } from '../../src/config/index.js';
import { emptyMailboxStatus } from '../../src/ports/index.js';
import { loadSqliteDriver } from '../../src/sqlite/driver.js';
import { openSqliteStore, SCHEMA_VERSION, type SqliteStore } from '../../src/sqlite/index.js';
import { tempStore } from './sqlite-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function fresh(key?: Uint8Array | string) {
  const made = await tempStore(key);
  cleanups.push(async () => {
    await made.store.close();
    await rm(made.dir, { recursive: true, force: true });
  });
  return made;
}

/** Opens a store that the test's cleanup closes. */
async function open(options: Parameters<typeof openSqliteStore>[0]): Promise<SqliteStore> {
  const store = await openSqliteStore(options);
  cleanups.push(() => store.close());
  return store;
}

const PASSWORD = 'Pw-7f3a9c1e-plain';
const ACCESS = 'ya29.Access-5b2d8e';
const REFRESH = '1//Refresh-9c4f1a';
const CLIENT_SECRET = 'GOCSPX-ClientSecret-3e7b';
const VERIFIER = 'Verifier-d41d8cd98f00b204e9800998ecf8427e';
const STATE = 'State-0cc175b9c0f1b6a8';

async function fill(store: SqliteStore): Promise<void> {
  await store.directory.setSettings(
    parseServerSettings({
      oauth: {
        gmail: {
          clientId: 'client-id-visible',
          clientSecret: CLIENT_SECRET,
          redirectUris: { 'example.com': 'https://mail.example.com/cb' },
        },
      },
    }),
  );
  await store.directory.putUser({ id: 'ann@example.com', enabled: true, mayEditSettings: true });
  await store.directory.putEntry(
    'ann@example.com',
    parseMailboxEntry({
      id: 'e1',
      server: 'pop.visible-host.example:995',
      username: 'visible-user',
      password: PASSWORD,
    }),
  );
  await store.tokens.setTokens('e2', { accessToken: ACCESS, refreshToken: REFRESH, expiresAt: 1 });
  await store.tokens.putPendingGrant({
    state: STATE,
    codeVerifier: VERIFIER,
    userId: 'ann@example.com',
    mailboxId: 'e2',
    provider: 'gmail',
    redirectUri: 'https://mail.example.com/cb',
    expiresAt: Date.now() + 600_000,
    startedBy: { role: 'user', userId: 'ann@example.com' },
  });
}

async function rawBytes(path: string): Promise<Buffer> {
  const parts = await Promise.all(
    [path, `${path}-wal`, `${path}-shm`].map((file) => (existsSync(file) ? readFile(file) : Buffer.alloc(0))),
  );
  return Buffer.concat(parts);
}

describe('SQLite store: secrets at rest', () => {
  it('never writes a password, token, client secret, verifier or state in plain text (file and WAL)', async () => {
    const { store, path } = await fresh();
    await fill(store);
    const secrets = [PASSWORD, ACCESS, REFRESH, CLIENT_SECRET, VERIFIER, STATE];
    const live = await rawBytes(path);
    expect(existsSync(`${path}-wal`)).toBe(true);
    // Positive control: plain data is findable this way, so the absence of secrets means something.
    for (const visible of ['visible-user', 'pop.visible-host.example', 'client-id-visible']) {
      expect(live.includes(Buffer.from(visible)), visible).toBe(true);
    }
    for (const secret of secrets) expect(live.includes(Buffer.from(secret)), secret).toBe(false);
    await store.close();
    const checkpointed = await rawBytes(path);
    expect(checkpointed.includes(Buffer.from('visible-user'))).toBe(true);
    for (const secret of secrets) expect(checkpointed.includes(Buffer.from(secret)), secret).toBe(false);
  });

  it('reads the secrets back after a reopen with the same key', async () => {
    const { store, path, key } = await fresh();
    await fill(store);
    await store.close();
    const again = await open({ path, key });
    expect((await again.directory.getEntry('e1'))?.entry.password).toBe(PASSWORD);
    expect((await again.directory.getSettings()).oauth.gmail?.clientSecret).toBe(CLIENT_SECRET);
    expect(await again.tokens.getTokens('e2')).toEqual({
      accessToken: ACCESS,
      refreshToken: REFRESH,
      expiresAt: 1,
    });
    expect((await again.tokens.takePendingGrant(STATE))?.codeVerifier).toBe(VERIFIER);
  });

  it('refuses a wrong key at open with STORE_KEY_INVALID', async () => {
    const { store, path } = await fresh();
    await fill(store);
    await store.close();
    await expect(openSqliteStore({ path, key: randomBytes(32) })).rejects.toMatchObject({
      code: 'STORE_KEY_INVALID',
    });
    await expect(openSqliteStore({ path, key: 'passphrase:a passphrase' })).rejects.toMatchObject({
      code: 'STORE_KEY_INVALID',
    });
  });

  it('works with a passphrase: salt kept in the file, wrong passphrase refused', async () => {
    const { store, path } = await fresh('passphrase:correct horse battery staple');
    await fill(store);
    await store.close();
    const again = await open({ path, key: 'passphrase:correct horse battery staple' });
    expect((await again.directory.getEntry('e1'))?.entry.password).toBe(PASSWORD);
    await expect(
      openSqliteStore({ path, key: 'passphrase:correct horse battery stapler' }),
    ).rejects.toMatchObject({
      code: 'STORE_KEY_INVALID',
    });
    await expect(openSqliteStore({ path, key: randomBytes(32) })).rejects.toMatchObject({
      code: 'STORE_KEY_INVALID',
    });
  });

  it('detects a changed ciphertext, and one moved to another row, as STORE_KEY_INVALID', async () => {
    const { store, path, key } = await fresh();
    await fill(store);
    await store.directory.putEntry(
      'ann@example.com',
      parseMailboxEntry({ id: 'e3', server: 'pop.x.example', username: 'u', password: 'other' }),
    );
    await store.close();
    const raw = new Database(path);
    const sealed = (raw.prepare("SELECT password FROM entries WHERE id = 'e1'").get() as { password: string })
      .password;
    raw.prepare("UPDATE entries SET password = ? WHERE id = 'e3'").run(sealed); // moved
    const last = sealed.at(-1) === 'A' ? 'B' : 'A';
    raw.prepare("UPDATE entries SET password = ? WHERE id = 'e1'").run(sealed.slice(0, -1) + last); // changed
    raw.close();
    const again = await open({ path, key });
    await expect(again.directory.getEntry('e1')).rejects.toMatchObject({ code: 'STORE_KEY_INVALID' });
    await expect(again.directory.getEntry('e3')).rejects.toMatchObject({ code: 'STORE_KEY_INVALID' });
  });

  it('creates the file readable by its owner only', async () => {
    const { path } = await fresh();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});

describe('SQLite store: file and schema', () => {
  it('uses WAL, records the schema version, and keeps everything across a reopen', async () => {
    const { store, path, key } = await fresh();
    await fill(store);
    await store.ledger.apply('e1', [{ type: 'collected', uidl: 'u1', at: 5 }]);
    await store.ledger.saveStatus({ ...emptyMailboxStatus('e1'), totalMessages: 1 });
    await store.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    const again = await open({ path, key });
    expect((await again.ledger.load('e1')).get('u1')?.collected).toBe(true);
    expect((await again.ledger.loadStatus('e1'))?.totalMessages).toBe(1);
    expect((await again.directory.listUsers()).map((u) => u.id)).toEqual(['ann@example.com']);
  });

  it('upgrades a version-1 file: old ledger rows stay valid, without size or fingerprint', async () => {
    const { store, path, key } = await fresh();
    await store.close();
    // Turn the file back into what version 1 wrote: no size or fingerprint columns (2), no
    // grant starter or refresh leases (3).
    const raw = new Database(path);
    raw.exec('ALTER TABLE ledger DROP COLUMN size; ALTER TABLE ledger DROP COLUMN fingerprint;');
    raw.exec(
      'DROP INDEX pending_grants_by_expiry; ALTER TABLE pending_grants DROP COLUMN started_by; DROP TABLE oauth_refresh_leases;',
    );
    raw
      .prepare('INSERT INTO ledger (mailbox_id, uidl, first_seen, collected) VALUES (?, ?, ?, 1)')
      .run('e1', 'old-uidl', 7);
    raw.pragma('user_version = 1');
    raw.close();
    const upgraded = await open({ path, key });
    expect((await upgraded.ledger.load('e1')).get('old-uidl')).toEqual({
      uidl: 'old-uidl',
      firstSeen: 7,
      collected: true,
      deletePending: false,
      oversizeReported: false,
    });
    await upgraded.ledger.apply('e1', [
      { type: 'collected', uidl: 'new', at: 8, size: 10, fingerprint: 'f' },
    ]);
    expect((await upgraded.ledger.load('e1')).get('new')).toMatchObject({ size: 10, fingerprint: 'f' });
  });

  it('refuses a file from a newer multipop', async () => {
    const { store, path, key } = await fresh();
    await store.close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    await expect(openSqliteStore({ path, key })).rejects.toMatchObject({ code: 'STORE_ERROR' });
    await expect(openSqliteStore({ path, readonly: true })).rejects.toMatchObject({ code: 'STORE_ERROR' });
  });

  it('needs a key to open read-write, and refuses a key of the wrong size', async () => {
    const { dir } = await fresh();
    await expect(openSqliteStore({ path: join(dir, 'x.sqlite') })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    await expect(
      openSqliteStore({ path: join(dir, 'y.sqlite'), key: randomBytes(31) }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('read-only: refuses a missing file, reads plain data without a key, refuses secrets and writes', async () => {
    const { store, dir, path } = await fresh();
    await expect(
      openSqliteStore({ path: join(dir, 'missing.sqlite'), readonly: true }),
    ).rejects.toMatchObject({ code: 'STORE_ERROR' });
    await fill(store);
    await store.ledger.saveStatus({ ...emptyMailboxStatus('e1'), totalSessions: 2 });
    const reader = await open({ path, readonly: true });
    expect(reader.readonly).toBe(true);
    expect((await reader.ledger.listStatus()).map((s) => s.totalSessions)).toEqual([2]);
    await expect(reader.directory.getEntry('e1')).rejects.toMatchObject({ code: 'STORE_KEY_INVALID' });
    await expect(reader.ledger.apply('e1', [{ type: 'forget', uidl: 'u1' }])).rejects.toMatchObject({
      code: 'STORE_ERROR',
    });
  });

  it('fails calls after close with STORE_ERROR, and closes twice without harm', async () => {
    const { store } = await fresh();
    await store.close();
    await store.close();
    await expect(store.ledger.load('e1')).rejects.toMatchObject({ code: 'STORE_ERROR' });
  });

  it('keeps users and entries in the order first added, also when replaced', async () => {
    const { store } = await fresh();
    for (const id of ['zed', 'ann'])
      await store.directory.putUser({ id, enabled: true, mayEditSettings: false });
    const entry = (id: string, enabled = true) =>
      parseMailboxEntry({ id, server: 'pop.x.example', username: id, password: 'pw', enabled });
    for (const id of ['e3', 'e1', 'e2']) await store.directory.putEntry('ann', entry(id));
    await store.directory.putEntry('ann', entry('e3', false));
    await store.directory.putUser({ id: 'zed', enabled: false, mayEditSettings: false });
    expect((await store.directory.listUsers()).map((u) => u.id)).toEqual(['zed', 'ann']);
    expect((await store.directory.getUser('ann'))?.entries.map((e) => [e.id, e.enabled])).toEqual([
      ['e3', false],
      ['e1', true],
      ['e2', true],
    ]);
  });
});

describe('SQLite store: ledger transactions', () => {
  it('applies all changes of a batch or none (a failure in the middle rolls back)', async () => {
    const { store, path } = await fresh();
    await store.ledger.apply('m1', [{ type: 'collected', uidl: 'before', at: 1 }]);
    // Another connection installs a trigger that fails the second row of the next batch.
    const raw = new Database(path);
    raw.exec(
      `CREATE TRIGGER boom BEFORE INSERT ON ledger WHEN NEW.uidl = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
    );
    raw.close();
    await expect(
      store.ledger.apply('m1', [
        { type: 'forget', uidl: 'before' },
        { type: 'collected', uidl: 'first', at: 2 },
        { type: 'collected', uidl: 'boom', at: 3 },
      ]),
    ).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect([...(await store.ledger.load('m1')).keys()]).toEqual(['before']);
  });

  it('rejects a malformed change before writing anything', async () => {
    const { store } = await fresh();
    const batch = [
      { type: 'collected', uidl: 'ok', at: 1 },
      { type: 'collected', uidl: 'no-time' },
    ] as never;
    await expect(store.ledger.apply('m1', batch)).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect((await store.ledger.load('m1')).size).toBe(0);
  });
});

describe('SQLite store: a second process', () => {
  it('reads statuses read-only, without a key, while this process writes', { timeout: 60_000 }, async () => {
    const { store, path } = await fresh();
    await store.ledger.saveStatus(emptyMailboxStatus('m1'));
    const FINAL = 60;
    const HALF = 30;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'status-reader.child.ts'), path, String(FINAL)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    await vi.waitFor(() => expect(out).toContain('ready'), { timeout: 30_000, interval: 50 });

    const write = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        await store.ledger.apply('m1', [{ type: 'collected', uidl: `u${i}`, at: i }]);
        await store.ledger.saveStatus({ ...emptyMailboxStatus('m1'), totalSessions: i });
      }
    };
    await write(1, HALF);
    // Halfway, another writer holds an open write transaction with an uncommitted change: the
    // reader must go on reading (WAL readers never wait for writers) and must not see it.
    const writer = new Database(path);
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare("UPDATE mailbox_status SET total_sessions = 9999 WHERE mailbox_id = 'm1'").run();
    await vi.waitFor(() => expect(out).toContain(`seen ${HALF}\n`), { timeout: 30_000, interval: 20 });
    writer.exec('ROLLBACK');
    writer.close();
    await write(HALF + 1, FINAL);
    expect(await closed).toBe(0);
    const report = JSON.parse(out.split('\n').find((line) => line.startsWith('{'))!) as {
      seen: number[];
      errors: string[];
    };
    expect(report.errors).toEqual([]);
    expect(report.seen.at(-1)).toBe(FINAL);
    expect(report.seen).toEqual([...report.seen].sort((a, b) => a - b)); // never went back
    expect(report.seen).toContain(HALF);
    expect(report.seen).not.toContain(9999);
  });
});

describe('SQLite store: without better-sqlite3', () => {
  it('fails with a clear STORE_ERROR naming the missing peer dependency', async () => {
    const missing = () => {
      throw new Error("Cannot find module 'better-sqlite3'");
    };
    const error = await loadSqliteDriver(missing).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'STORE_ERROR' });
    expect((error as Error).message).toContain('npm install better-sqlite3');
  });

  it('loads it with require (the CommonJS build runs under Jest, where import() fails)', async () => {
    const seen: string[] = [];
    const Database = await loadSqliteDriver((id) => {
      seen.push(id);
      return function FakeDatabase() {};
    });
    expect(seen).toEqual(['better-sqlite3']);
    expect(typeof Database).toBe('function');
  });
});
