import { MultiPopWorker } from '../../bullmq/index.js';
import { openPostgresStore } from '../../postgres/index.js';
import { loadCliConfig } from '../config-file.js';
import { ExitCode } from '../exit-codes.js';
import { stderrLogger } from '../fleet-log.js';
import { describeRedis, fleetSections } from '../jobs-config.js';
import type { ProgressOutput } from '../progress.js';
import { buildQueue, connectionTuning } from '../runtime.js';
import { storeKey } from '../store-config.js';

export interface WorkerCommandOptions {
  config: string;
  out: ProgressOutput;
  /** Resolves on SIGTERM/SIGINT: the worker then stops gracefully. */
  stopSignal: Promise<void>;
}

/**
 * `multipop worker`: one worker process of a fleet — takes collection jobs from BullMQ and runs
 * them against the shared PostgreSQL store until SIGTERM/SIGINT, then finishes the message in
 * flight of each session, gives the jobs back and exits 0. The worker only reads the directory;
 * `multipop scheduler` makes it match the config file.
 */
export async function workerCommand(options: WorkerCommandOptions): Promise<number> {
  const config = loadCliConfig(options.config);
  const { jobs, store: storeConfig } = fleetSections(config, 'worker');
  const store = await openPostgresStore({
    url: storeConfig.url,
    schema: storeConfig.schema,
    key: storeKey(storeConfig),
    maxConnections: storeConfig.maxConnections,
    connectTimeoutMs: storeConfig.connectTimeoutSeconds * 1000,
  });
  const queue = await buildQueue(config);
  const worker = new MultiPopWorker({
    redis: jobs.redis,
    prefix: jobs.prefix,
    directory: store.directory,
    leases: store.leases,
    queue,
    concurrency: jobs.concurrency,
    perHost: jobs.perHost,
    leaseMs: jobs.leaseSeconds * 1000,
    lockMs: jobs.lockSeconds * 1000,
    connection: connectionTuning(config),
    logger: stderrLogger(),
    ...(jobs.backoff
      ? {
          backoff: {
            ...(jobs.backoff.baseSeconds ? { baseMs: jobs.backoff.baseSeconds * 1000 } : {}),
            ...(jobs.backoff.maxSeconds ? { maxMs: jobs.backoff.maxSeconds * 1000 } : {}),
          },
        }
      : {}),
  });
  try {
    await worker.start();
    options.out.write(`worker ${worker.id} taking jobs from ${describeRedis(jobs.redis)}\n`);
    await options.stopSignal;
    options.out.write(`worker ${worker.id} stopping after the messages in flight\n`);
    await worker.stop();
    options.out.write(`worker ${worker.id} stopped\n`);
    return ExitCode.OK;
  } finally {
    await worker.stop();
    if ('close' in queue) await queue.close();
    await store.close();
  }
}
