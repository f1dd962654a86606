import type { IdentitySettings } from '../config/index.js';
import type { LedgerChange, LedgerRecord, LedgerRecordFields } from '../ports/index.js';
import type { ListedMessage } from './plan.js';

/**
 * How an administrator resolves a mailbox paused with `IDENTITY_UNCERTAIN`:
 * - `'rekey-matching'` — re-key every message confirmed by size and header fingerprint and
 *   collect the others as new (they could not be told apart from new mail);
 * - `'collect-as-new'` — re-key nothing: every message under an unknown UIDL is collected as new
 *   (the ledger's old rows are forgotten). For when the old ledger is known to be wrong.
 */
export type IdentityResolution = 'rekey-matching' | 'collect-as-new';

/** What {@link resolveIdentity} decides from. */
export interface IdentityInput {
  /** The session's complete listing (UIDL + LIST). */
  listing: readonly ListedMessage[];
  /** The mailbox's ledger as loaded at the start of the session. */
  ledger: ReadonlyMap<string, LedgerRecord>;
  /** Message number → `headerFingerprint(TOP n 0)`, for the messages probed so far. */
  fingerprints: ReadonlyMap<number, string>;
  settings: Pick<IdentitySettings, 'massChangeMinKnown' | 'massChangeShare'>;
  /** Now, in ms since the epoch (for records the outcome writes). */
  now: number;
  /** The administrator's decision for a mailbox paused with `IDENTITY_UNCERTAIN`. */
  resolution?: IdentityResolution;
}

/** A ledger record moved from the UIDL the server used before to the one it uses now. */
export interface Rekey {
  from: string;
  to: string;
  /** The message number in this session. */
  msg: number;
}

/** Why a mass change of UIDLs could not be resolved on its own. */
export interface IdentityUncertainty {
  /** Collected messages in the ledger. */
  known: number;
  /** Of those, how many are gone from the listing or now name another message. */
  lost: number;
  /** Listed messages that may be one of the lost ones but could not be confirmed or ruled out. */
  unconfirmed: number;
}

/** What {@link resolveIdentity} decided. */
export interface IdentityOutcome {
  /** The listing for `plan()`: listed more than once under one UIDL, distinct messages get ids of their own. */
  listing: ListedMessage[];
  /** The ledger for `plan()`: with {@link changes} applied. */
  ledger: Map<string, LedgerRecord>;
  /** To apply durably before anything else: re-keys, forgotten reused UIDLs, learnt sizes. */
  changes: LedgerChange[];
  rekeyed: Rekey[];
  /** Listed UIDLs that the ledger had for another message (a size or fingerprint mismatch). */
  reused: string[];
  /** UIDLs the server listed more than once. */
  duplicates: string[];
  /** Whether this is a mass change of UIDLs (see `identitySettingsSchema`). */
  mass: boolean;
  /** Set when the mailbox must pause: a mass change not every message of which was confirmed. */
  uncertain?: IdentityUncertainty;
  /**
   * Messages whose `TOP n 0` fingerprint would confirm or rule out an identity; call again with
   * them in `fingerprints`. Empty when nothing more can be learnt.
   */
  probes: number[];
}

/** Separates an id given to a distinct message listed under a repeated UIDL from the UIDL itself. */
const DUPLICATE_SEPARATOR = '/sha256:';

/**
 * Decides which listed message is which ledger record — pure, O(n) with Map look-ups. The
 * session calls it, fetches the fingerprints it asks for (`probes`) with `TOP n 0`, and calls it
 * again; then `plan()` works on the outcome's listing and ledger.
 *
 * - **Same message**: the listed UIDL has a record and neither its size (LIST) nor, when both are
 *   known, its header fingerprint disagree. A fingerprint that agrees wins over a size that
 *   drifted. A record without size or fingerprint (written before the ledger kept them) trusts
 *   the UIDL, and learns the size.
 * - **Reused UIDL**: the record's size or fingerprint disagrees — the UIDL now names another
 *   message. Its record is forgotten (or re-keyed, below) and the message is collected as new:
 *   never counted as collected, never deleted unread.
 * - **Re-keyed**: a listed message under an unknown (or reused) UIDL whose size and fingerprint
 *   match a lost record — collected, and gone from the listing or reused — is that message: the
 *   record moves to the new UIDL instead of the message being fetched again.
 * - **Mass change** (thresholds in `settings`): when a lost record could still be one of the
 *   listed messages but cannot be confirmed or ruled out (no size, no fingerprint, no TOP), the
 *   outcome is `uncertain` and nothing may change until an administrator picks a `resolution`.
 *   Outside a mass change such messages are collected as new, as always.
 * - **Repeated UIDL**: with fingerprints of every entry, distinct messages get ids of their own
 *   (`<uidl>/sha256:<fingerprint>`, longer than any UIDL) and are each collected once; an exact
 *   copy (same size and fingerprint) stays a duplicate for `plan()`.
 *
 * @example
 * ```ts
 * let outcome = resolveIdentity({ listing, ledger, fingerprints: new Map(), settings });
 * const fingerprints = await topFingerprints(outcome.probes);
 * outcome = resolveIdentity({ listing, ledger, fingerprints, settings });
 * const decisions = plan({ listing: outcome.listing, ledger: outcome.ledger, policy, now });
 * ```
 */
export function resolveIdentity(input: IdentityInput): IdentityOutcome {
  const { ledger, fingerprints, settings, resolution } = input;
  const probes = new Set<number>();
  const { listing, duplicates } = separateDuplicates(input.listing, ledger, fingerprints, probes);

  const listed = new Set<string>();
  const unknown: ListedMessage[] = [];
  const lost: LedgerRecord[] = [];
  const reused: string[] = [];
  // Reused UIDLs judged by size alone: in a mass change, not proof enough to collect them again.
  const bySizeAlone = new Set<string>();
  const learnt = new Map<string, LedgerRecordFields>();
  // Entries trusted by UIDL and size whose fingerprint could still be compared.
  const checkable: number[] = [];
  for (const message of listing) {
    if (listed.has(message.uidl)) continue; // an exact copy: plan() leaves it alone
    listed.add(message.uidl);
    const record = ledger.get(message.uidl);
    if (!record) {
      unknown.push(message);
      continue;
    }
    const fingerprint = fingerprints.get(message.msg);
    const verdict = compare(message, record, fingerprint);
    if (verdict !== 'same') {
      if (verdict === 'probe') probes.add(message.msg);
      if (record.fingerprint === undefined || fingerprint === undefined) bySizeAlone.add(message.uidl);
      reused.push(message.uidl);
      unknown.push(message);
      lost.push(record);
      continue;
    }
    if (record.fingerprint !== undefined && fingerprint === undefined) checkable.push(message.msg);
    const fields = learnt_(record, message, fingerprint);
    if (fields) learnt.set(message.uidl, fields);
  }
  for (const record of ledger.values()) if (!listed.has(record.uidl)) lost.push(record);
  // A server that gave one known UIDL to another message may have done so with messages of the
  // same size too, which only the fingerprint tells apart: check every one that can be checked.
  if (reused.length > 0) for (const msg of checkable) probes.add(msg);

  const lostCollected = lost.filter((r) => r.collected);
  let known = 0;
  for (const record of ledger.values()) if (record.collected) known++;
  const share = settings.massChangeShare;
  const mass =
    known >= settings.massChangeMinKnown &&
    lostCollected.length >= share * known &&
    unknown.length >= share * lostCollected.length;

  const rekeyed: Rekey[] = [];
  let unconfirmed = 0;
  if (resolution !== 'collect-as-new') {
    const candidates = bySize(lostCollected);
    const taken = new Set<string>();
    for (const message of unknown) {
      const fingerprint = fingerprints.get(message.msg);
      const sameSize = candidates.get(message.size) ?? [];
      if (fingerprint === undefined) {
        if (sameSize.some((r) => r.fingerprint !== undefined)) probes.add(message.msg);
        continue;
      }
      const match = sameSize.find((r) => !taken.has(r.uidl) && r.fingerprint === fingerprint);
      if (!match) continue;
      taken.add(match.uidl);
      rekeyed.push({ from: match.uidl, to: message.uidl, msg: message.msg });
    }
    const remaining = lostCollected.filter((r) => !taken.has(r.uidl));
    const rekeyedTo = new Set(rekeyed.map((k) => k.to));
    for (const message of unknown) {
      if (rekeyedTo.has(message.uidl)) continue;
      if (bySizeAlone.has(message.uidl) || mayBeOneOf(message, fingerprints.get(message.msg), remaining))
        unconfirmed++;
    }
  }

  const changes = identityChanges({ ledger, reused, rekeyed, learnt, listing, fingerprints, now: input.now });
  const view = new Map(ledger);
  for (const change of changes) {
    if (change.type === 'forget') view.delete(change.uidl);
    else if (change.type === 'put') view.set(change.uidl, { ...change.record, uidl: change.uidl });
  }
  const outcome: IdentityOutcome = {
    listing,
    ledger: view,
    changes,
    rekeyed,
    reused,
    duplicates,
    mass,
    probes: [...probes].filter((msg) => !fingerprints.has(msg)).sort((a, b) => a - b),
  };
  if (mass && resolution === undefined && unconfirmed > 0)
    outcome.uncertain = { known, lost: lostCollected.length, unconfirmed };
  return outcome;
}

/** `'probe'`: the sizes disagree, and a fingerprint (not fetched yet) could still show they are the same. */
function compare(
  message: ListedMessage,
  record: LedgerRecord,
  fingerprint: string | undefined,
): 'same' | 'different' | 'probe' {
  if (record.fingerprint !== undefined && fingerprint !== undefined)
    return fingerprint === record.fingerprint ? 'same' : 'different';
  if (record.size !== undefined && record.size !== message.size)
    return record.fingerprint !== undefined ? 'probe' : 'different';
  return 'same';
}

/** The record with what this session learnt about its message (size, fingerprint), or undefined. */
function learnt_(
  record: LedgerRecord,
  message: ListedMessage,
  fingerprint: string | undefined,
): LedgerRecordFields | undefined {
  const size = record.size !== message.size;
  const print = record.fingerprint === undefined && fingerprint !== undefined && record.collected;
  if (!size && !print) return undefined;
  const { uidl: _uidl, ...fields } = record;
  return { ...fields, size: message.size, ...(print ? { fingerprint } : {}) };
}

/**
 * Whether a listed message could be one of `records` without that being confirmed or ruled out:
 * a record of unknown size, or one of the same size whose fingerprint cannot be compared.
 */
function mayBeOneOf(
  message: ListedMessage,
  fingerprint: string | undefined,
  records: readonly LedgerRecord[],
): boolean {
  return records.some(
    (r) =>
      r.size === undefined ||
      (r.size === message.size && (r.fingerprint === undefined || fingerprint === undefined)),
  );
}

function bySize(records: readonly LedgerRecord[]): Map<number, LedgerRecord[]> {
  const map = new Map<number, LedgerRecord[]>();
  for (const record of records) {
    if (record.size === undefined) continue;
    const list = map.get(record.size);
    if (list) list.push(record);
    else map.set(record.size, [record]);
  }
  return map;
}

/**
 * Forgets first (re-keyed records' old UIDLs), then writes: re-keyed records under their new
 * UIDL, learnt sizes, and for each reused UIDL a record of the message it names now — not
 * collected, with its size and (when probed) fingerprint, which go into its idempotency key so
 * that a queue that saw the UIDL's earlier message does not drop this one as a copy, also after a
 * crash. Forgets before writes make chains and swaps of UIDLs come out right in one batch.
 */
function identityChanges(o: {
  ledger: ReadonlyMap<string, LedgerRecord>;
  reused: readonly string[];
  rekeyed: readonly Rekey[];
  learnt: ReadonlyMap<string, LedgerRecordFields>;
  listing: readonly ListedMessage[];
  fingerprints: ReadonlyMap<number, string>;
  now: number;
}): LedgerChange[] {
  const changes: LedgerChange[] = [];
  const destinations = new Set(o.rekeyed.map((k) => k.to));
  for (const k of o.rekeyed) if (!destinations.has(k.from)) changes.push({ type: 'forget', uidl: k.from });
  const byUidl = new Map<string, ListedMessage>();
  for (const m of o.listing) if (!byUidl.has(m.uidl)) byUidl.set(m.uidl, m);
  for (const k of o.rekeyed) {
    const { uidl: _uidl, ...fields } = o.ledger.get(k.from)!;
    changes.push({ type: 'put', uidl: k.to, record: { ...fields, size: byUidl.get(k.to)!.size } });
  }
  for (const uidl of o.reused) {
    if (destinations.has(uidl)) continue;
    const message = byUidl.get(uidl)!;
    const fingerprint = o.fingerprints.get(message.msg);
    changes.push({
      type: 'put',
      uidl,
      record: {
        firstSeen: o.now,
        collected: false,
        deletePending: false,
        oversizeReported: false,
        size: message.size,
        ...(fingerprint === undefined ? {} : { fingerprint }),
      },
    });
  }
  for (const [uidl, record] of o.learnt) changes.push({ type: 'put', uidl, record });
  return changes;
}

/**
 * Gives distinct messages listed under one UIDL ids of their own, once every entry's fingerprint
 * is known (until then it asks for them in `probes`). The entry that matches the record keeps
 * the UIDL (else the first); exact copies keep it too, and `plan()` treats them as duplicates.
 */
function separateDuplicates(
  listing: readonly ListedMessage[],
  ledger: ReadonlyMap<string, LedgerRecord>,
  fingerprints: ReadonlyMap<number, string>,
  probes: Set<number>,
): { listing: ListedMessage[]; duplicates: string[] } {
  const groups = new Map<string, ListedMessage[]>();
  for (const message of listing) {
    const group = groups.get(message.uidl);
    if (group) group.push(message);
    else groups.set(message.uidl, [message]);
  }
  const duplicates: string[] = [];
  const renamed = new Map<number, ListedMessage>();
  for (const [uidl, group] of groups) {
    if (group.length === 1) continue;
    duplicates.push(uidl);
    const missing = group.filter((m) => !fingerprints.has(m.msg));
    if (missing.length > 0) {
      for (const m of missing) probes.add(m.msg);
      continue;
    }
    const record = ledger.get(uidl);
    const primary =
      group.find(
        (m) =>
          record?.fingerprint === fingerprints.get(m.msg) &&
          (record?.size === undefined || record.size === m.size),
      ) ?? group[0]!;
    const seen = new Set([`${primary.size}:${fingerprints.get(primary.msg)}`]);
    for (const m of group) {
      if (m === primary) continue;
      const fingerprint = fingerprints.get(m.msg)!;
      const key = `${m.size}:${fingerprint}`;
      if (seen.has(key)) continue;
      seen.add(key);
      renamed.set(m.msg, { ...m, uidl: `${uidl}${DUPLICATE_SEPARATOR}${fingerprint}` });
    }
  }
  if (renamed.size === 0) return { listing: [...listing], duplicates };
  return { listing: listing.map((m) => renamed.get(m.msg) ?? m), duplicates };
}
