/** Byte helpers of the fake server: dot-stuffing for sending, TOP extraction. */

const CRLF = Buffer.from('\r\n', 'latin1');
const CRLF_DOT = Buffer.from('\r\n.', 'latin1');
const DOT = 0x2e;
const TERMINATOR = Buffer.from('.\r\n', 'latin1');

/**
 * Encodes a message as a POP3 multi-line body (RFC 1939 §3): a `.` is added before every line
 * that starts with `.`, a CRLF is added when the message does not end with one, and the
 * terminating `.` CRLF follows. Only CRLF ends a line.
 */
export function dotStuff(message: Buffer): Buffer {
  // Positions where a dot is inserted: 0 for a leading dot, and after every CRLF before a dot.
  const inserts: number[] = message[0] === DOT ? [0] : [];
  for (let hit = message.indexOf(CRLF_DOT); hit >= 0; hit = message.indexOf(CRLF_DOT, hit + 2))
    inserts.push(hit + 2);
  const endsWithCrlf =
    message.length >= 2 && message[message.length - 2] === 0x0d && message[message.length - 1] === 0x0a;
  const addCrlf = message.length > 0 && !endsWithCrlf;
  const out = Buffer.allocUnsafe(message.length + inserts.length + (addCrlf ? 2 : 0) + TERMINATOR.length);
  let written = 0;
  let start = 0;
  for (const at of inserts) {
    written += message.copy(out, written, start, at);
    out[written++] = DOT;
    start = at;
  }
  written += message.copy(out, written, start);
  if (addCrlf) written += CRLF.copy(out, written);
  TERMINATOR.copy(out, written);
  return out;
}

/** The header block of a message (through the empty line) and its first `lines` body lines. */
export function topOf(message: Buffer, lines: number): Buffer {
  const headerEnd = message.indexOf('\r\n\r\n');
  if (headerEnd < 0) return message;
  let end = headerEnd + 4;
  for (let i = 0; i < lines && end < message.length; i++) {
    const next = message.indexOf(CRLF, end);
    end = next < 0 ? message.length : next + 2;
  }
  return message.subarray(0, end);
}
