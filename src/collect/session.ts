import { parseServer } from '../config/index.js';
import { isMultiPopError, MultiPopError, toMultiPopError } from '../errors/index.js';
import type { Pop3ConnectOptions } from '../pop3/api.js';
import { Pop3Client } from '../pop3/client.js';
import type { LedgerChange } from '../ports/index.js';
import type { CollectorEventSink, CollectorEvents, EventMailbox } from './events.js';
import { identifyAndPlan } from './identify.js';
import type { IdentityOutcome } from './identity.js';
import { isServerUidl, readListing } from './listing.js';
import type { Plan } from './plan.js';
import { type EffectivePolicy, effectivePolicy } from './policy.js';
import type { SessionOptions, SessionResult } from './session-api.js';
import { collectMessages } from './session-messages.js';

/**
 * Collects one remote mailbox once: connect → authenticate → UIDL + LIST → identify (TOP n 0
 * where needed) → plan → RETRs pipelined, each message into the queue, accepted messages recorded
 * in batches (one ledger write each) → their DELEs → QUIT → ledger (see `collectMessages`).
 *
 * The crash-safety order: a message is marked collected only after the queue resolved, and a
 * DELE is sent only for messages the ledger durably holds as collected (or as over-size under
 * `settings.deleteOversized`). Deletions are forgotten only after the server answered `+OK` to QUIT; until then they
 * stay pending and are re-issued by the next session. A crash between "queue accepted" and
 * "ledger written" is the one window in which a message can be offered again — with the same
 * idempotency key, so an idempotent queue (or `queue.has`) drops the second copy.
 *
 * Stops early (after the messages in flight are stored and recorded, then DELE + QUIT) when
 * `signal` aborts.
 *
 * @throws MultiPopError with the failure's code; everything the queue accepted before the
 *   failure is in the ledger, and nothing the queue did not accept was deleted.
 */
export async function runSession(options: SessionOptions): Promise<SessionResult> {
  try {
    return await runSessionOnce(options);
  } catch (err) {
    // An OAuth provider that found its token rejected forces a refresh and asks for one
    // reconnect: many servers end the connection after a failed AUTH.
    if (isMultiPopError(err) && err.context['retryWithFreshToken'] === true) {
      options.log.info({ code: err.code }, 'retrying session once with a fresh token');
      return runSessionOnce(options);
    }
    throw err;
  }
}

async function runSessionOnce(options: SessionOptions): Promise<SessionResult> {
  const { entry, userId, settings, ledger, log, signal } = options;
  const now = options.now ?? Date.now;
  // What the session did so far, for the session:end of a session that fails part-way.
  const soFar = { collected: 0, bytes: 0, skipped: 0, deleted: 0, onServer: 0 };
  let ended = false;
  const emit: CollectorEventSink = (name, payload) => {
    if (name === 'message:collected') {
      soFar.collected++;
      soFar.bytes += (payload as CollectorEvents['message:collected']).size;
    } else if (name === 'message:skipped') soFar.skipped++;
    else if (name === 'message:deleted') {
      soFar.deleted += (payload as CollectorEvents['message:deleted']).uidls.length;
    } else if (name === 'session:planned') {
      soFar.onServer = (payload as CollectorEvents['session:planned']).onServer;
    } else if (name === 'session:end') ended = true;
    options.emit(name, payload);
  };
  const address = parseServer(entry.server, entry.tls);
  const mailbox: EventMailbox = { userId, mailboxId: entry.id, host: address.host };
  const policy = effectivePolicy(entry, settings);
  const connect = options.connect ?? ((o: Pop3ConnectOptions) => Pop3Client.connect(o));

  throwIfAborted(signal);
  // A stop cuts a session that is still connecting or logging in (there is nothing to finish
  // yet). Once logged in, the client no longer listens to it: the message loop sees the stop
  // between messages and ends the session cleanly (in-flight messages recorded, DELE, QUIT).
  const untilLoggedIn = new AbortController();
  const relayStop = () => untilLoggedIn.abort(signal?.reason);
  signal?.addEventListener('abort', relayStop, { once: true });
  const stopListening = () => signal?.removeEventListener('abort', relayStop);
  let client: Awaited<ReturnType<typeof connect>>;
  try {
    client = await connect({
      host: address.host,
      port: address.port,
      tls: address.tls,
      ...options.connection,
      limits: { ...bodyCap(policy), ...options.connection?.limits },
      logger: log,
      ...(signal ? { signal: untilLoggedIn.signal } : {}),
    });
  } catch (err) {
    stopListening();
    throw err;
  }
  const started = now();
  emit('session:start', { ...mailbox, at: started });
  try {
    try {
      await options.auth.authenticate(client, { userId, entry, log, ...(signal ? { signal } : {}) });
    } finally {
      stopListening();
    }
    const state = await ledger.load(entry.id);
    const listing = await readListing(client, {
      leaveOnServer: policy.leaveOnServer,
      mailboxId: entry.id,
      log,
      uidlWorkedBefore: holdsServerUidls(state),
      ...(settings.identity ? { allowHeaderDigest: settings.identity.allowHeaderDigest } : {}),
    });
    // Who is who (re-keys, reused UIDLs, repeated UIDLs) before anything is planned or changed;
    // throws IDENTITY_UNCERTAIN with the ledger untouched when an administrator must decide.
    const { identity, plan: decided } = await identifyAndPlan(client, {
      listing,
      ledger: state,
      policy,
      now: now(),
      mailboxId: entry.id,
      ...(settings.identity ? { settings: settings.identity } : {}),
      ...(options.identityResolution ? { resolution: options.identityResolution } : {}),
    });
    log.debug(
      {
        onServer: listing.length,
        fetch: decided.fetch.length,
        delete: decided.delete.length,
        skip: decided.skipOversize.length,
      },
      'planned',
    );

    emit('session:planned', {
      ...mailbox,
      toFetch: decided.fetch.length,
      bytesToFetch: decided.fetch.reduce((sum, m) => sum + m.size, 0),
      toDelete: decided.delete.length,
      onServer: listing.length,
    });

    const deleted: { msg: number; uidl: string }[] = [];
    const deletions: Promise<void>[] = [];
    const issueDelete = (msg: number, uidl: string) => {
      deleted.push({ msg, uidl });
      deletions.push(client.dele(msg));
    };

    // One durable transaction before any DELE: re-key and forget what the identity step decided,
    // forget UIDLs gone from the server, remember which over-size messages were reported, and
    // record the deletions the plan decided from the ledger (collected earlier, expired, over-size
    // under `settings.deleteOversized`) as pending so the next session knows.
    const changes = [...identity.changes, ...prunesAndReports(decided, now, emit, mailbox)];
    for (const d of decided.delete) {
      if (d.reason !== 'pending' && !identity.ledger.get(d.uidl)?.deletePending)
        changes.push({ type: 'deletePending', uidl: d.uidl });
    }
    if (changes.length > 0) await ledger.apply(entry.id, changes);
    reportIdentity(identity, emit, log, mailbox);
    for (const d of decided.delete) issueDelete(d.msg, d.uidl);

    const collected = await collectMessages(client, decided.fetch, {
      ...options,
      emit,
      now,
      policy,
      address,
      mailbox,
      records: identity.ledger,
      onDeleted: issueDelete,
    });

    await Promise.all(deletions);
    await client.quit();
    // QUIT answered +OK: the server has committed the deletions.
    if (deleted.length > 0) {
      await ledger.apply(
        entry.id,
        deleted.map((d) => ({ type: 'forget', uidl: d.uidl }) satisfies LedgerChange),
      );
      emit('message:deleted', { ...mailbox, uidls: deleted.map((d) => d.uidl) });
    }
    const result: SessionResult = {
      collected: collected.count,
      bytes: collected.bytes,
      skipped: decided.skipOversize.length,
      deleted: deleted.length,
      onServer: listing.length,
      ...(client.capabilities.loginDelay === undefined
        ? {}
        : { loginDelaySeconds: client.capabilities.loginDelay }),
    };
    emit('session:end', { ...mailbox, at: now(), durationMs: now() - started, ...result });
    if (collected.stoppedBy) throw collected.stoppedBy;
    return result;
  } catch (err) {
    client.close();
    const error = toMultiPopError(err, 'STORE_ERROR', 'Collection failed', { mailboxId: entry.id });
    // The same sequence as a success: every session:start has one session:end, here with the error.
    if (!ended) emit('session:end', { ...mailbox, at: now(), durationMs: now() - started, ...soFar, error });
    throw error;
  }
}

/**
 * With a size limit (`entry.maxMessageSizeKb`) in force, a body may not grow far past it whatever LIST announced: a
 * server that lies about sizes (or never ends a body) is cut off with `LIMIT_EXCEEDED` instead
 * of filling the queue. Twice the limit plus 64 KB leaves room for honest miscounts.
 */
function bodyCap(policy: EffectivePolicy): { maxMessageSize?: number } {
  return policy.maxMessageSize > 0 ? { maxMessageSize: policy.maxMessageSize * 2 + 65_536 } : {};
}

/** Whether the ledger holds ids the server's UIDL gave (so a -ERR to UIDL is a failure, not "no UIDL"). */
function holdsServerUidls(records: ReadonlyMap<string, unknown>): boolean {
  for (const uidl of records.keys()) if (isServerUidl(uidl)) return true;
  return false;
}

/** Events and log lines for what the identity step found. */
function reportIdentity(
  identity: IdentityOutcome,
  emit: SessionOptions['emit'],
  log: SessionOptions['log'],
  mailbox: EventMailbox,
): void {
  if (identity.duplicates.length > 0) {
    log.warn({ uidls: identity.duplicates }, 'the server listed UIDLs more than once');
    emit('mailbox:duplicate-uidls', { ...mailbox, uidls: identity.duplicates });
  }
  if (identity.rekeyed.length > 0 || identity.reused.length > 0) {
    const event = {
      ...mailbox,
      mass: identity.mass,
      rekeyed: identity.rekeyed.map(({ from, to }) => ({ from, to })),
      reused: identity.reused,
    };
    log.warn(
      { mass: event.mass, rekeyed: event.rekeyed.length, reused: event.reused.length },
      'the server changed message ids: ledger re-keyed, reused ids collected as new messages',
    );
    emit('mailbox:uidls-changed', event);
  }
}

/** Ledger changes for UIDLs gone from the server and for over-size messages reported now (once). */
function prunesAndReports(
  decided: Plan,
  now: () => number,
  emit: SessionOptions['emit'],
  mailbox: EventMailbox,
): LedgerChange[] {
  const changes: LedgerChange[] = decided.prune.map((uidl) => ({ type: 'forget', uidl }));
  for (const skip of decided.skipOversize) {
    if (!skip.report) continue;
    changes.push({ type: 'oversizeReported', uidl: skip.uidl, at: now() });
    emit('message:skipped', { ...mailbox, uidl: skip.uidl, size: skip.size, reason: 'too-large' });
  }
  return changes;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MultiPopError('ABORTED', 'Collection was stopped before it began');
}
