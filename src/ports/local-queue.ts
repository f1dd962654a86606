import type { Readable } from 'node:stream';

/** Where a collected message came from. */
export interface MessageSource {
  /** The mailbox entry id (stable). */
  mailboxId: string;
  host: string;
  port: number;
  /** The remote logon name. */
  username: string;
}

/** Header fields a host may want without parsing the message itself. */
export interface MessageMetadata {
  messageId?: string;
  from?: string;
  subject?: string;
  date?: Date;
  /** The envelope sender the remote server recorded (`Return-Path:`), without angle brackets. */
  returnPath?: string;
}

/** One message handed to the host's queue. */
export interface QueuedMessage {
  /**
   * The raw bytes: the library's trace header(s), then the message exactly as the remote server
   * holds it (CRLF line ends kept, 8-bit bytes untouched). Consume it once; back-pressure
   * reaches the remote socket.
   */
  content: Readable;
  /** The size the remote server announced (LIST), in bytes, without our trace header. */
  remoteSize: number;
  /** The local recipient (the user id). */
  recipient: string;
  source: MessageSource;
  /** The remote UIDL of the message (or the fallback id where the server has no UIDL). */
  uidl: string;
  /**
   * Stable across retries and restarts for the same remote message: a queue that sees the
   * same key twice must accept it once (this closes the last duplicate window after a crash).
   */
  idempotencyKey: string;
  /**
   * Set by a collector of a fleet (`multipop/bullmq`): the queue calls it right before its point
   * of no return — the moment the message becomes delivered (the Maildir queue: just before the
   * rename into `new/`) — and, when it rejects, does not deliver the message and rejects the
   * enqueue. It verifies that the worker still owns the mailbox, so a worker that paused in the
   * middle of a hand-off and lost the mailbox to another worker cannot deliver a second copy.
   * `maildirQueue` and `memoryQueue` call it; a host queue should call it just before it commits.
   */
  beforeCommit?: () => Promise<void>;
  /** Reads Message-ID, From, Subject, Date and Return-Path from the header block (only when called; no MIME parser). */
  metadata(): Promise<MessageMetadata>;
}

/** What a queue returns once it has durably accepted a message. */
export interface EnqueueResult {
  /** The host's id for the queued message (a file name, a queue id). */
  id: string;
}

/**
 * The host's local mail queue — the port through which collected mail enters the host's own
 * processing (content filter, autoresponder, delivery).
 *
 * Contract: `enqueue` resolves only once the message is **durably** accepted (it survives a
 * crash of the host); the library deletes the remote copy on that promise alone. It rejects when
 * the message was not accepted; the message then stays on the remote server. It must consume
 * or destroy `message.content` either way.
 *
 * @example
 * ```ts
 * const queue: LocalQueue = {
 *   async enqueue(message) {
 *     const id = await myMta.submit(message.recipient, message.content, { key: message.idempotencyKey });
 *     return { id };
 *   },
 * };
 * ```
 */
export interface LocalQueue {
  /** Accepts one message durably, or rejects (see the interface comment). */
  enqueue(message: QueuedMessage): Promise<EnqueueResult>;
  /** Optional: whether a message with this idempotency key was already accepted. */
  has?(idempotencyKey: string): Promise<boolean>;
}
