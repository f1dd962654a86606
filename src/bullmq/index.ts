/**
 * `multipop/bullmq`: collection as jobs on BullMQ over Redis — a scheduler that turns the
 * schedule and the host's triggers into one job per remote mailbox, and workers that run each
 * job as one session of the ordinary collector, with exactly one owner per mailbox (PostgreSQL
 * leases with fencing, `multipop/postgres`), fleet-wide limits per remote host, back-off as
 * delayed jobs, and the events of every worker on a Redis channel. Needs the optional peer
 * dependencies bullmq 6 and ioredis.
 *
 * @packageDocumentation
 * @module multipop/bullmq
 */

export type { CollectJobData } from './names.js';
export { type FleetNames, jobIdOf } from './names.js';
export {
  type EnqueueResult,
  type FleetCollectRequest,
  MultiPopScheduler,
  type MultiPopSchedulerOptions,
} from './scheduler.js';
export { type CollectJobResult, MultiPopWorker } from './worker.js';
export type { MultiPopWorkerOptions } from './worker-options.js';
