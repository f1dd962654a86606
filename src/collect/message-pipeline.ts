import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MultiPopError } from '../errors/index.js';
import type { MessageMetadata } from '../ports/index.js';
import { HeaderEndScanner } from './header-block.js';
import { parseHeaderMetadata } from './header-metadata.js';

/** Options of {@link buildQueuedContent}. */
export interface QueuedContentOptions {
  /** Bytes put in front of the message (the trace header from `traceHeader()`). */
  trace: Buffer;
  /**
   * Called after each chunk with the number of original bytes received so far. If it throws,
   * the content is destroyed with that error (the message then stays on the server).
   */
  onProgress?: (bytes: number) => void;
  /** Compute the SHA-256 of the original bytes (available from `done()`). @default false */
  sha256?: boolean;
  /** Most header bytes captured for `metadata()`; capture stops beyond. @default 65536 */
  maxHeaderBytes?: number;
  /** High-water mark of `content`, in bytes. @default 65536 */
  highWaterMark?: number;
}

/** The captured header block. */
export interface HeaderCapture {
  /** The header bytes, up to and including the empty line that ends them, at most `maxHeaderBytes`. */
  bytes: Buffer;
  /** False when capture stopped at `maxHeaderBytes` before the header block ended. */
  complete: boolean;
}

/** What the message's original bytes came to, once they have all passed through. */
export interface ContentSummary {
  /** Original bytes (without the trace header). */
  bytes: number;
  /** SHA-256 hex of the original bytes, when `sha256` was asked for. */
  sha256?: string;
}

/** The queue's view of one message being retrieved, and the session's handles on it. */
export interface QueuedContent {
  /** Trace header + original bytes, streamed with back-pressure; for `QueuedMessage.content`. */
  content: Readable;
  /** For `QueuedMessage.metadata` (a bound function: pass it on as is). */
  metadata: () => Promise<MessageMetadata>;
  /** Resolves once the header block is captured (its end seen, the limit hit, or the source ended). */
  headerBlock: () => Promise<HeaderCapture>;
  /** The error the source stream failed with (or a premature close), if it did. */
  sourceError: () => Error | undefined;
  /** Original bytes received so far. */
  bytesRead: () => number;
  /** Resolves when the source ended (all bytes passed to `content`); rejects when it failed or `content` was destroyed first. */
  done: () => Promise<ContentSummary>;
}

const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

/**
 * Wraps a RETR body stream into the content the local queue receives: `trace` followed by the
 * original bytes, unchanged, without buffering the message.
 *
 * Back-pressure: once the header block is captured, a `content` that is not read keeps the
 * source paused, and so the socket. Before that, the source is read ahead regardless — at most
 * `maxHeaderBytes` plus one chunk — so that a queue may `await metadata()` before it starts
 * reading `content` without deadlocking.
 *
 * Errors: a source error destroys `content` with the same error object (the queue's read
 * rejects and it keeps no partial message); a source that closes before its end counts as a
 * `CONNECTION_CLOSED` error. Destroying `content` destroys the source (the POP3 client then
 * discards the rest of the body). `content` carries a no-op `'error'` listener, so a failure
 * before the queue attached its own cannot crash the process; readers still see the error
 * (`pipeline`, async iteration and `finished` report it).
 *
 * @example
 * ```ts
 * const built = buildQueuedContent(await client.retr(msg), { trace: traceHeader(info) });
 * await queue.enqueue({ ...envelope, content: built.content, metadata: built.metadata });
 * ```
 */
export function buildQueuedContent(source: Readable, options: QueuedContentOptions): QueuedContent {
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const hash: Hash | undefined = options.sha256 ? createHash('sha256') : undefined;
  const scanner = new HeaderEndScanner();
  const headerChunks: Buffer[] = [];
  let headerLength = 0;
  let bytes = 0;
  let sourceEnded = false;
  let sourceFailure: Error | undefined;
  // True while *we* paused the source for back-pressure (and so must resume it on _read).
  let pausedForBackPressure = false;

  const header = deferred<HeaderCapture>();
  const summary = deferred<ContentSummary>();

  const content = new Readable({
    highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    read() {
      if (pausedForBackPressure) {
        pausedForBackPressure = false;
        source.resume();
      }
    },
    destroy(error, callback) {
      detach();
      if (!sourceEnded && !source.destroyed) source.destroy();
      const reason =
        error ?? new MultiPopError('ABORTED', 'The message content was destroyed before the message ended');
      header.reject(reason);
      summary.reject(reason);
      callback(error);
    },
  });
  // Keeps an error before the consumer attached its listeners from becoming an uncaught
  // exception; consumers still observe it through `errored`, pipeline, finished and iteration.
  content.on('error', () => {});

  const onData = (chunk: Buffer | string) => {
    if (typeof chunk === 'string') {
      // Decoded text has already lost the original bytes; refuse rather than deliver it altered.
      fail(new TypeError('The message source yields strings, not bytes (was setEncoding called on it?)'));
      return;
    }
    const buffer = chunk;
    bytes += buffer.length;
    hash?.update(buffer);
    if (!header.settled) capture(buffer);
    if (options.onProgress) {
      try {
        options.onProgress(bytes);
      } catch (err) {
        content.destroy(err instanceof Error ? err : new Error(String(err)));
        return;
      }
    }
    // While the header block is still being captured, read on regardless (bounded by
    // maxHeaderBytes); afterwards a full content buffer pauses the source.
    if (!content.push(buffer) && header.settled) {
      pausedForBackPressure = true;
      source.pause();
    }
  };

  const capture = (chunk: Buffer) => {
    const room = maxHeaderBytes - headerLength;
    const window = chunk.length > room ? chunk.subarray(0, room) : chunk;
    const end = scanner.scan(window);
    const taken = end === -1 ? window : window.subarray(0, end);
    headerChunks.push(taken);
    headerLength += taken.length;
    if (end !== -1) settleHeader(true);
    // Cut short only once a byte past the limit arrives: a block that ends (or a message that
    // ends) exactly at the limit is still complete.
    else if (chunk.length > room) settleHeader(false);
  };

  const settleHeader = (complete: boolean) => {
    header.resolve({ bytes: Buffer.concat(headerChunks, headerLength), complete });
    headerChunks.length = 0;
  };

  const onEnd = () => {
    sourceEnded = true;
    detach();
    // A message without an empty line is all header: what was captured is its header block.
    if (!header.settled) settleHeader(true);
    summary.resolve(hash ? { bytes, sha256: hash.digest('hex') } : { bytes });
    content.push(null);
  };

  const fail = (error: Error) => {
    sourceFailure = error;
    detach();
    content.destroy(error);
  };
  const onError = (error: Error) => fail(error);
  const onClose = () => {
    if (!sourceEnded && sourceFailure === undefined) {
      fail(new MultiPopError('CONNECTION_CLOSED', 'The message stream closed before the message ended'));
    }
  };

  let detached = false;
  const detach = () => {
    if (detached) return;
    detached = true;
    source.off('data', onData);
    source.off('end', onEnd);
    source.off('close', onClose);
    // The error listener stays: a late error from a detached source must not go uncaught.
    source.off('error', onError);
    source.on('error', () => {});
  };

  if (options.trace.length > 0) content.push(options.trace);
  source.on('data', onData);
  source.on('end', onEnd);
  source.on('error', onError);
  source.on('close', onClose);
  // A source that failed or closed before it was handed to us (a look-ahead RETR whose
  // connection dropped) emits nothing more: settle now instead of waiting for ever.
  if (source.errored) fail(source.errored);
  else if (source.destroyed && !source.readableEnded) onClose();
  // A source paused before it reached us would not start flowing on a 'data' listener alone.
  source.resume();

  let metadata: Promise<MessageMetadata> | undefined;
  return {
    content,
    metadata: () => {
      metadata ??= header.promise.then((captured) => parseHeaderMetadata(captured.bytes));
      return metadata;
    },
    headerBlock: () => header.promise,
    sourceError: () => sourceFailure,
    bytesRead: () => bytes,
    done: () => summary.promise,
  };
}

interface Deferred<T> {
  promise: Promise<T>;
  readonly settled: boolean;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** A promise settled from outside; settling twice is a no-op. Never an unhandled rejection. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may ask for it; a rejection must not surface as an unhandled one.
  promise.catch(() => {});
  const state = {
    promise,
    settled: false,
    resolve(value: T) {
      if (state.settled) return;
      state.settled = true;
      resolve(value);
    },
    reject(reason: unknown) {
      if (state.settled) return;
      state.settled = true;
      reject(reason);
    },
  };
  return state;
}
