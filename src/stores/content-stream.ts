import type { Readable } from 'node:stream';

/**
 * Reads a message stream to its end and discards the bytes, so the producer (the POP3 socket
 * behind a `RETR`) can finish its response. Used when a queue already holds the message: the
 * port requires the stream to be consumed or destroyed either way, and consuming keeps the
 * remote session usable. Never rejects.
 *
 * @example
 * ```ts
 * if (alreadyAccepted) await drain(message.content);
 * ```
 */
export function drain(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.readableEnded) {
      resolve();
      return;
    }
    const done = () => {
      stream.off('end', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    // A late error of a stream we are throwing away is not ours to report.
    stream.on('error', done);
    stream.resume();
  });
}

/**
 * A chunk of message content as bytes. A string chunk means someone decoded the bytes (set an
 * encoding) — re-encoding could change them, so it is refused rather than guessed at.
 */
export function chunkBytes(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('message content must be a byte stream (got a decoded string chunk)');
}
