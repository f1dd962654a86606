/**
 * Courier, Mailutils and popa3d keep mail with Unix line ends (LF) and add the CR on the wire.
 * Seeding them a CRLF file does not round-trip (Courier serves `\r\r\n`, Mailutils loses the
 * headers), so their harnesses store LF and convert back when reading.
 */

/**
 * Converts a CRLF message to LF for a server that stores LF. Refuses what cannot come back
 * byte for byte: a bare CR or LF, or a last line without CRLF.
 *
 * @example
 * ```ts
 * crlfToLf(Buffer.from('Subject: a\r\n\r\nb\r\n'), 'Courier'); // 'Subject: a\n\nb\n'
 * ```
 */
export function crlfToLf(message: Buffer, server: string): Buffer {
  if (message.length < 2 || message[message.length - 2] !== 0x0d || message[message.length - 1] !== 0x0a) {
    throw new Error(`${server} test messages must end with CRLF`);
  }
  const out = Buffer.allocUnsafe(message.length);
  let length = 0;
  for (let i = 0; i < message.length; i++) {
    const byte = message[i]!;
    if (byte === 0x0d) {
      if (message[i + 1] !== 0x0a) throw new Error(`${server} test messages must not contain a bare CR`);
      continue;
    }
    if (byte === 0x0a && message[i - 1] !== 0x0d) {
      throw new Error(`${server} test messages must not contain a bare LF`);
    }
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/**
 * The CRLF form of an LF-only text, as the server puts it on the wire.
 *
 * @example
 * ```ts
 * lfToCrlf(Buffer.from('a\nb\n')).toString(); // 'a\r\nb\r\n'
 * ```
 */
export function lfToCrlf(text: Buffer): Buffer {
  let lines = 0;
  for (const byte of text) if (byte === 0x0a) lines++;
  const out = Buffer.allocUnsafe(text.length + lines);
  let length = 0;
  for (const byte of text) {
    if (byte === 0x0a) out[length++] = 0x0d;
    out[length++] = byte;
  }
  return out;
}
