import { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { MultiPopError } from '../errors/index.js';
import { createLog, type Logger } from '../log/index.js';
import type { EnqueueResult, LocalQueue, QueuedMessage } from '../ports/index.js';

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
  logger?: Logger;
}

/**
 * A {@link LocalQueue} that hands each message to the host's own MTA over LMTP or SMTP, so the
 * host's filters and autoresponders run on it. The message is streamed (never buffered whole);
 * `enqueue` resolves only on the server's final 2xx for the recipient (LMTP: that recipient's
 * status after DATA) and rejects with `QUEUE_REJECTED` on any 4xx/5xx or connection failure —
 * the collector then leaves the message on the remote server.
 *
 * Built on nodemailer's SMTP connection class.
 *
 * @example
 * ```ts
 * const queue = smtpQueue({ host: '127.0.0.1', port: 24, lmtp: true });
 * const fetcher = new MultiPopFetcher({ directory, ledger, queue });
 * ```
 */
export function smtpQueue(options: SmtpQueueOptions): LocalQueue {
  const log = createLog(options.logger, { component: 'smtp-queue', host: options.host, port: options.port });
  const keyHeader = options.keyHeader ?? 'X-MultiPOP-Key';
  return {
    async enqueue(message: QueuedMessage): Promise<EnqueueResult> {
      const recipient = (options.recipientFor ?? ((m) => m.recipient))(message);
      const from = await envelopeSender(options.envelopeFrom ?? 'return-path', message);
      const content =
        keyHeader === false
          ? message.content
          : prepend(`${keyHeader}: ${message.idempotencyKey}\r\n`, message.content);
      try {
        const response = await deliver(options, { from, to: recipient }, content);
        log.debug({ uidl: message.uidl, recipient, response }, 'handed off');
        return { id: queueIdFrom(response) ?? message.idempotencyKey };
      } catch (err) {
        message.content.destroy();
        const smtp = err as { responseCode?: number; response?: string; code?: string };
        throw new MultiPopError(
          'QUEUE_REJECTED',
          `The ${options.lmtp ? 'LMTP' : 'SMTP'} server did not accept the message for ${recipient}` +
            (smtp.responseCode ? ` (${smtp.responseCode})` : ''),
          {
            uidl: message.uidl,
            ...(smtp.responseCode ? { smtpCode: smtp.responseCode } : {}),
            ...(smtp.response ? { response: smtp.response } : {}),
          },
          { cause: err },
        );
      }
    },
  };
}

async function envelopeSender(setting: string, message: QueuedMessage): Promise<string | false> {
  if (setting !== 'return-path') return setting;
  const meta = await message.metadata();
  return meta.returnPath && meta.returnPath.length > 0 ? meta.returnPath : false;
}

function prepend(text: string, body: Readable): Readable {
  async function* chain() {
    yield Buffer.from(text, 'latin1');
    for await (const chunk of body) yield chunk as Buffer;
  }
  return Readable.from(chain(), { objectMode: false });
}

/** Postfix and Dovecot put the queue id or session id into the final reply text. */
function queueIdFrom(response: string): string | undefined {
  const match = /(?:queued as|Saved|Ok:?)\s+([A-Za-z0-9+/=._-]{4,})/i.exec(response);
  return match?.[1];
}

function deliver(
  options: SmtpQueueOptions,
  envelope: { from: string | false; to: string },
  content: Readable,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timeout = options.timeoutMs ?? 60_000;
    const connection = new SMTPConnection({
      host: options.host,
      port: options.port,
      lmtp: options.lmtp ?? false,
      secure: options.secure ?? false,
      name: options.name ?? 'multipop.localhost',
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    let settled = false;
    const finish = (err: Error | null, response?: string) => {
      if (settled) return;
      settled = true;
      if (err) {
        connection.close();
        content.destroy();
        reject(err);
      } else {
        connection.quit();
        resolve(response ?? '');
      }
    };
    connection.on('error', (err: Error) => finish(err));
    // A source stream that fails mid-message must abort the transaction, never complete it.
    content.once('error', (err) => finish(err));
    connection.connect(() => {
      const send = () =>
        connection.send(
          { from: envelope.from, to: [envelope.to], use8BitMime: true },
          content,
          (err, info) => {
            if (err) return finish(err);
            if (!info?.accepted.includes(envelope.to)) {
              const rejected =
                info?.rejectedErrors?.[0] ?? new Error(`recipient ${envelope.to} was rejected`);
              return finish(rejected);
            }
            finish(null, info.response);
          },
        );
      if (options.auth) {
        connection.login({ user: options.auth.user, pass: options.auth.pass }, (err) =>
          err ? finish(err) : send(),
        );
      } else {
        send();
      }
    });
  });
}
