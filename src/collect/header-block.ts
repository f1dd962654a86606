/**
 * Finds where a message's header block ends — after the first empty line — while the bytes
 * arrive in chunks. POP3 delivers CRLF line ends; a bare-LF message (`\n\n`) is recognised too,
 * because some servers store and serve mail that way.
 *
 * @example
 * ```ts
 * const scanner = new HeaderEndScanner();
 * scanner.scan(Buffer.from('Subject: hi\r\n')); // -1: not yet
 * scanner.scan(Buffer.from('\r\nbody'));        // 2: the header block ends before index 2 of this chunk
 * ```
 */
export class HeaderEndScanner {
  /** 0 = inside a line; 1 = at the start of a line; 2 = at the start of a line after a CR. */
  #state: 0 | 1 | 2 = 1; // the message starts at a line start: a leading empty line means no headers
  #done = false;

  /** True once the end of the header block was seen. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Scans the next chunk. Returns the offset in `chunk` just after the empty line that ends the
   * header block, or -1 when it is not in this chunk (also after it was already found).
   */
  scan(chunk: Uint8Array): number {
    if (this.#done) return -1;
    let state = this.#state;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === 0x0a) {
        if (state !== 0) {
          this.#done = true;
          return i + 1;
        }
        state = 1;
      } else if (byte === 0x0d) {
        state = state === 1 ? 2 : 0;
      } else {
        state = 0;
      }
    }
    this.#state = state;
    return -1;
  }
}

/**
 * The header block of a whole message (or of a `TOP n 0` response): the bytes up to and
 * including the first empty line, or all of `bytes` when there is none.
 *
 * @example
 * ```ts
 * headerBlock(Buffer.from('Subject: hi\r\n\r\nbody')).toString(); // 'Subject: hi\r\n\r\n'
 * ```
 */
export function headerBlock(bytes: Buffer): Buffer {
  const end = new HeaderEndScanner().scan(bytes);
  return end === -1 ? bytes : bytes.subarray(0, end);
}
