import type { MailboxEntry, ServerSettings } from '../config/index.js';

/** Milliseconds in one day: `entry.deleteAfterDays` counts elapsed time, so calendar days and DST play no part. */
const DAY_MS = 86_400_000;

/**
 * The delete and size rules that actually apply to one mailbox entry, once the server-wide
 * settings have had their say (`settings.alwaysDelete` overrides `entry.leaveOnServer`; `settings.deleteOversized` applies to every entry's `entry.maxMessageSizeKb` limit).
 */
export interface EffectivePolicy {
  /** `entry.leaveOnServer`, unless `settings.alwaysDelete` forces deletion. */
  leaveOnServer: boolean;
  /**
   * `entry.deleteAfterDays` in milliseconds: with `leaveOnServer`, delete a message this long after it was first
   * collected. `0` = never. Always `0` when `leaveOnServer` is false (messages go at once).
   */
  deleteAfterMs: number;
  /** `entry.maxMessageSizeKb` in bytes: messages strictly larger are not downloaded. `0` = no limit. */
  maxMessageSize: number;
  /** `settings.deleteOversized`: delete over-size messages without downloading them (instead of leaving them). */
  deleteOversized: boolean;
}

/**
 * Resolves the effective policy of a mailbox entry under the server-wide settings.
 *
 * @example
 * ```ts
 * const policy = effectivePolicy(
 *   { leaveOnServer: true, deleteAfterDays: 7, maxMessageSizeKb: 10_240 },
 *   { alwaysDelete: false, deleteOversized: false },
 * );
 * // → { leaveOnServer: true, deleteAfterMs: 604_800_000, maxMessageSize: 10_485_760, deleteOversized: false }
 * ```
 */
export function effectivePolicy(
  entry: Pick<MailboxEntry, 'leaveOnServer' | 'deleteAfterDays' | 'maxMessageSizeKb'>,
  settings: Pick<ServerSettings, 'alwaysDelete' | 'deleteOversized'>,
): EffectivePolicy {
  const leaveOnServer = entry.leaveOnServer && !settings.alwaysDelete;
  return {
    leaveOnServer,
    deleteAfterMs: leaveOnServer ? entry.deleteAfterDays * DAY_MS : 0,
    maxMessageSize: entry.maxMessageSizeKb * 1024,
    deleteOversized: settings.deleteOversized,
  };
}

/**
 * Whether a message collected in this session is to be deleted (DELE) right after the queue
 * accepted it and the ledger recorded it. Only in delete mode: with leave-on-server, `entry.deleteAfterDays` expiry
 * is measured from the first collection, so a fresh message is never already due.
 *
 * @example
 * ```ts
 * if (shouldDeleteAfterCollect(policy)) await client.dele(msg);
 * ```
 */
export function shouldDeleteAfterCollect(policy: Pick<EffectivePolicy, 'leaveOnServer'>): boolean {
  return !policy.leaveOnServer;
}

/**
 * Whether a message of `size` bytes is over the policy's size limit (`entry.maxMessageSizeKb`).
 *
 * @example
 * ```ts
 * isOversize(2_000_000, { maxMessageSize: 1_048_576 }); // true
 * isOversize(2_000_000, { maxMessageSize: 0 });         // false — no limit
 * ```
 */
export function isOversize(size: number, policy: Pick<EffectivePolicy, 'maxMessageSize'>): boolean {
  return policy.maxMessageSize > 0 && size > policy.maxMessageSize;
}
