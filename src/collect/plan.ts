import type { LedgerRecord } from '../ports/index.js';
import { type EffectivePolicy, isOversize } from './policy.js';

/** One message of the remote maildrop: its number in this session, its size (LIST) and its id (UIDL). */
export interface ListedMessage {
  msg: number;
  size: number;
  uidl: string;
}

/** Why {@link plan} deletes a message. */
export type DeleteReason =
  /** Collected in an earlier session, delete mode: the DELE (or its QUIT) did not happen then. */
  | 'collected'
  /** Collected, left on the server, and now older than `entry.deleteAfterDays` allows. */
  | 'expired'
  /** The ledger has a DELE decided but not yet confirmed by QUIT: issue it again. */
  | 'pending'
  /** Over the size limit (`entry.maxMessageSizeKb`) with `settings.deleteOversized` on: deleted without ever being downloaded. */
  | 'oversize';

/** A message {@link plan} decided to delete. */
export interface PlannedDelete extends ListedMessage {
  reason: DeleteReason;
}

/** An over-size message left on the server. */
export interface PlannedSkip extends ListedMessage {
  /** True the first time only: the ledger remembers (`oversizeReported`) that it was reported. */
  report: boolean;
}

/** A later listing entry that repeats a UIDL already seen in the same listing (a broken server). */
export interface PlannedDuplicate extends ListedMessage {
  /** The message number of the first entry with this UIDL (the one the plan acts on). */
  firstMsg: number;
}

/** What {@link plan} needs: the whole listing, the mailbox's ledger, the policy and the clock. */
export interface PlanInput {
  /** The complete UIDL + LIST listing of this session (see {@link plan} on why it must be complete). */
  listing: readonly ListedMessage[];
  ledger: ReadonlyMap<string, LedgerRecord>;
  policy: EffectivePolicy;
  /** Now, in ms since the epoch. */
  now: number;
}

/** The decisions for one session. Every array is in ascending message-number order. */
export interface Plan {
  /** Retrieve and enqueue these (not collected yet, within the size limit). */
  fetch: ListedMessage[];
  /** DELE these without retrieving them. */
  delete: PlannedDelete[];
  /** Over-size messages left on the server (not under `settings.deleteOversized`). */
  skipOversize: PlannedSkip[];
  /** Repeated UIDLs: neither fetched nor deleted (see {@link plan}). */
  duplicates: PlannedDuplicate[];
  /** Ledger UIDLs no longer on the server: forget them. */
  prune: string[];
  /** Listed messages the ledger has as collected (whether deleted now or kept). */
  alreadyCollected: number;
  /** Collected messages that stay on the server this session (leave-on-server, not yet due). */
  kept: number;
}

/**
 * Decides, for one session of one remote mailbox, what to fetch, delete, skip and forget. Pure
 * and O(n): one pass over the listing and one over the ledger, with Map/Set look-ups.
 *
 * Per listed message (first occurrence of its UIDL):
 * - **collected** (ledger `collected`) — never fetched again. `deletePending` → delete
 *   (`'pending'`); else delete mode → delete (`'collected'`: a crash or dropped connection came
 *   between the ledger write and a confirmed QUIT); else `entry.deleteAfterDays` due (`now - firstSeen >=
 *   deleteAfterMs > 0`) → delete (`'expired'`); else kept.
 * - **not collected, over `entry.maxMessageSizeKb`** — with `settings.deleteOversized`, delete without downloading (`'oversize'`, or
 *   `'pending'` when that delete was already decided); else skip, `report` only if the ledger
 *   has not recorded the report yet.
 * - **not collected, within the limit** — fetch. A `deletePending` flag on a record that is not
 *   collected is honoured only while the message is still over-size under `settings.deleteOversized`: if the limit or `settings.deleteOversized`
 *   changed since, the message is fetched instead, because nothing is ever deleted that the
 *   queue did not accept unless the policy says "delete over-size without downloading".
 *
 * Duplicate UIDLs in one listing (a broken server): the first entry is planned as above; every
 * later one goes to `duplicates` and is neither fetched nor deleted — it may be a different
 * message, and deleting it unread could lose it. Once the first is deleted and forgotten, a later
 * session sees the survivor alone and collects it.
 *
 * Prune: every ledger UIDL not in the listing is gone from the server and is forgotten; an empty
 * listing means an empty maildrop, so everything is pruned. The listing must therefore be the
 * complete listing of the session — a partial one would forget collected UIDLs and re-deliver
 * those messages should they show up again (still with the same idempotency key).
 *
 * @example
 * ```ts
 * const decisions = plan({ listing, ledger: await ledger.load(mailboxId), policy, now: Date.now() });
 * for (const m of decisions.fetch) await collect(m);
 * ```
 */
export function plan(input: PlanInput): Plan {
  const { ledger, policy, now } = input;
  const listing = inMessageOrder(input.listing);
  const result: Plan = {
    fetch: [],
    delete: [],
    skipOversize: [],
    duplicates: [],
    prune: [],
    alreadyCollected: 0,
    kept: 0,
  };
  // UIDL → message number of its first entry; also the "still on the server" set for pruning.
  const seen = new Map<string, number>();

  for (const entry of listing) {
    const { msg, size, uidl } = entry;
    const firstMsg = seen.get(uidl);
    if (firstMsg !== undefined) {
      result.duplicates.push({ msg, size, uidl, firstMsg });
      continue;
    }
    seen.set(uidl, msg);
    const record = ledger.get(uidl);

    if (record?.collected) {
      result.alreadyCollected++;
      const reason = collectedDeleteReason(record, policy, now);
      // Kept messages — most of a large leave-on-server maildrop — allocate nothing.
      if (reason) result.delete.push({ msg, size, uidl, reason });
      else result.kept++;
      continue;
    }

    if (isOversize(size, policy)) {
      if (policy.deleteOversized) {
        result.delete.push({ msg, size, uidl, reason: record?.deletePending ? 'pending' : 'oversize' });
      } else {
        result.skipOversize.push({ msg, size, uidl, report: !record?.oversizeReported });
      }
      continue;
    }

    result.fetch.push({ msg, size, uidl });
  }

  for (const uidl of ledger.keys()) {
    if (!seen.has(uidl)) result.prune.push(uidl);
  }
  return result;
}

/** Why a collected message is deleted this session, or undefined when it stays. */
function collectedDeleteReason(
  record: LedgerRecord,
  policy: EffectivePolicy,
  now: number,
): DeleteReason | undefined {
  if (record.deletePending) return 'pending';
  if (!policy.leaveOnServer) return 'collected';
  if (policy.deleteAfterMs > 0 && now - record.firstSeen >= policy.deleteAfterMs) return 'expired';
  return undefined;
}

/**
 * The listing in ascending message order. Servers list in order, so this is an O(n) check that
 * returns the input as is; only a listing out of order is copied and sorted.
 */
function inMessageOrder(listing: readonly ListedMessage[]): readonly ListedMessage[] {
  for (let i = 1; i < listing.length; i++) {
    if (listing[i]!.msg < listing[i - 1]!.msg) return [...listing].sort((a, b) => a.msg - b.msg);
  }
  return listing;
}

// The session's listing code imports the fallback id from here; it lives with the other
// message-identity helpers.
export { fallbackUidl } from './message-identity.js';
