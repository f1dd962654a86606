/**
 * Reference implementations used to check the framer: a deliberately simple, byte-at-a-time
 * dot-stuffer (the "sender") and a splitter that cuts a buffer at given offsets.
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Encodes `body` as a POP3 multi-line body the way RFC 1939 §3 describes a sender: lines are
 * CRLF-terminated, a line starting with `.` gets one more `.`, a body without a final CRLF
 * gets one, and the response ends with `.` CRLF. Only CRLF ends a line.
 */
export function dotStuff(body: Buffer): Buffer {
  const out: number[] = [];
  let lineStart = true;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (lineStart && byte === DOT) out.push(DOT);
    out.push(byte);
    lineStart = byte === LF && i > 0 && body[i - 1] === CR;
  }
  if (body.length > 0 && !lineStart) out.push(CR, LF);
  out.push(DOT, CR, LF);
  return Buffer.from(out);
}

/**
 * What the framer must return for `body`: the body itself when it is empty or ends with CRLF;
 * otherwise the body plus the CRLF the sender added (it belongs to the last line).
 */
export function expectedUnstuffed(body: Buffer): Buffer {
  if (body.length === 0) return body;
  const endsWithCrlf = body.length >= 2 && body[body.length - 2] === CR && body[body.length - 1] === LF;
  return endsWithCrlf ? body : Buffer.concat([body, Buffer.from('\r\n')]);
}

/** Cuts `data` at the given offsets (any order, duplicates and out-of-range ignored). */
export function cutAt(data: Buffer, offsets: number[]): Buffer[] {
  const cuts = [...new Set(offsets.filter((o) => o > 0 && o < data.length))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push(data.subarray(start, cut));
    start = cut;
  }
  parts.push(data.subarray(start));
  return parts;
}
