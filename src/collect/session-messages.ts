import { MultiPopError } from '../errors/index.js';
import type { Pop3ClientApi, Pop3MessageStream } from '../pop3/api.js';
import { groupCommit, type LedgerChange, type LedgerRecord } from '../ports/index.js';
import type { EventMailbox } from './events.js';
import { idempotencyKey } from './idempotency.js';
import { headerFingerprint } from './message-identity.js';
import { buildQueuedContent, type QueuedContent } from './message-pipeline.js';
import type { EffectivePolicy } from './policy.js';
import type { SessionOptions } from './session-api.js';
import { traceHeader } from './trace-header.js';

/** How many RETR commands the session keeps in flight ahead of the message being stored. */
const RETR_WINDOW = 16;
/**
 * How many messages of one session may wait for their queue acceptance (its syncs) at once. The
 * bodies still stream one after another (POP3 answers in order); what overlaps is each queue's
 * durable step, so a queue that shares syncs between concurrent enqueues (group commit) pays
 * them once per batch, and the ledger records the batch in one write.
 */
const ENQUEUE_WINDOW = 16;

/** What {@link collectMessages} needs beyond the session's options. */
export interface CollectContext extends SessionOptions {
  now: () => number;
  policy: EffectivePolicy;
  address: { host: string; port: number; tls: string };
  mailbox: EventMailbox;
  /** The ledger as the identity step left it (re-keyed, reused UIDLs recorded). */
  records: ReadonlyMap<string, LedgerRecord>;
  /** Sends the DELE of a message the ledger now durably holds as collected (delete mode). */
  onDeleted: (msg: number, uidl: string) => void;
}

/** What {@link collectMessages} did. */
export interface CollectOutcome {
  /** Messages recorded in the ledger as collected. */
  count: number;
  /** Their original bytes. */
  bytes: number;
  /** A queue rejection ends the fetching but still lets the session DELE and QUIT cleanly. */
  stoppedBy?: MultiPopError;
}

type PlannedMessage = { msg: number; uidl: string; size: number };

/** A message the queue accepted, waiting for its share of a ledger write. */
interface Accepted {
  item: PlannedMessage;
  changes: LedgerChange[];
  bytes: number;
}

/**
 * Streams each planned message into the queue, keeping up to {@link RETR_WINDOW} RETRs in
 * flight (the client pipelines them when the server allows) and up to {@link ENQUEUE_WINDOW}
 * messages waiting for their queue acceptance.
 *
 * The batched order: a message joins the ledger batch only once the queue resolved for it
 * ("durably accepted"); a batch is every message accepted since the previous ledger write began,
 * recorded in **one** `ledger.apply` (collected, plus deletePending in delete mode); the DELEs
 * of a batch go out only once that write resolved (durable). A refusal, a failure or an abort
 * stops fetching; the messages in flight finish and are recorded before this returns or throws,
 * so whatever the queue accepted is in the ledger (unless the ledger write itself failed).
 */
export async function collectMessages(
  client: Pop3ClientApi,
  toFetch: readonly PlannedMessage[],
  ctx: CollectContext,
): Promise<CollectOutcome> {
  const deleteAfterCollect = !ctx.policy.leaveOnServer;
  let count = 0;
  let bytes = 0;

  const inFlight: Promise<Pop3MessageStream>[] = [];
  let next = 0;
  const request = () => {
    const item = toFetch[next++];
    if (!item) return;
    const body = client.retr(item.msg);
    // Attach a handler now so a failure of a look-ahead RETR is never an unhandled rejection;
    // the error is still thrown when that message's turn comes.
    body.catch(() => undefined);
    inFlight.push(body);
  };
  for (let i = 0; i < RETR_WINDOW; i++) request();

  const accepted: Accepted[] = [];
  // One ledger write in progress per session and one gathering: a message accepted while a write
  // runs goes into the next one, which starts as soon as the running one ends.
  const recordBatch = groupCommit(async () => {
    const batch = accepted.splice(0);
    if (batch.length === 0) return;
    await ctx.ledger.apply(
      ctx.entry.id,
      batch.flatMap((b) => b.changes),
    );
    for (const b of batch) {
      count++;
      bytes += b.bytes;
      if (deleteAfterCollect) ctx.onDeleted(b.item.msg, b.item.uidl);
    }
  });
  const record = (entry: Accepted) => {
    accepted.push(entry);
    return recordBatch();
  };

  const storing = new Set<Promise<void>>();
  let stoppedBy: MultiPopError | undefined;
  let failure: { error: unknown } | undefined;
  const track = (task: Promise<MultiPopError | undefined>) => {
    const settled = task.then(
      (rejected) => {
        stoppedBy ??= rejected;
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    storing.add(settled);
    void settled.then(() => storing.delete(settled));
  };
  try {
    for (const item of toFetch) {
      // Graceful stop, a refusal or a failure: the messages in flight finish (and are recorded);
      // the RETRs sent ahead are drained so the session can DELE and QUIT.
      if (ctx.signal?.aborted || stoppedBy || failure) break;
      const body = await inFlight.shift()!;
      request();
      track(storeOne(item, body, ctx, record));
      while (storing.size >= ENQUEUE_WINDOW) await Promise.race(storing);
    }
  } catch (error) {
    failure ??= { error };
  }
  await Promise.all(storing);
  await drainRemaining(inFlight);
  if (failure) throw failure.error;
  return stoppedBy ? { count, bytes, stoppedBy } : { count, bytes };
}

/**
 * One message: into the queue (or found there already), then its share of a ledger batch.
 * Resolves once the batch holding it is durable; a refusal by the queue comes back as the
 * error to stop the session with; anything else (a broken connection, a failed ledger write)
 * throws.
 */
async function storeOne(
  item: PlannedMessage,
  body: Pop3MessageStream,
  ctx: CollectContext,
  record: (entry: Accepted) => Promise<void>,
): Promise<MultiPopError | undefined> {
  const { entry, queue, mailbox } = ctx;
  // A record not collected yet but fingerprinted is a UIDL the server reused for this message:
  // the fingerprint keeps its key apart from the earlier message's.
  const known = ctx.records.get(item.uidl);
  const key = idempotencyKey(
    entry.id,
    item.uidl,
    item.size,
    known && !known.collected ? known.fingerprint : undefined,
  );
  let fingerprint: string | undefined;
  let bytes = 0;
  if (queue.has && (await queue.has(key))) {
    // Read the body to its end (for the fingerprint, and to keep the pipeline in step); a body
    // whose connection already failed settles here with that failure instead of hanging.
    const drained = buildQueuedContent(body, { trace: Buffer.alloc(0) });
    drained.content.resume();
    await drained.done().catch((err: unknown) => {
      throw drained.sourceError() ?? err;
    });
    fingerprint = await fingerprintOf(drained);
    ctx.log.info({ uidl: item.uidl }, 'message already in the local queue; recording it as collected');
  } else {
    const built = buildQueuedContent(body, {
      trace: traceHeader({
        mailboxId: entry.id,
        host: ctx.address.host,
        port: ctx.address.port,
        username: entry.username,
        uidl: item.uidl,
        recipient: ctx.userId,
        at: new Date(ctx.now()),
        tls: ctx.address.tls !== 'none',
      }),
      onProgress: (received) =>
        ctx.emit('message:progress', { ...mailbox, uidl: item.uidl, bytes: received, size: item.size }),
    });
    let queueId: string;
    try {
      const result = await queue.enqueue({
        content: built.content,
        remoteSize: item.size,
        recipient: ctx.userId,
        source: {
          mailboxId: entry.id,
          host: ctx.address.host,
          port: ctx.address.port,
          username: entry.username,
        },
        uidl: item.uidl,
        idempotencyKey: key,
        metadata: built.metadata,
      });
      queueId = result.id;
    } catch (err) {
      built.content.destroy();
      // A broken connection mid-body shows up as the queue's rejection; report the cause.
      const transport = built.sourceError();
      if (transport) throw transport;
      const rejected = new MultiPopError(
        'QUEUE_REJECTED',
        `The local queue did not accept message ${item.uidl}; it stays on the server`,
        { mailboxId: entry.id, uidl: item.uidl },
        { cause: err },
      );
      ctx.log.warn({ err: rejected }, 'queue rejected a message');
      return rejected;
    }
    // The queue said yes; make sure it also read the whole message before we record it.
    const summary = await built.done().catch((err: unknown) => {
      throw (
        built.sourceError() ??
        new MultiPopError(
          'QUEUE_REJECTED',
          'The local queue accepted a message it did not read to the end',
          { mailboxId: entry.id, uidl: item.uidl },
          { cause: err },
        )
      );
    });
    bytes = summary.bytes;
    fingerprint = await fingerprintOf(built);
    ctx.emit('message:collected', { ...mailbox, uidl: item.uidl, size: summary.bytes, queueId });
  }
  const changes: LedgerChange[] = [
    {
      type: 'collected',
      uidl: item.uidl,
      at: ctx.now(),
      size: item.size,
      ...(fingerprint === undefined ? {} : { fingerprint }),
    },
  ];
  if (!ctx.policy.leaveOnServer) changes.push({ type: 'deletePending', uidl: item.uidl });
  await record({ item, changes, bytes });
  return undefined;
}

/** Destroys the bodies of the RETRs sent ahead, so the connection reads and drops them. */
async function drainRemaining(inFlight: Promise<Pop3MessageStream>[]): Promise<void> {
  for (const pending of inFlight.splice(0)) {
    try {
      const body = await pending;
      body.destroy();
    } catch {
      // A look-ahead RETR that failed has nothing to drain.
    }
  }
}

/** The header fingerprint of a message read to its end, or undefined when its header block was cut short. */
async function fingerprintOf(content: QueuedContent): Promise<string | undefined> {
  const header = await content.headerBlock();
  return header.complete ? headerFingerprint(header.bytes) : undefined;
}
