/**
 * multipop/bullmq against a real Redis and a real PostgreSQL: the scheduler's jobs, workers that
 * collect them with fenced leases, back-off as delayed jobs, the fleet-wide host slots, and the
 * lease checks before hand-off, DELE and QUIT.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FleetHostSlots } from '../../src/bullmq/host-slots.js';
import { MultiPopScheduler, MultiPopWorker } from '../../src/bullmq/index.js';
import { MailboxOwnership } from '../../src/bullmq/ownership.js';
import type { CollectorEvents } from '../../src/collect/events.js';
import { parseConfig } from '../../src/config/index.js';
import { createLog, silentLogger } from '../../src/log/index.js';
import type { EnqueueResult, LocalQueue, MailboxLease, QueuedMessage } from '../../src/ports/index.js';
import { openPostgresStore, type PostgresStore } from '../../src/postgres/index.js';
import { startFakePop3Server } from '../../src/testing/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis.js';
import { freshSchema } from '../postgres/postgres-helpers.js';

/** Resolves once `condition()` holds, checking after each turn of the event loop's timers. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An in-memory queue keyed by idempotency key, counting every enqueue it accepted. */
function recordingQueue(): LocalQueue & { stored: Map<string, Buffer>; accepted: number } {
  const stored = new Map<string, Buffer>();
  const queue = {
    stored,
    accepted: 0,
    has: async (key: string) => stored.has(key),
    enqueue: async (message: QueuedMessage): Promise<EnqueueResult> => {
      const chunks: Buffer[] = [];
      for await (const chunk of message.content) chunks.push(chunk as Buffer);
      if (!stored.has(message.idempotencyKey)) {
        stored.set(message.idempotencyKey, Buffer.concat(chunks));
        queue.accepted++;
      }
      return { id: message.idempotencyKey };
    },
  };
  return queue;
}

// FLEET_DEBUG=1 prints the workers' and the scheduler's log lines.
const logger = process.env['FLEET_DEBUG']
  ? {
      debug: (o: object, m?: string) => console.log('debug', m, JSON.stringify(o)),
      info: (o: object, m?: string) => console.log('info', m, JSON.stringify(o)),
      warn: (o: object, m?: string) => console.log('warn', m, JSON.stringify(o)),
      error: (o: object, m?: string) => console.log('error', m, JSON.stringify(o)),
    }
  : silentLogger;

const message = (n: number) => Buffer.from(`Subject: message ${n}\r\n\r\nbody ${n}\r\n`);

describeWithPostgres('multipop/bullmq (real PostgreSQL)', () => {
  describeWithRedis('multipop/bullmq (real Redis)', () => {
    let pgServer: PostgresServer;
    let redisServer: RedisServer;
    let store: PostgresStore;
    let redis: Redis;
    let admin: pg.Pool;
    let schema: string;
    beforeAll(async () => {
      [pgServer, redisServer] = await Promise.all([startPostgres(), startRedis()]);
      schema = freshSchema();
      store = await openPostgresStore({ url: pgServer.url, schema, key: randomBytes(32), maxConnections: 8 });
      redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
      admin = new pg.Pool({ connectionString: pgServer.url, max: 1 });
      admin.on('error', () => undefined);
    });
    afterAll(async () => {
      await redis?.quit();
      await admin?.end();
      await store?.close();
      await Promise.all([pgServer?.stop(), redisServer?.stop()]);
    });

    const schedulerFor = (names: { queueName: string }) =>
      new MultiPopScheduler({
        ...names,
        redis: redisServer.url,
        directory: store.directory,
        ledger: store.ledger,
        logger,
      });
    const storeOf = () => ({ redis: redisServer.url, directory: store.directory, leases: store.leases });
    const takeLease = async (key: string, holder: string, ttlMs = 60_000): Promise<MailboxLease> => {
      const attempt = await store.leases.acquire(key, holder, ttlMs);
      if (!attempt.acquired) throw new Error(`lease ${key} held by ${attempt.holder}`);
      return attempt.lease;
    };
    const expire = (key: string) =>
      admin.query(
        `UPDATE "${schema}".mailbox_leases SET expires_at = now() - interval '1 second' WHERE lease_key = $1`,
        [key],
      );

    it('two workers collect every mailbox once; the scheduler hears every worker’s events', async () => {
      const users = Array.from({ length: 6 }, (_, u) => ({
        name: `user${u}`,
        password: `pw${u}`,
        messages: [message(u * 10 + 1), message(u * 10 + 2), message(u * 10 + 3)],
      }));
      const server = await startFakePop3Server({ users, capabilities: { pipelining: true } });
      const config = parseConfig({
        users: users.map((u) => ({
          id: u.name,
          entries: [
            {
              id: `${u.name}-box`,
              server: `${server.host}:${server.port}`,
              tls: 'none',
              username: u.name,
              password: u.password,
            },
          ],
        })),
      });
      for (const user of config.users) {
        await store.directory.putUser({ ...user });
        for (const entry of user.entries) await store.directory.putEntry(user.id, entry);
      }
      const queue = recordingQueue();
      const names = { queueName: 'two-workers' };
      const workers = [0, 1].map(
        (i) =>
          new MultiPopWorker({
            ...names,
            ...storeOf(),
            queue,
            workerId: `w${i}`,
            concurrency: 2,
            perHost: 4,
            logger,
          }),
      );
      const scheduler = schedulerFor(names);
      const heard: Array<CollectorEvents['session:end']> = [];
      scheduler.on('session:end', (e) => heard.push(e));
      try {
        await scheduler.start();
        await Promise.all(workers.map((w) => w.start()));
        expect(await scheduler.collectNow()).toEqual({ mailboxes: 6 });
        // A second trigger for the same mailboxes joins their jobs.
        await scheduler.collectNow();
        await until(
          () => users.every((u) => server.mailbox(u.name).messages.length === 0),
          'empty maildrops',
        );
        await until(async () => (await scheduler.jobCounts()).active === 0 && heard.length >= 6, 'jobs done');
        expect(queue.accepted).toBe(18);
        expect([...queue.stored.values()].every((b) => /\r\n\r\nbody \d+\r\n$/.test(b.toString()))).toBe(
          true,
        );
        expect(server.overlappingLogins()).toBe(0);
        expect(heard.filter((e) => e.collected === 3)).toHaveLength(6);
        const { totals } = await scheduler.statistics();
        expect(totals).toMatchObject({ mailboxes: 6, messages: 18 });
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
        await scheduler.stop();
        await server.close();
      }
    });

    it('a failing mailbox becomes a delayed job at its back-off time; force moves it forward', async () => {
      const server = await startFakePop3Server({
        users: [{ name: 'eve', password: 'right', messages: [message(1)] }],
      });
      await store.directory.putUser({ id: 'eve', enabled: true, mayEditSettings: false });
      await store.directory.putEntry(
        'eve',
        parseConfig({
          users: [
            {
              id: 'eve',
              entries: [
                {
                  id: 'eve-box',
                  server: `127.0.0.1:${server.port}`,
                  tls: 'none',
                  username: 'eve',
                  password: 'wrong',
                },
              ],
            },
          ],
        }).users[0]!.entries[0]!,
      );
      const names = { queueName: 'backoff' };
      const worker = new MultiPopWorker({
        ...names,
        ...storeOf(),
        queue: recordingQueue(),
        backoff: { baseMs: 600_000, maxMs: 600_000 },
        logger,
      });
      const scheduler = schedulerFor(names);
      const errors: string[] = [];
      scheduler.on('mailbox:error', (e) => errors.push(e.error.code));
      try {
        await scheduler.start();
        await worker.start();
        await scheduler.collectNow({ mailboxId: 'eve-box' });
        await until(async () => (await scheduler.jobCounts()).delayed === 1, 'a delayed job');
        const status = await store.ledger.loadStatus('eve-box');
        expect(status?.consecutiveFailures).toBe(1);
        expect(status?.nextAttemptAt).toBeGreaterThan(Date.now() + 250_000);
        await until(() => errors.length === 1, 'the error event');
        expect(errors).toEqual(['AUTH_FAILED']);
        // A trigger joins the delayed job; force runs it now (and it fails again, counted).
        await scheduler.collectNow({ mailboxId: 'eve-box' });
        expect((await scheduler.jobCounts()).delayed).toBe(1);
        await scheduler.collectNow({ mailboxId: 'eve-box', force: true });
        await until(
          async () => (await store.ledger.loadStatus('eve-box'))?.consecutiveFailures === 2,
          'second try',
        );
      } finally {
        await worker.stop();
        await scheduler.stop();
        await server.close();
      }
    });

    it('host slots hold across processes: the limit is shared and a dead holder’s slot expires', async () => {
      const prefix = `slots-${randomBytes(3).toString('hex')}:`;
      const a = new FleetHostSlots(redis, prefix, 2, 60_000);
      const other = new Redis(redisServer.url, { maxRetriesPerRequest: null });
      const b = new FleetHostSlots(other, prefix, 2, 60_000);
      try {
        expect(await a.take('POP.example.com', 'a1')).toBe(true);
        expect(await b.take('pop.example.com', 'b1')).toBe(true);
        expect(await b.take('pop.example.com', 'b2')).toBe(false);
        expect(await a.held('pop.example.com')).toBe(2);
        // A holder that died: its slot runs out (here: its expiry set into the past).
        await redis.zadd(`${prefix}pop.example.com`, 1, 'b1');
        expect(await a.renew('pop.example.com', 'b1')).toBe(false);
        expect(await b.take('pop.example.com', 'b2')).toBe(true);
        await a.give('pop.example.com', 'a1');
        expect(await a.held('pop.example.com')).toBe(1);
      } finally {
        await other.quit();
      }
    });

    it('a worker that lost its lease neither hands off, nor sends DELE or QUIT', async () => {
      const key = `fence-${randomBytes(3).toString('hex')}`;
      const stale = await takeLease(key, 'stale-worker');
      const owner = new MailboxOwnership(stale, {
        renewEveryMs: 3_600_000,
        log: createLog(silentLogger, {}),
      });
      const calls: string[] = [];
      const fakeClient = {
        dele: async (msg: number) => void calls.push(`DELE ${msg}`),
        quit: async () => void calls.push('QUIT'),
        noop: async () => void calls.push('NOOP'),
        capabilities: { loginDelay: undefined },
      };
      const connect = owner.guardConnect(async () => fakeClient as never);
      const client = await connect({ host: '127.0.0.1', port: 1, tls: 'none' });
      const queue = recordingQueue();
      const guarded = owner.guardQueue(queue);
      const content = () =>
        ({
          content: (async function* () {
            yield message(1);
          })(),
        }) as unknown as QueuedMessage;
      // While the lease holds, everything passes (each preceded by a check in the database).
      await client.dele(1);
      await guarded.enqueue({ ...content(), idempotencyKey: 'k1' } as QueuedMessage);
      expect(calls).toEqual(['DELE 1']);
      expect(queue.accepted).toBe(1);
      // The worker "sleeps" past its lease; another takes the mailbox over.
      await expire(key);
      const successor = await takeLease(key, 'new-worker');
      await expect(client.dele(2)).rejects.toMatchObject({ code: 'LEASE_LOST' });
      await expect(client.quit()).rejects.toMatchObject({ code: 'LEASE_LOST' });
      await expect(
        guarded.enqueue({ ...content(), idempotencyKey: 'k2' } as QueuedMessage),
      ).rejects.toMatchObject({
        code: 'LEASE_LOST',
      });
      await client.noop();
      expect(calls).toEqual(['DELE 1', 'NOOP']);
      expect(queue.accepted).toBe(1);
      expect(owner.signal.aborted).toBe(true);
      // Its ledger writes are refused too; the successor's go through.
      await expect(stale.ledger.apply('fenced-box', [{ type: 'forget', uidl: 'x' }])).rejects.toMatchObject({
        code: 'LEASE_LOST',
      });
      await successor.ledger.apply('fenced-box', [{ type: 'forget', uidl: 'x' }]);
      await owner.end();
      await successor.release();
    });
  });
});
