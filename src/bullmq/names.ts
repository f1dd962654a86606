/** Where a fleet's jobs, slots and events live in Redis; the same for every worker and the scheduler. */
export interface FleetNames {
  /** BullMQ prefix of every key. @default 'multipop' */
  prefix?: string;
  /** The BullMQ queue of collection jobs. @default 'collect' */
  queueName?: string;
}

/** {@link FleetNames} with the defaults applied, plus the keys multipop keeps beside BullMQ's. */
export interface ResolvedNames {
  prefix: string;
  queueName: string;
  /** Pub/sub channel of the collector events. */
  events: string;
  /** Key prefix of the per-remote-host slot sets. */
  hostSlots: string;
  /** A key the scheduler sets once; finding it gone means Redis came back empty. */
  epoch: string;
}

/** Resolves the names of a fleet. */
export function fleetNames(names: FleetNames = {}): ResolvedNames {
  const prefix = names.prefix ?? 'multipop';
  const queueName = names.queueName ?? 'collect';
  const base = `${prefix}:${queueName}:multipop`;
  return {
    prefix,
    queueName,
    events: `${base}:events`,
    hostSlots: `${base}:host-slots:`,
    epoch: `${base}:epoch`,
  };
}

/**
 * The BullMQ job id of a mailbox entry's collection job. BullMQ adds a job only when no job with
 * its id exists, so every trigger for one mailbox joins the job already waiting, delayed or
 * running — one job per mailbox. (`:` is reserved in BullMQ ids; the entry id is percent-encoded.)
 *
 * @example
 * <!-- doc-context declare const jobs: import('bullmq').Queue; -->
 * ```ts
 * const job = await jobs.getJob(jobIdOf('ann-gmx')); // the mailbox's job, if it has one now
 * ```
 */
export function jobIdOf(mailboxId: string): string {
  return `mailbox-${encodeURIComponent(mailboxId)}`;
}

/** What a collection job carries. */
export interface CollectJobData {
  mailboxId: string;
  /** Ignore back-off and an identity pause (a "collect now" with force). */
  force?: boolean;
}
