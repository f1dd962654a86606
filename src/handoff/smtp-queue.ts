import { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { MultiPopError } from '../errors/index.js';
import { createLog, type Logger } from '../log/index.js';
import { keyedSerial } from '../ports/group-commit.js';
import type { EnqueueResult, LocalQueue, QueuedMessage } from '../ports/index.js';
import { type SendReply, SmtpSessionPool } from './smtp-pool.js';

/** Options of {@link smtpQueue}. */
export interface SmtpQueueOptions {
  host: string;
  port: number;
  /**
   * `true` speaks LMTP (RFC 2033: per-recipient status after DATA), e.g. to Dovecot's
   * `dovecot-lmtpd` or Postfix's `lmtp` service. `false` speaks SMTP.
   * @default false
   */
  lmtp?: boolean;
  /** Implicit TLS (SMTPS). @default false */
  secure?: boolean;
  /** Options for `tls.connect` (CA of a private server). Verification stays on unless you turn it off here. */
  tls?: ConnectionOptions;
  /** SMTP AUTH credentials for a submission port. */
  auth?: { user: string; pass: string };
  /** The name we greet with (LHLO/EHLO). @default 'multipop.localhost' */
  name?: string;
  /**
   * The envelope sender: `'return-path'` takes it from the message's `Return-Path:` header (the
   * original envelope sender, preserved where the remote server kept it), falling back to the
   * null sender; a string is used as it is.
   * @default 'return-path'
   */
  envelopeFrom?: 'return-path' | string;
  /** The local recipient the MTA delivers to. @default message.recipient */
  recipientFor?: (message: QueuedMessage) => string;
  /**
   * A header carrying the idempotency key, prepended to the message, so the host can drop a
   * second copy offered after a crash (see docs/crash-safety.md). `false` adds none.
   * @default 'X-MultiPOP-Key'
   */
  keyHeader?: string | false;
  /** Connection and inactivity timeout in ms. @default 60000 */
  timeoutMs?: number;
  /**
   * Connections (SMTP/LMTP sessions) open at once, shared by every session of the fetcher; each
   * carries one message at a time and many messages one after another.
   * @default 4
   */
  maxConnections?: number;
  /** An idle connection is closed (QUIT) after this many ms. @default 10000 */
  idleTimeoutMs?: number;
  /** A connection is replaced by a fresh one after this many messages. @default 100 */
  maxMessagesPerConnection?: number;
  logger?: Logger;
}

/** The {@link LocalQueue} {@link smtpQueue} returns: it holds connections, so it can be closed. */
export interface SmtpQueue extends LocalQueue {
  /**
   * Closes the idle connections; a message being handed off finishes first. An `enqueue` after
   * `close()` rejects with `QUEUE_REJECTED`. Idle connections never keep the process alive, so
   * a host that exits without calling it loses nothing.
   */
  close(): Promise<void>;
}

/**
 * A {@link LocalQueue} that hands each message to the host's own MTA over LMTP or SMTP, so the
 * host's filters and autoresponders run on it. The message is streamed (never buffered whole);
 * `enqueue` resolves only on the server's final 2xx for the recipient (LMTP: that recipient's
 * own reply after DATA) — in the same tick, with nothing sent or awaited after it — and rejects
 * with `QUEUE_REJECTED` on any 4xx/5xx or when no final reply came (the collector then leaves
 * the message on the remote server).
 *
 * Connections are reused: a small pool (`maxConnections`) carries the messages of every session
 * one transaction after another, with MAIL, RCPT and DATA pipelined where the server offers it.
 * A refusal rejects that message only; a connection that breaks is never reused, and a message
 * is sent again on a fresh connection only when not one byte of it had been sent.
 *
 * Delivery is at least once: a crash after the server's reply and before the ledger records
 * the message, or a reply lost with the connection, makes the collector offer it again. Make it
 * exactly once in the MTA, keyed on the `keyHeader` (docs/lmtp-exactly-once.md).
 *
 * Built on nodemailer's SMTP connection class.
 *
 * @example
 * ```ts
 * const queue = smtpQueue({ host: '127.0.0.1', port: 24, lmtp: true });
 * const fetcher = new MultiPopFetcher({ directory, ledger, queue });
 * // at shutdown, after fetcher.stop():
 * await queue.close();
 * ```
 */
export function smtpQueue(options: SmtpQueueOptions): SmtpQueue {
  const log = createLog(options.logger, { component: 'smtp-queue', host: options.host, port: options.port });
  const keyHeader = options.keyHeader ?? 'X-MultiPOP-Key';
  const protocol = options.lmtp ? 'LMTP' : 'SMTP';
  const maxConnections = options.maxConnections ?? 4;
  const pool = new SmtpSessionPool({
    host: options.host,
    port: options.port,
    lmtp: options.lmtp ?? false,
    secure: options.secure ?? false,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.auth ? { auth: options.auth } : {}),
    name: options.name ?? 'multipop.localhost',
    timeoutMs: options.timeoutMs ?? 60_000,
    maxConnections,
    idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    maxTransactions: options.maxMessagesPerConnection ?? 100,
  });
  /**
   * One delivery per recipient at a time: concurrent LMTP deliveries to one user lose entries of
   * Dovecot's per-user duplicate database (the Sieve `duplicate` recipe then lets a second copy
   * through — seen in the LMTP crash suite once a session enqueued several messages at once).
   * Different recipients still go out in parallel.
   */
  const oneAtATime = keyedSerial();
  return {
    async enqueue(message: QueuedMessage): Promise<EnqueueResult> {
      const recipient = (options.recipientFor ?? ((m) => m.recipient))(message);
      return oneAtATime(recipient, () => deliver(message, recipient));
    },
    close: () => pool.close(),
  };

  async function deliver(message: QueuedMessage, recipient: string): Promise<EnqueueResult> {
    const from = await envelopeSender(options.envelopeFrom ?? 'return-path', message);
    const header =
      keyHeader === false ? undefined : Buffer.from(`${keyHeader}: ${message.idempotencyKey}\r\n`, 'latin1');
    let reply: SendReply;
    try {
      // Every idle connection may have gone stale at once (the MTA restarted): one more attempt
      // than there are connections reaches a fresh one.
      reply = await transact(
        pool,
        { from, to: recipient },
        () => lazyContent(header, message.content),
        maxConnections + 1,
      );
      if (!reply.accepted) throw reply.rejection ?? new Error(reply.response);
    } catch (err) {
      message.content.destroy();
      const smtp = err as { responseCode?: number; response?: string };
      throw new MultiPopError(
        'QUEUE_REJECTED',
        `The ${protocol} server did not accept the message for ${recipient}` +
          (smtp.responseCode ? ` (${smtp.responseCode})` : ''),
        {
          uidl: message.uidl,
          ...(smtp.responseCode ? { smtpCode: smtp.responseCode } : {}),
          ...(smtp.response ? { response: smtp.response } : {}),
        },
        { cause: err },
      );
    }
    log.debug({ uidl: message.uidl, recipient, response: reply.response }, 'handed off');
    return { id: queueIdFrom(reply.response) ?? message.idempotencyKey };
  }
}

/** A reused connection failed before the message's first byte went out: try a fresh one. */
class SentNothing {
  constructor(readonly cause: unknown) {}
}

/**
 * One message through the pool. A connection that was idle may have been closed by the server
 * meanwhile; when such a reused connection fails and not one byte of the message was read, the
 * server cannot have taken it, so it goes again on another connection (each stale one is closed
 * on the way, so this ends after at most `maxAttempts`). Any other failure is final: the message
 * may or may not have been delivered, and only the collector's next offer (same key) repeats it.
 */
async function transact(
  pool: SmtpSessionPool,
  envelope: { from: string | false; to: string },
  makeContent: () => LazyContent,
  maxAttempts: number,
): Promise<SendReply> {
  for (let attempt = 1; ; attempt++) {
    const content = makeContent();
    try {
      return await pool.withSession(async (session) => {
        const reused = session.transactions > 0;
        try {
          return { result: await session.send(envelope, content.stream), reusable: true };
        } catch (err) {
          throw reused && attempt < maxAttempts && !content.started() ? new SentNothing(err) : err;
        }
      });
    } catch (err) {
      if (!(err instanceof SentNothing)) throw err;
    }
  }
}

interface LazyContent {
  stream: Readable;
  /** Whether anything was read from the message yet. */
  started(): boolean;
}

async function envelopeSender(setting: string, message: QueuedMessage): Promise<string | false> {
  if (setting !== 'return-path') return setting;
  const meta = await message.metadata();
  return meta.returnPath && meta.returnPath.length > 0 ? meta.returnPath : false;
}

/**
 * The bytes to send: the key header (if any), then the message. Nothing is read from the
 * message until the server asks for the content (after its 354), so a stream that is dropped
 * unread leaves the message untouched for another attempt.
 */
function lazyContent(header: Buffer | undefined, body: Readable): LazyContent {
  let started = false;
  async function* chain() {
    started = true;
    if (header) yield header;
    for await (const chunk of body) yield chunk as Buffer;
  }
  return { stream: Readable.from(chain(), { objectMode: false }), started: () => started };
}

/** Postfix and Dovecot put the queue id or session id into the final reply text. */
function queueIdFrom(response: string): string | undefined {
  const match = /(?:queued as|Saved|Ok:?)\s+([A-Za-z0-9+/=._-]{4,})/i.exec(response);
  return match?.[1];
}
