/**
 * Fleet benchmark: throughput and peak RSS per worker with 1, 2 and 4 `MultiPopWorker` processes
 * on a real PostgreSQL (durable: fsync on) and Redis, collecting N mailboxes × 3 messages from the
 * in-process fake POP3 server into a Maildir (fsync on); the cost per message in Redis commands
 * (INFO commandstats, everything the fleet sent) and SQL statements (counted by the workers' store).
 *
 *   npx tsx bench/fleet/run.ts [--mailboxes 2000] [--workers 1,2,4] [--concurrency 8]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { MultiPopScheduler } from 'multipop/bullmq';
import { openPostgresStore } from 'multipop/postgres';
import { parseConfig } from '../../src/config/index.js';
import { startFakePop3Server } from '../../src/testing/index.js';
import { startPostgres } from '../../test/helpers/postgres.js';
import { startRedis } from '../../test/helpers/redis.js';

const { values } = parseArgs({
  options: {
    mailboxes: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '1,2,4' },
    concurrency: { type: 'string', default: '8' },
  },
});
const MAILBOXES = Number(values.mailboxes);
const PER_MAILBOX = 3;
const messageOf = (u: number, n: number) =>
  Buffer.from(`Message-ID: <${n}.${u}@bench>\r\nSubject: bench ${n}\r\n\r\n${'x'.repeat(2000)}\r\n`);

const redisCommands = async (redis: Redis) => {
  const text = await redis.info('commandstats');
  let calls = 0;
  for (const m of text.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
};
const redisCpu = async (redis: Redis) => {
  const text = await redis.info('cpu');
  const n = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(text)?.[1] ?? 0);
  return n('used_cpu_user') + n('used_cpu_sys');
};

/** CPU seconds used so far by the PostgreSQL server: the postmaster and every backend it forked. */
async function postgresCpu(dataDir: string): Promise<number> {
  const ticks = 100; // USER_HZ on Linux
  const stats: { pid: number; ppid: number; cpu: number; cmd: string }[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      stats.push({
        pid: Number(pid),
        ppid: Number(fields[1]),
        cpu: (Number(fields[11]) + Number(fields[12])) / ticks,
        cmd,
      });
    } catch {
      // The process ended while we looked.
    }
  }
  const postmaster = stats.find((p) => p.cmd.includes(dataDir));
  if (!postmaster) return 0;
  return stats
    .filter((p) => p.pid === postmaster.pid || p.ppid === postmaster.pid)
    .reduce((n, p) => n + p.cpu, 0);
}

const pg = await startPostgres({ durable: true, maxConnections: 100 });
const redisServer = await startRedis();
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const rows: string[] = [];
try {
  for (const count of values.workers.split(',').map(Number)) {
    const users = Array.from({ length: MAILBOXES }, (_, u) => ({
      name: `u${u}`,
      password: 'pw',
      messages: Array.from({ length: PER_MAILBOX }, (_, n) => messageOf(u, n)),
    }));
    const pop3 = await startFakePop3Server({ users, capabilities: { pipelining: true } });
    const schema = `bench_${count}_${randomBytes(3).toString('hex')}`;
    const key = randomBytes(32).toString('base64');
    const store = await openPostgresStore({ url: pg.url, schema, key });
    const config = parseConfig({
      users: users.map((u) => ({
        id: u.name,
        entries: [
          {
            id: `${u.name}-box`,
            server: `127.0.0.1:${pop3.port}`,
            tls: 'none',
            username: u.name,
            password: 'pw',
          },
        ],
      })),
    });
    for (const user of config.users) {
      await store.directory.putUser(user);
      for (const entry of user.entries) await store.directory.putEntry(user.id, entry);
    }
    const root = await mkdtemp(join(tmpdir(), 'multipop-fleet-bench-'));
    await redis.flushall();
    const env = JSON.stringify({
      pg: pg.url,
      schema,
      key,
      redis: redisServer.url,
      root,
      concurrency: Number(values.concurrency),
    });
    const workers = Array.from({ length: count }, () =>
      spawn(process.execPath, ['--import', 'tsx', 'bench/fleet/worker.ts'], {
        env: { ...process.env, FLEET_BENCH: env },
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const outputs = workers.map((w) => {
      let out = '';
      w.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      return () => out;
    });
    while (!outputs.every((o) => o().includes('ready'))) await new Promise((r) => setTimeout(r, 50));
    const scheduler = new MultiPopScheduler({
      redis: redisServer.url,
      directory: store.directory,
      ledger: store.ledger,
    });
    const commandsBefore = await redisCommands(redis);
    const redisCpuBefore = await redisCpu(redis);
    const pgCpuBefore = await postgresCpu(pg.dir);
    const selfBefore = process.cpuUsage();
    const started = performance.now();
    await scheduler.collectNow();
    const remaining = () => users.reduce((n, u) => n + pop3.mailbox(u.name).messages.length, 0);
    while (remaining() > 0) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - started) / 1000;
    const redisCalls = (await redisCommands(redis)) - commandsBefore - 2; // the two INFO calls
    const redisSeconds = (await redisCpu(redis)) - redisCpuBefore;
    const pgSeconds = (await postgresCpu(pg.dir)) - pgCpuBefore;
    const self = process.cpuUsage(selfBefore);
    const popSeconds = (self.user + self.system) / 1e6;
    await scheduler.stop();
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
    const reports = outputs.map(
      (o) =>
        JSON.parse(o().trim().split('\n').at(-1)!) as {
          maxRssMb: number;
          cpuSeconds: number;
          statements: number;
        },
    );
    const messages = MAILBOXES * PER_MAILBOX;
    const sql = reports.reduce((n, r) => n + r.statements, 0);
    const workerCpu = reports.reduce((n, r) => n + r.cpuSeconds, 0);
    const row = [
      count,
      Math.round(messages / seconds),
      Math.round(MAILBOXES / seconds),
      Math.max(...reports.map((r) => r.maxRssMb)),
      (redisCalls / messages).toFixed(1),
      (sql / messages).toFixed(1),
      workerCpu.toFixed(1),
      redisSeconds.toFixed(1),
      pgSeconds.toFixed(1),
      popSeconds.toFixed(1),
      seconds.toFixed(1),
    ];
    rows.push(`| ${row.join(' | ')} |`);
    console.log(rows.at(-1));
    await store.close();
    await pop3.close();
    await rm(root, { recursive: true, force: true });
  }
} finally {
  await redis.quit();
  await redisServer.stop();
  await pg.stop();
}
console.log(
  `\n${MAILBOXES} mailboxes × ${PER_MAILBOX} messages (2 KB), ${cpus().length} cores, concurrency ${values.concurrency} per worker`,
);
console.log(
  '| workers | messages/s | mailboxes/s | peak RSS per worker (MB) | Redis commands / message | SQL statements / message | worker CPU (s) | Redis CPU (s) | PostgreSQL CPU (s) | POP3 server + scheduler CPU (s) | wall (s) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
