import { DEFAULT_IDENTITY_SETTINGS, type IdentitySettings } from '../config/index.js';
import { isMultiPopError, MultiPopError } from '../errors/index.js';
import type { Pop3ClientApi } from '../pop3/api.js';
import type { LedgerRecord } from '../ports/index.js';
import { type IdentityOutcome, type IdentityResolution, resolveIdentity } from './identity.js';
import { headerFingerprint } from './message-identity.js';
import { type ListedMessage, type Plan, plan } from './plan.js';
import type { EffectivePolicy } from './policy.js';

/** At most this many rounds of `TOP n 0` probes: identity candidates, then planned deletions. */
const MAX_PROBE_ROUNDS = 3;

/** What {@link identifyAndPlan} needs. */
export interface IdentifyInput {
  listing: readonly ListedMessage[];
  ledger: ReadonlyMap<string, LedgerRecord>;
  policy: EffectivePolicy;
  now: number;
  /** Defaults apply to what is left out (settings stored by older versions have none). */
  settings?: Partial<IdentitySettings>;
  resolution?: IdentityResolution;
  mailboxId: string;
}

/** The identity decisions and the plan made on them. */
export interface Identified {
  identity: IdentityOutcome;
  plan: Plan;
}

/**
 * Decides who each listed message is ({@link resolveIdentity}) and plans the session on that,
 * sending `TOP n 0` where a header fingerprint settles a question: candidates for a re-key, every
 * entry of a repeated UIDL, and every collected message the plan would delete — so that a UIDL
 * reused for another message of the same size is not deleted unread. Servers without TOP (or
 * that answer it with -ERR) are identified by UIDL and size alone.
 *
 * @throws MultiPopError `IDENTITY_UNCERTAIN` when a mass change of UIDLs cannot be resolved
 *   without an administrator (see {@link IdentityResolution}); nothing was changed then.
 */
export async function identifyAndPlan(client: Pop3ClientApi, input: IdentifyInput): Promise<Identified> {
  const settings = { ...DEFAULT_IDENTITY_SETTINGS, ...input.settings };
  const caps = client.capabilities;
  let canProbe = caps.raw.length === 0 || caps.top;
  const fingerprints = new Map<number, string>();
  const decide = (): Identified => {
    const identity = resolveIdentity({
      listing: input.listing,
      ledger: input.ledger,
      fingerprints,
      settings,
      now: input.now,
      ...(input.resolution === undefined ? {} : { resolution: input.resolution }),
    });
    const decided = plan({
      listing: identity.listing,
      ledger: identity.ledger,
      policy: input.policy,
      now: input.now,
    });
    return { identity, plan: decided };
  };

  let outcome = decide();
  for (let round = 0; round < MAX_PROBE_ROUNDS && canProbe; round++) {
    const wanted = new Set(outcome.identity.probes);
    for (const d of outcome.plan.delete) {
      const record = outcome.identity.ledger.get(d.uidl);
      if (record?.collected && record.fingerprint !== undefined && !fingerprints.has(d.msg))
        wanted.add(d.msg);
    }
    if (wanted.size === 0) break;
    canProbe = await probe(client, [...wanted], fingerprints);
    outcome = decide();
  }

  const uncertain = outcome.identity.uncertain;
  if (uncertain) {
    throw new MultiPopError(
      'IDENTITY_UNCERTAIN',
      `The server changed the UIDLs of ${uncertain.lost} of ${uncertain.known} collected messages and ` +
        `${uncertain.unconfirmed} could not be matched by size and header; the mailbox is paused until an ` +
        'administrator resolves it (rekey-matching or collect-as-new)',
      { mailboxId: input.mailboxId, ...uncertain },
    );
  }
  return outcome;
}

/**
 * Fetches `TOP n 0` for `messages` (pipelined by the client where the server allows) into
 * `fingerprints`. Returns false when the server refuses TOP, so no further rounds are tried.
 */
async function probe(
  client: Pop3ClientApi,
  messages: readonly number[],
  fingerprints: Map<number, string>,
): Promise<boolean> {
  let refused = false;
  const heads = await Promise.all(
    messages.map((msg) =>
      client.top(msg, 0).catch((err: unknown) => {
        if (isMultiPopError(err) && (err.code === 'SERVER_ERROR' || err.code === 'UNSUPPORTED')) {
          refused = true;
          return undefined;
        }
        throw err;
      }),
    ),
  );
  messages.forEach((msg, i) => {
    const head = heads[i];
    if (head !== undefined) fingerprints.set(msg, headerFingerprint(head));
  });
  return !refused;
}
