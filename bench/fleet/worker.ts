/**
 * One worker process of the fleet benchmark (bench/fleet/run.ts): a `MultiPopWorker` over the
 * PostgreSQL store and a Maildir queue, configured by FLEET_BENCH (JSON). Prints `ready`, and on
 * SIGTERM stops and prints one JSON line: peak RSS, CPU time and the SQL it sent.
 */
import { MultiPopWorker } from 'multipop/bullmq';
import { openPostgresStore } from 'multipop/postgres';
import { maildirQueue } from '../../src/stores/index.js';

const config = JSON.parse(process.env['FLEET_BENCH'] ?? '{}') as {
  pg: string;
  schema: string;
  key: string;
  redis: string;
  root: string;
  concurrency: number;
};
const store = await openPostgresStore({
  url: config.pg,
  schema: config.schema,
  key: config.key,
  maxConnections: 8,
});
const worker = new MultiPopWorker({
  redis: config.redis,
  directory: store.directory,
  leases: store.leases,
  queue: maildirQueue({ root: config.root }),
  concurrency: config.concurrency,
  perHost: 1024,
});
await worker.start();
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  await worker.stop();
  const usage = process.resourceUsage();
  const counters = store.counters();
  await store.close();
  process.stdout.write(
    `${JSON.stringify({
      maxRssMb: Math.round(usage.maxRSS / 1024),
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      statements: counters.statements,
      transactions: counters.transactions,
    })}\n`,
  );
  process.exit(0);
});
