import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { MailboxLease } from '../../src/ports/index.js';
import { openPostgresStore, type PostgresStore } from '../../src/postgres/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { failure } from '../support/multipop-failure.js';
import { freshSchema } from './postgres-helpers.js';

describeWithPostgres('PostgreSQL mailbox leases: one owner per mailbox, enforced by the ledger', () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let store: PostgresStore;
  let schema: string;
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 1 });
    admin.on('error', () => undefined); // the server's shutdown ends its idle connection
  });
  afterAll(async () => {
    await store?.close();
    await admin?.end();
    await server?.stop();
  });
  beforeEach(async () => {
    await store?.close();
    schema = freshSchema();
    store = await openPostgresStore({ url: server.url, schema, key: randomBytes(32), maxConnections: 6 });
  });

  /** Lets a lease run out without waiting: its expiry moves into the past (the database's clock). */
  const expire = (key: string) =>
    admin.query(
      `UPDATE "${schema}".mailbox_leases SET expires_at = now() - interval '1 second' WHERE lease_key = $1`,
      [key],
    );

  const take = async (key: string, holder: string): Promise<MailboxLease> => {
    const attempt = await store.leases.acquire(key, holder, 60_000);
    if (!attempt.acquired) throw new Error(`lease on ${key} is held by ${attempt.holder}`);
    return attempt.lease;
  };

  it('hands a live lease to one holder; the others learn who holds it and for how long', async () => {
    const a = await take('pop.example.com:995:ann', 'worker-a');
    expect(a.token).toBe('1');
    const b = await store.leases.acquire('pop.example.com:995:ann', 'worker-b', 60_000);
    expect(b).toMatchObject({ acquired: false, holder: 'worker-a' });
    expect(b.acquired === false && b.retryInMs).toBeGreaterThan(50_000);
    expect((await store.leases.acquire('pop.example.com:995:bob', 'worker-b', 60_000)).acquired).toBe(true);
  });

  it('gives every acquisition a larger token, also after a release', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) {
      const lease = await take('k', `w${i % 2}`);
      tokens.push(lease.token);
      await lease.release();
    }
    expect(tokens).toEqual(['1', '2', '3', '4']);
  });

  it('refuses every write of a holder whose lease was taken over, with LEASE_LOST', async () => {
    const a = await take('k', 'worker-a');
    await a.ledger.apply('m1', [{ type: 'collected', uidl: 'u1', at: 1 }]);
    await a.renew();
    await expire('k');
    const b = await take('k', 'worker-b');
    expect(b.token).toBe('2');

    expect((await failure(a.ledger.apply('m1', [{ type: 'collected', uidl: 'stale', at: 2 }]))).code).toBe(
      'LEASE_LOST',
    );
    expect((await failure(a.ledger.apply('m1', [{ type: 'deletePending', uidl: 'u1' }]))).code).toBe(
      'LEASE_LOST',
    );
    expect((await failure(a.renew())).code).toBe('LEASE_LOST');
    const status = {
      mailboxId: 'm1',
      consecutiveFailures: 0,
      needsPermission: false,
      totalMessages: 9,
      totalBytes: 9,
      totalSessions: 9,
    };
    expect((await failure(a.ledger.saveStatus(status))).code).toBe('LEASE_LOST');
    expect((await failure(a.ledger.clear('m1'))).code).toBe('LEASE_LOST');
    await a.release(); // gives back nothing: the lease is b's

    await b.ledger.apply('m1', [{ type: 'deletePending', uidl: 'u1' }]);
    await b.ledger.saveStatus({ ...status, totalSessions: 1 });
    expect((await store.leases.acquire('k', 'worker-c', 60_000)).acquired).toBe(false);
    expect([...(await store.ledger.load('m1')).values()]).toEqual([
      { uidl: 'u1', firstSeen: 1, collected: true, deletePending: true, oversizeReported: false },
    ]);
    expect((await store.ledger.loadStatus('m1'))?.totalSessions).toBe(1);
  });

  it("refuses a stale holder's call alone when it shares a group commit with others", async () => {
    const stale = await take('k1', 'worker-a');
    await expire('k1');
    await take('k1', 'worker-b');
    const live = await take('k2', 'worker-a');
    const outcomes = await Promise.allSettled([
      live.ledger.apply('m2', [{ type: 'collected', uidl: 'x', at: 1 }]),
      stale.ledger.apply('m1', [{ type: 'collected', uidl: 'y', at: 1 }]),
      store.ledger.apply('m3', [{ type: 'collected', uidl: 'z', at: 1 }]),
      live.ledger.apply('m2', [{ type: 'deletePending', uidl: 'x' }]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((await store.ledger.load('m1')).size).toBe(0);
    expect((await store.ledger.load('m2')).get('x')?.deletePending).toBe(true);
  });

  it('a takeover racing with writes: no write that succeeds commits after the new owner took over', async () => {
    for (let round = 0; round < 5; round++) {
      const key = `race-${round}`;
      const mailbox = `m-${round}`;
      const a = await take(key, 'worker-a');
      await expire(key);
      const writes = Array.from({ length: 100 }, (_, i) =>
        a.ledger.apply(mailbox, [{ type: 'collected', uidl: `a${i}`, at: i }]).then(
          () => `a${i}`,
          (err: { code?: string }) => {
            expect(err.code).toBe('LEASE_LOST');
            return undefined;
          },
        ),
      );
      const b = await take(key, 'worker-b');
      const seenByNewOwner = new Set((await b.ledger.load(mailbox)).keys());
      const succeeded = (await Promise.all(writes)).filter((uidl) => uidl !== undefined);
      const finalKeys = new Set((await store.ledger.load(mailbox)).keys());
      // Every write that reported success is durable, and was there before the new owner looked.
      for (const uidl of succeeded) {
        expect(finalKeys.has(uidl)).toBe(true);
        expect(seenByNewOwner.has(uidl)).toBe(true);
      }
      expect(finalKeys.size).toBe(succeeded.length);
    }
  });
});
