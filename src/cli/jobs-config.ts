/**
 * The `jobs` section of the CLI's config file: collection as jobs on BullMQ over Redis, for the
 * `multipop worker` and `multipop scheduler` commands of a fleet (docs/scale-out.md). Needs the
 * PostgreSQL store: every worker shares its state.
 */
import { z } from 'zod';
import { MultiPopError } from '../errors/index.js';

/** `jobs: { "type": "bullmq", "redis": "redis://…", … }`. */
export const jobsConfigSchema = z.strictObject({
  type: z.literal('bullmq'),
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`) — the password is a secret. */
  redis: z.string().refine(isRedisUrl, { message: 'must be a redis:// or rediss:// URL' }),
  /** BullMQ key prefix (several fleets may share one Redis). */
  prefix: z.string().min(1).max(64).default('multipop'),
  /** Sessions one worker process runs at once. */
  concurrency: z.int().min(1).max(1024).default(8),
  /** Sessions at once against one remote host, over the whole fleet. */
  perHost: z.int().min(1).max(1024).default(2),
  /** Lease of a mailbox (and of a host slot); longer than the POP3 servers' autologout. */
  leaseSeconds: z.number().positive().max(86_400).default(120),
  /** BullMQ's job lock: how soon a killed worker's job runs elsewhere. */
  lockSeconds: z.number().positive().max(3600).default(30),
  /** Back-off of failing mailboxes: first delay and longest delay. */
  backoff: z
    .strictObject({
      baseSeconds: z.number().positive().max(86_400).optional(),
      maxSeconds: z
        .number()
        .positive()
        .max(7 * 86_400)
        .optional(),
    })
    .optional(),
});

export type JobsConfig = z.output<typeof jobsConfigSchema>;

function isRedisUrl(text: string): boolean {
  try {
    return ['redis:', 'rediss:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * The `jobs` and PostgreSQL `store` sections a fleet command needs.
 * @throws MultiPopError `CONFIG_INVALID` naming the missing field
 */
export function fleetSections<S extends { type: string }>(
  config: { jobs?: JobsConfig | undefined; store: S },
  command: string,
): { jobs: JobsConfig; store: Extract<S, { type: 'postgres' }> } {
  if (!config.jobs)
    throw new MultiPopError(
      'CONFIG_INVALID',
      `multipop ${command} needs a jobs section (jobs: { type: "bullmq", redis })`,
      {
        field: 'jobs',
      },
    );
  if (config.store.type !== 'postgres')
    throw new MultiPopError(
      'CONFIG_INVALID',
      `multipop ${command} needs the PostgreSQL store (store: { type: "postgres", url }): every worker shares it`,
      { field: 'store.type' },
    );
  return { jobs: config.jobs, store: config.store as Extract<S, { type: 'postgres' }> };
}

/** The Redis URL without its password, for messages. */
export function describeRedis(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}
