import { Readable } from 'node:stream';
import type { MessageMetadata, QueuedMessage } from '../../ports/index.js';

/** Input of {@link makeQueuedMessage}. */
export interface QueuedMessageInput {
  /** The bytes (one chunk each for a Buffer; the chunks as given for an array), or a stream. */
  content: Buffer | readonly Buffer[] | Readable;
  idempotencyKey?: string;
  recipient?: string;
  uidl?: string;
  mailboxId?: string;
  /** Defaults to the byte length when `content` is bytes, else 0. */
  remoteSize?: number;
}

/**
 * Builds a {@link QueuedMessage} as the collector would hand it to a queue — for queue tests.
 * `metadata()` reads Message-ID, From, Subject and Date from an unfolded header block when the
 * content was given as bytes.
 *
 * @example
 * ```ts
 * const message = makeQueuedMessage({ content: Buffer.from('Subject: hi\r\n\r\nbody\r\n'), idempotencyKey: 'k1' });
 * await queue.enqueue(message);
 * ```
 */
export function makeQueuedMessage(input: QueuedMessageInput): QueuedMessage {
  const bytes = Buffer.isBuffer(input.content)
    ? input.content
    : Array.isArray(input.content)
      ? Buffer.concat(input.content as readonly Buffer[])
      : undefined;
  const content =
    input.content instanceof Readable
      ? input.content
      : Readable.from(
          Buffer.isBuffer(input.content) ? [input.content] : [...(input.content as readonly Buffer[])],
          { objectMode: false },
        );
  const mailboxId = input.mailboxId ?? 'contract-mailbox';
  const uidl = input.uidl ?? 'contract-uidl';
  return {
    content,
    remoteSize: input.remoteSize ?? bytes?.length ?? 0,
    recipient: input.recipient ?? 'contract-user@example.com',
    source: { mailboxId, host: 'pop.example.net', port: 995, username: 'contract' },
    uidl,
    idempotencyKey: input.idempotencyKey ?? `${mailboxId}/${uidl}`,
    metadata: async () => (bytes ? headerMetadata(bytes) : {}),
  };
}

function headerMetadata(bytes: Buffer): MessageMetadata {
  const end = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, end === -1 ? bytes.length : end).toString('latin1');
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1]?.trim();
  const metadata: MessageMetadata = {};
  const messageId = field('Message-ID');
  const from = field('From');
  const subject = field('Subject');
  const date = field('Date');
  if (messageId) metadata.messageId = messageId;
  if (from) metadata.from = from;
  if (subject) metadata.subject = subject;
  if (date && !Number.isNaN(Date.parse(date))) metadata.date = new Date(date);
  return metadata;
}
