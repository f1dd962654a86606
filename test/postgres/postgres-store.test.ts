import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxEntrySchema, serverSettingsSchema } from '../../src/config/index.js';
import { generateStoreKey, openPostgresStore, PG_SCHEMA_VERSION } from '../../src/postgres/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { failure } from '../support/multipop-failure.js';
import { freshSchema } from './postgres-helpers.js';

describeWithPostgres('PostgreSQL store', () => {
  let server: PostgresServer;
  // A pool, not one client: the connection-cut test ends every connection, this one's too.
  let admin: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 1 });
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  describe('secrets at rest', () => {
    it('stores passwords, client secrets and tokens sealed, never in plain text', async () => {
      const schema = freshSchema();
      const store = await openPostgresStore({ url: server.url, schema, key: randomBytes(32) });
      await store.directory.setSettings(
        serverSettingsSchema.parse({
          oauth: {
            gmail: {
              clientId: 'cid',
              clientSecret: 'client-secret-XYZ',
              redirectUris: { 'example.com': 'https://mail.example.com/cb' },
            },
          },
        }),
      );
      await store.directory.putUser({ id: 'ann', enabled: true, mayEditSettings: false });
      await store.directory.putEntry(
        'ann',
        mailboxEntrySchema.parse({
          id: 'e1',
          server: 'pop.example.com',
          username: 'ann',
          password: 'hunter2-PLAIN',
        }),
      );
      await store.tokens.setTokens('e1', { accessToken: 'access-PLAIN', refreshToken: 'refresh-PLAIN' });
      const dump = await admin.query(
        `SELECT (SELECT json FROM "${schema}".settings) AS s, (SELECT password FROM "${schema}".entries) AS p,
                (SELECT access_token || refresh_token FROM "${schema}".oauth_tokens) AS t`,
      );
      const text = JSON.stringify(dump.rows);
      for (const secret of ['client-secret-XYZ', 'hunter2-PLAIN', 'access-PLAIN', 'refresh-PLAIN'])
        expect(text).not.toContain(secret);
      expect(dump.rows[0].p).toMatch(/^mp1:/);
      expect((await store.directory.getEntry('e1'))?.entry.password).toBe('hunter2-PLAIN');
      await store.close();
    });

    it('refuses a wrong key at open, and accepts a passphrase with its salt kept in the schema', async () => {
      const schema = freshSchema();
      const store = await openPostgresStore({
        url: server.url,
        schema,
        key: 'passphrase:correct horse battery staple',
      });
      await store.tokens.setTokens('m', { accessToken: 'a' });
      await store.close();
      expect(
        (await failure(openPostgresStore({ url: server.url, schema, key: 'passphrase:wrong passphrase' })))
          .code,
      ).toBe('STORE_KEY_INVALID');
      expect((await failure(openPostgresStore({ url: server.url, schema, key: randomBytes(32) }))).code).toBe(
        'STORE_KEY_INVALID',
      );
      const again = await openPostgresStore({
        url: server.url,
        schema,
        key: 'passphrase:correct horse battery staple',
      });
      expect((await again.tokens.getTokens('m'))?.accessToken).toBe('a');
      await again.close();
    });

    it('takes the key in the one format of the SQLite store: key text, or passphrase: and a passphrase', async () => {
      const schema = freshSchema();
      const text = generateStoreKey();
      const store = await openPostgresStore({ url: server.url, schema, key: `${text}\n` });
      await store.tokens.setTokens('m', { accessToken: 'a' });
      await store.close();
      const asBytes = await openPostgresStore({ url: server.url, schema, key: Buffer.from(text, 'base64') });
      expect((await asBytes.tokens.getTokens('m'))?.accessToken).toBe('a');
      await asBytes.close();
      const bare = await failure(openPostgresStore({ url: server.url, schema, key: 'no prefix, not a key' }));
      expect(bare).toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'key' } });
      expect(bare.message).not.toContain('no prefix, not a key');
    });
  });

  describe('schema', () => {
    it('lives in the schema it is given, and many workers opening at once migrate it once', async () => {
      const schema = freshSchema();
      const key = randomBytes(32);
      const stores = await Promise.all(
        Array.from({ length: 6 }, () =>
          openPostgresStore({ url: server.url, schema, key, maxConnections: 2 }),
        ),
      );
      const version = await admin.query(`SELECT version FROM "${schema}".schema_version`);
      expect(version.rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
      const tables = await admin.query('SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1', [
        schema,
      ]);
      expect(tables.rows[0].n).toBe(11);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('refuses a schema name that is not a plain identifier', async () => {
      expect(
        (
          await failure(
            openPostgresStore({ url: server.url, schema: 'x"; DROP TABLE y; --', key: randomBytes(32) }),
          )
        ).code,
      ).toBe('CONFIG_INVALID');
    });

    it('read-only: refuses an empty schema, refuses one from a newer multipop, reads without a key', async () => {
      expect(
        (await failure(openPostgresStore({ url: server.url, schema: freshSchema(), readonly: true }))).code,
      ).toBe('STORE_ERROR');
      const schema = freshSchema();
      const store = await openPostgresStore({ url: server.url, schema, key: randomBytes(32) });
      await store.ledger.saveStatus({
        mailboxId: 'm',
        consecutiveFailures: 0,
        needsPermission: false,
        totalMessages: 3,
        totalBytes: 30,
        totalSessions: 1,
      });
      await store.close();
      const reader = await openPostgresStore({ url: server.url, schema, readonly: true });
      expect((await reader.ledger.listStatus()).map((s) => s.totalMessages)).toEqual([3]);
      expect((await failure(reader.tokens.setTokens('m', { accessToken: 'x' }))).code).toBe(
        'STORE_KEY_INVALID',
      );
      await reader.close();
      await admin.query(`UPDATE "${schema}".schema_version SET version = ${PG_SCHEMA_VERSION + 1}`);
      expect((await failure(openPostgresStore({ url: server.url, schema, key: randomBytes(32) }))).code).toBe(
        'STORE_ERROR',
      );
    });

    it('needs a key to write and a url or pool', async () => {
      expect((await failure(openPostgresStore({ url: server.url }))).code).toBe('CONFIG_INVALID');
      expect((await failure(openPostgresStore({ key: randomBytes(32) }))).code).toBe('CONFIG_INVALID');
    });

    it("uses a host's own pool and leaves it open on close", async () => {
      const pool = new pg.Pool({ connectionString: server.url, max: 2 });
      const store = await openPostgresStore({ pool, schema: freshSchema(), key: randomBytes(32) });
      await store.close();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pool.end();
    });
  });

  describe('group commit', () => {
    it('carries many concurrent apply() calls in few transactions, each durable when it resolves', async () => {
      const store = await openPostgresStore({ url: server.url, schema: freshSchema(), key: randomBytes(32) });
      const before = store.counters();
      const calls = Array.from({ length: 200 }, (_, i) =>
        store.ledger.apply(`m${i % 20}`, [
          { type: 'collected', uidl: `u${i}`, at: i },
          { type: 'deletePending', uidl: `u${i}` },
        ]),
      );
      await Promise.all(calls);
      const after = store.counters();
      expect(after.ledgerApplies - before.ledgerApplies).toBe(200);
      expect(after.ledgerCommits - before.ledgerCommits).toBeLessThan(20);
      let records = 0;
      for (let m = 0; m < 20; m++) records += (await store.ledger.load(`m${m}`)).size;
      expect(records).toBe(200);
      expect((await store.ledger.load('m3')).get('u3')).toEqual({
        uidl: 'u3',
        firstSeen: 3,
        collected: true,
        deletePending: true,
        oversizeReported: false,
      });
      await store.close();
    });

    it('keeps the order of one record across calls that share a transaction', async () => {
      const store = await openPostgresStore({ url: server.url, schema: freshSchema(), key: randomBytes(32) });
      await Promise.all([
        store.ledger.apply('m', [{ type: 'collected', uidl: 'a', at: 1 }]),
        store.ledger.apply('m', [{ type: 'forget', uidl: 'a' }]),
        store.ledger.apply('m', [{ type: 'collected', uidl: 'a', at: 3 }]),
        store.ledger.apply('m', [{ type: 'collected', uidl: 'b', at: 4 }]),
        store.ledger.apply('m', [{ type: 'forget', uidl: 'b' }]),
      ]);
      const records = await store.ledger.load('m');
      expect([...records.keys()]).toEqual(['a']);
      expect(records.get('a')?.firstSeen).toBe(3);
      await store.close();
    });

    it('fails the calls of a transaction whose connection is cut, and works again after', async () => {
      const store = await openPostgresStore({ url: server.url, schema: freshSchema(), key: randomBytes(32) });
      await store.ledger.apply('m', [{ type: 'collected', uidl: 'before', at: 1 }]);
      await server.terminateConnections();
      // The pool still holds the dead connection: the next write fails loudly, not silently.
      const outcome = await store.ledger.apply('m', [{ type: 'collected', uidl: 'cut', at: 2 }]).then(
        () => 'ok',
        (err: { code?: string }) => err.code,
      );
      expect(['ok', 'STORE_ERROR']).toContain(outcome);
      await store.ledger.apply('m', [{ type: 'collected', uidl: 'after', at: 3 }]);
      const keys = [...(await store.ledger.load('m')).keys()].sort();
      expect(keys).toEqual(outcome === 'ok' ? ['after', 'before', 'cut'] : ['after', 'before']);
      await store.close();
    });
  });
});
