import { MultiPopScheduler } from '../../bullmq/index.js';
import { loadCliConfig } from '../config-file.js';
import { describeChanges } from '../directory-sync.js';
import { ExitCode } from '../exit-codes.js';
import { stderrLogger } from '../fleet-log.js';
import { describeRedis, fleetSections } from '../jobs-config.js';
import type { ProgressOutput } from '../progress.js';
import { openRuntime } from '../runtime.js';

export interface SchedulerCommandOptions {
  config: string;
  /** Enqueue every enabled mailbox at start (then follow the schedule). */
  now: boolean;
  forceSync?: boolean;
  out: ProgressOutput;
  /** Resolves on SIGTERM/SIGINT. */
  stopSignal: Promise<void>;
}

/**
 * `multipop scheduler`: the one scheduler of a fleet — makes the shared directory match the config
 * file (as `multipop collect` does), then turns the schedule (`settings.schedule`) into BullMQ
 * jobs, one per mailbox, until SIGTERM/SIGINT. With `--now` every enabled mailbox gets a job at
 * start. Prints one line per minute with the jobs waiting, running and delayed.
 */
export async function schedulerCommand(options: SchedulerCommandOptions): Promise<number> {
  const config = loadCliConfig(options.config);
  const { jobs } = fleetSections(config, 'scheduler');
  const runtime = await openRuntime(config, undefined, { forceSync: options.forceSync === true });
  const changed = describeChanges(runtime.changes);
  if (changed) options.out.write(`${changed}\n`);
  const scheduler = new MultiPopScheduler({
    redis: jobs.redis,
    prefix: jobs.prefix,
    directory: runtime.store.directory,
    ledger: runtime.store.ledger,
    logger: stderrLogger(),
  });
  const report = async () => {
    const counts = await scheduler.jobCounts();
    options.out.write(
      `jobs: ${counts.waiting} waiting, ${counts.active} running, ${counts.delayed} delayed\n`,
    );
  };
  const ticker = setInterval(() => void report().catch(() => undefined), 60_000);
  ticker.unref();
  try {
    await scheduler.start();
    options.out.write(
      `scheduler on ${describeRedis(jobs.redis)}, schedule "${config.settings.schedule.mode}"\n`,
    );
    if (options.now) {
      const { mailboxes } = await scheduler.collectNow();
      options.out.write(`enqueued ${mailboxes} mailboxes\n`);
    }
    await options.stopSignal;
    return ExitCode.OK;
  } finally {
    clearInterval(ticker);
    await scheduler.stop();
    await runtime.close();
  }
}
