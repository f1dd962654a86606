/**
 * The fleet under faults: 4 `multipop worker` processes and a `multipop scheduler` on a real Redis
 * and a real PostgreSQL collect N mailboxes × 3 messages from the fake POP3 server, while the test
 * SIGKILLs a random worker every few seconds (and starts it again), SIGSTOPs one worker past its
 * job lock and lease (and resumes it once its mailboxes were taken over), restarts Redis (empty)
 * once and cuts every PostgreSQL connection once. At the end every message is in the Maildir
 * exactly once and byte for byte, none is left on the server, and the server never saw a second
 * login on a maildrop while a session held it.
 *
 * FLEET_MAILBOXES sets N (default 10,000, as the issue asks: about 3 minutes on a quiet 2-core machine); FLEET_DEBUG=1 prints the processes' stderr at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakePop3Server, startFakePop3Server } from '../../src/testing/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis.js';
import { bundleExample } from '../support/bundle-example.js';
import { type FleetProcess, startFleetProcess } from '../support/fleet-process.js';

const MAILBOXES = Number(process.env['FLEET_MAILBOXES'] ?? 10_000);
const WORKERS = 4;
const PER_MAILBOX = 3;
/**
 * Every few seconds a random worker is SIGKILLed and started again. Each of the three that are
 * killed in turn then lives about 3 × KILL_EVERY_MS, longer than a lease, so the fleet still gets
 * work done between kills (the mailboxes of a killed worker wait out its lease).
 */
const KILL_EVERY_MS = 4_000;
/** The fake server's autologout, shorter than the lease (docs/scale-out.md, "Sizing the times"). */
const AUTOLOGOUT_MS = 4_000;
const LEASE_SECONDS = 8;
const LOCK_SECONDS = 3;

const original = (user: number, n: number) =>
  Buffer.from(
    `Message-ID: <m${n}.u${user}@fleet.test>\r\nSubject: fleet message ${n} of user ${user}\r\n\r\n` +
      `${randomBytes(48 + ((user * 7 + n * 13) % 400)).toString('base64')}\r\n.leading dot\r\n`,
  );

/** Resolves once `condition()` holds (checked every 100 ms), or rejects after `timeoutMs`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The file names and trace headers of every copy of a message (to diagnose a duplicate). */
async function copiesOf(root: string, id: string): Promise<string[]> {
  const found: string[] = [];
  for (const recipient of await readdir(root)) {
    if (!recipient.startsWith('user')) continue;
    for (const file of await readdir(join(root, recipient, 'new'))) {
      const bytes = await readFile(join(root, recipient, 'new', file));
      const at = bytes.indexOf('Message-ID: <');
      if (bytes.subarray(at).toString().startsWith(`Message-ID: ${id}`))
        found.push(`${file}\n${bytes.subarray(0, at).toString()}`);
    }
  }
  return found;
}

describeWithPostgres('fleet under faults (real PostgreSQL)', () => {
  describeWithRedis('fleet under faults (real Redis)', () => {
    let pgServer: PostgresServer;
    let redis: RedisServer;
    let pop3: FakePop3Server;
    let dir: string;
    let bundle: string;
    let admin: pg.Pool;
    const users = Array.from({ length: MAILBOXES }, (_, u) => ({
      name: `user${u}`,
      password: `pw-${u}-${randomBytes(4).toString('hex')}`,
      messages: Array.from({ length: PER_MAILBOX }, (_, n) => original(u, n)),
    }));

    beforeAll(async () => {
      [pgServer, redis, pop3, bundle] = await Promise.all([
        startPostgres({ maxConnections: 200 }),
        startRedis(),
        startFakePop3Server({ users, capabilities: { pipelining: true }, autologoutMs: AUTOLOGOUT_MS }),
        bundleExample('src/cli/main.ts', { packagesExternal: true }),
      ]);
      admin = new pg.Pool({ connectionString: pgServer.url, max: 1 });
      admin.on('error', () => undefined);
      dir = await mkdtemp(join(tmpdir(), 'multipop-fleet-'));
    }, 120_000);
    afterAll(async () => {
      await admin?.end();
      await pop3?.close();
      await Promise.all([pgServer?.stop(), redis?.stop()]);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(`delivers ${MAILBOXES} × ${PER_MAILBOX} messages exactly once through SIGKILL, SIGSTOP, a Redis restart and cut PostgreSQL connections`, async () => {
      const started = Date.now();
      const keyFile = join(dir, 'store.key');
      await writeFile(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
      const root = join(dir, 'mail');
      const config = join(dir, 'multipop.json');
      await writeFile(
        config,
        JSON.stringify({
          store: { type: 'postgres', url: pgServer.url, schema: 'fleet', keyFile, maxConnections: 6 },
          queue: { type: 'maildir', root },
          jobs: {
            type: 'bullmq',
            redis: redis.url,
            concurrency: 8,
            perHost: 64,
            leaseSeconds: LEASE_SECONDS,
            lockSeconds: LOCK_SECONDS,
            backoff: { baseSeconds: 1, maxSeconds: 4 },
          },
          timeoutSeconds: 30,
          settings: { schedule: { mode: 'interval', minutes: 1440 } },
          users: users.map((u) => ({
            id: u.name,
            entries: [
              {
                id: `${u.name}-box`,
                server: `127.0.0.1:${pop3.port}`,
                tls: 'none',
                username: u.name,
                password: u.password,
              },
            ],
          })),
        }),
      );

      const scheduler = startFleetProcess(bundle, ['scheduler', '--config', config, '--now']);
      await scheduler.line(/enqueued (\d+) mailboxes/);
      const workers: Array<{ process: FleetProcess; id: string }> = [];
      // Started again if it dies while starting (a cut database connection), as a supervisor would.
      let crashedAtStart = 0;
      const startWorker = async (slot: number): Promise<void> => {
        const process = startFleetProcess(bundle, ['worker', '--config', config]);
        try {
          const [, id] = (await process.line(/worker (\S+) taking jobs/))!;
          workers[slot] = { process, id: id! };
        } catch (err) {
          if (++crashedAtStart > 5) throw err;
          await startWorker(slot);
        }
      };
      await Promise.all(Array.from({ length: WORKERS }, (_, i) => startWorker(i)));

      const remaining = () => users.reduce((n, u) => n + pop3.mailbox(u.name).messages.length, 0);
      const total = MAILBOXES * PER_MAILBOX;
      const faults = { killed: 0, stopped: 0, takenOver: 0, redisRestarts: 0, pgConnectionsCut: 0 };

      // The faults run while the collection does; each starts once the collection is under way.
      const liveLeases = async (holder: string) =>
        (
          await admin.query<{ lease_key: string; token: string }>(
            `SELECT lease_key, token::text FROM fleet.mailbox_leases WHERE holder = $1 AND expires_at > now()`,
            [holder],
          )
        ).rows;
      const stopOnePastItsLease = async () => {
        const victim = workers[1]!;
        let held: { lease_key: string; token: string }[] = [];
        // The leases are read after the stop: read before, a session could end (and its lease be
        // released) in between, and nobody would take that mailbox over (it has no mail left).
        await until(
          async () => {
            if ((await liveLeases(victim.id)).length === 0) return false;
            victim.process.child.kill('SIGSTOP');
            held = await liveLeases(victim.id);
            if (held.length === 0) victim.process.child.kill('SIGCONT');
            return held.length > 0;
          },
          'a worker holding a lease',
          60_000,
        );
        faults.stopped++;
        // Resume once all its leases ran out and another worker took at least one of its mailboxes
        // over: it wakes up in the middle of sessions it no longer owns.
        await until(
          async () => {
            const { rows } = await admin.query<{ expired: number; taken: number }>(
              `SELECT count(*) FILTER (WHERE l.expires_at <= now() OR l.token > h.t)::int AS expired,
                      count(*) FILTER (WHERE l.token > h.t)::int AS taken
               FROM fleet.mailbox_leases l
               JOIN unnest($1::text[], $2::bigint[]) AS h(k, t) ON l.lease_key = h.k`,
              [held.map((h) => h.lease_key), held.map((h) => h.token)],
            );
            const row = rows[0]!;
            if (row.expired === held.length && row.taken > 0) {
              faults.takenOver = row.taken;
              return true;
            }
            return remaining() === 0;
          },
          'the stopped worker’s leases expired and a mailbox taken over',
          600_000,
        );
        victim.process.child.kill('SIGCONT');
      };
      const killLoop = async (done: () => boolean) => {
        while (!done()) {
          await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
          if (done()) return;
          const slot = [0, 2, 3][faults.killed % 3]!; // never the one that is SIGSTOPped
          workers[slot]!.process.child.kill('SIGKILL');
          await workers[slot]!.process.exited;
          faults.killed++;
          await startWorker(slot);
        }
      };
      let finished = false;
      const chaos = (async () => {
        await until(() => remaining() < total * 0.9, 'collection under way', 120_000);
        const kills = killLoop(() => finished);
        await stopOnePastItsLease();
        await until(() => remaining() < total * 0.6, 'a third collected', 240_000);
        await redis.restart();
        faults.redisRestarts++;
        await until(() => remaining() < total * 0.4, 'more collected', 240_000);
        faults.pgConnectionsCut += await pgServer.terminateConnections();
        await kills;
      })();
      try {
        await until(() => remaining() === 0, 'every maildrop empty', 600_000);
      } finally {
        finished = true;
        await chaos.catch(() => undefined);
      }
      await chaos;

      // Graceful stop: every worker exits 0 on SIGTERM.
      for (const w of workers) w.process.child.kill('SIGTERM');
      const exits = await Promise.all(workers.map((w) => w.process.exited));
      scheduler.child.kill('SIGTERM');
      await scheduler.exited;
      if (process.env['FLEET_DEBUG'])
        for (const w of workers) console.log(w.id, w.process.stderr().slice(-5000));

      // What the Maildirs hold: each message once, byte for byte after the trace header.
      const expected = new Map<string, Buffer>();
      for (const [u, user] of users.entries())
        for (const [n, m] of user.messages.entries()) expected.set(`<m${n}.u${u}@fleet.test>`, m);
      const seen = new Map<string, number>();
      let identical = 0;
      for (const recipient of await readdir(root)) {
        if (!recipient.startsWith('user')) continue;
        for (const file of await readdir(join(root, recipient, 'new'))) {
          const bytes = await readFile(join(root, recipient, 'new', file));
          const at = bytes.indexOf('Message-ID: <');
          const id = bytes.subarray(at + 12, bytes.indexOf('>', at) + 1).toString();
          seen.set(id, (seen.get(id) ?? 0) + 1);
          if (expected.get(id)?.equals(bytes.subarray(at))) identical++;
        }
      }
      const counts = [...seen.values()];
      for (const [id, n] of seen)
        if (n > 1) console.log(`duplicate ${id}: ${n} copies`, await copiesOf(root, id));
      const report = {
        mailboxes: MAILBOXES,
        messages: total,
        delivered: counts.reduce((a, b) => a + b, 0),
        distinct: seen.size,
        duplicates: counts.filter((c) => c > 1).length,
        byteIdentical: identical,
        leftOnServer: remaining(),
        overlappingLogins: pop3.overlappingLogins(),
        ...faults,
        crashedAtStart,
        seconds: Math.round((Date.now() - started) / 1000),
      };
      console.log(`fleet: ${JSON.stringify(report)}`);
      const stderrs = workers.map((w) => `${w.id}: ${w.process.stderr().slice(-3000)}`).join('\n');
      expect(
        exits.map((e) => e.code),
        stderrs,
      ).toEqual(Array(WORKERS).fill(0));
      expect(report).toMatchObject({
        delivered: total,
        distinct: total,
        duplicates: 0,
        byteIdentical: total,
        leftOnServer: 0,
        overlappingLogins: 0,
        stopped: 1,
        redisRestarts: 1,
      });
      expect(faults.killed).toBeGreaterThan(0);
      expect(faults.takenOver).toBeGreaterThan(0);
      expect(faults.pgConnectionsCut).toBeGreaterThan(0);
    }, 900_000);
  });
});
