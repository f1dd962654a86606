/** Byte helpers of the fake server: dot-stuffing for sending, TOP extraction. */

const CRLF = Buffer.from('\r\n', 'latin1');
const DOT = 0x2e;

/**
 * Encodes a message as a POP3 multi-line body (RFC 1939 §3): a `.` is added before every line
 * that starts with `.`, a CRLF is added when the message does not end with one, and the
 * terminating `.` CRLF follows. Only CRLF ends a line.
 */
export function dotStuff(message: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < message.length) {
    if (message[start] === DOT) parts.push(Buffer.from('.'));
    const end = message.indexOf(CRLF, start);
    if (end < 0) {
      parts.push(message.subarray(start), CRLF);
      start = message.length;
      break;
    }
    parts.push(message.subarray(start, end + 2));
    start = end + 2;
  }
  parts.push(Buffer.from('.\r\n'));
  return Buffer.concat(parts);
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
