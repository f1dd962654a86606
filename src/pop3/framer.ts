import { limitExceeded } from './limits.js';

/**
 * One unit the framer recognised in the byte stream from a POP3 server.
 *
 * - `status`: a line in line mode that is not a SASL continuation (`+OK …`, `-ERR …`, or
 *   anything else — the caller decides whether it is valid), without its line ending.
 * - `continuation`: a SASL continuation line, `+` alone or `+ ` followed by base64.
 * - `item`: one un-stuffed line of a multi-line listing (CAPA, LIST, UIDL), without its line
 *   ending, decoded as Latin-1 so every byte maps to one character and back.
 * - `body`: a slice of an un-stuffed multi-line body (RETR, TOP): raw bytes, never decoded.
 * - `end`: the terminating `.` line of a listing or body; `size` counts the un-stuffed bytes
 *   (bodies) or items (listings).
 */
export type FrameEvent =
  | { type: 'status'; line: string }
  | { type: 'continuation'; payload: string }
  | { type: 'item'; line: string }
  | { type: 'body'; chunk: Buffer }
  | { type: 'end'; size: number };

/** What the framer expects to read next. POP3 responses are not self-describing. */
export type FramerMode = 'line' | 'body' | 'lines';

/** The bounds the framer enforces; see `Pop3Limits`. */
export interface FramerLimits {
  /** Longest line in line and listing mode, line ending included. */
  maxLineLength: number;
  /** Largest un-stuffed body in body mode. */
  maxMessageSize: number;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF_DOT = Buffer.from('\r\n.', 'latin1');
// Bytes the framer held back at a chunk boundary and re-emits once it knows they are content.
const CR_BYTES = Buffer.from('\r', 'latin1');
const CRLF_BYTES = Buffer.from('\r\n', 'latin1');

/**
 * Where the body scanner stands. Only these five states are needed to un-stuff across any
 * chunk boundary without copying: the at most two bytes that can be "in doubt" (`.` and `\r`
 * after a line start, or a lone `\r`) are kept as state, not as buffered bytes.
 */
const BodyState = {
  /** At the start of a line (also: the start of the body). */
  LineStart: 0,
  /** Saw `.` at a line start: either a stuffed dot or the start of the terminator. */
  Dot: 1,
  /** Saw `.\r` at a line start. */
  DotCr: 2,
  /** Inside a line. */
  Mid: 3,
  /** Inside a line, saw `\r` as the last byte of a chunk. */
  Cr: 4,
} as const;
type BodyState = (typeof BodyState)[keyof typeof BodyState];

/**
 * A pure, incremental POP3 response framer: feed it the bytes from the socket split anywhere,
 * pull {@link FrameEvent}s out. It does no I/O and keeps no timers.
 *
 * Because a POP3 response does not say whether a body follows, the caller switches the mode:
 * after a `+OK` status line of RETR/TOP it calls {@link Pop3Framer.expectBody}; of
 * CAPA/LIST/UIDL {@link Pop3Framer.expectListing}. After `end` the framer returns to line mode.
 *
 * **What a body is.** On the wire a multi-line body is a sequence of CRLF-terminated lines,
 * each line that starts with `.` carrying one extra `.`, followed by the line `.` CRLF. The
 * framer emits every line with its CRLF, minus the one stuffed dot, and nothing of the
 * terminating `.` CRLF line. So a message that ends in CRLF (or is empty) comes out exactly as
 * the server stored it; a message without a final CRLF comes out with one, because RFC 1939
 * makes the sender add it (the first CRLF of CRLF `.` CRLF belongs to the last line). Only
 * CRLF ends a line in a body: a lone CR or LF is content, and a `.` after it is not stuffing.
 *
 * Status and listing lines are read leniently (LF ends them, a CR before it is dropped), since
 * they are never mail data.
 *
 * Bounds: a line longer than `maxLineLength` or a body larger than `maxMessageSize` throws a
 * `LIMIT_EXCEEDED` {@link MultiPopError}; after that the framer must not be used again. The
 * framer never holds more than the chunks it was given and has not consumed, plus one partial
 * line of at most `maxLineLength` bytes.
 *
 * @example
 * ```ts
 * const framer = new Pop3Framer({ maxLineLength: 8192, maxMessageSize: Infinity });
 * framer.push(Buffer.from('+OK 5 octets\r\nhello\r\n.\r\n'));
 * framer.next();        // { type: 'status', line: '+OK 5 octets' }
 * framer.expectBody();
 * framer.next();        // { type: 'body', chunk: <Buffer 68 65 6c 6c 6f 0d 0a> }
 * framer.next();        // { type: 'end', size: 7 }
 * framer.next();        // undefined — needs more bytes
 * ```
 */
export class Pop3Framer {
  readonly #limits: FramerLimits;
  // Unconsumed input: the chunks as pushed; `#offset` indexes into the first one. Chunks are
  // never concatenated, so feeding a large body costs no copies.
  readonly #chunks: Buffer[] = [];
  #offset = 0;
  #buffered = 0;
  // A line (status or listing) that spans chunks: its parts so far and their total length.
  #lineParts: Buffer[] = [];
  #lineLength = 0;
  #mode: FramerMode = 'line';
  #bodyState: BodyState = BodyState.LineStart;
  #bodySize = 0;
  #bodyLimit = Number.POSITIVE_INFINITY;
  #items = 0;

  constructor(limits: FramerLimits) {
    this.#limits = { ...limits };
  }

  /** The mode the next event is read in. */
  get mode(): FramerMode {
    return this.#mode;
  }

  /** Bytes held: unconsumed input plus a partial line. Bounded as described on the class. */
  get buffered(): number {
    return this.#buffered + this.#lineLength;
  }

  /**
   * Adds bytes received from the server. The framer keeps a reference to `chunk` (no copy)
   * until it has been consumed; the caller must not modify it afterwards.
   */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * Switches to body mode: the bytes after the status line just returned are a dot-stuffed
   * multi-line body. `maxSize` (default: the `maxMessageSize` limit) bounds its un-stuffed size.
   */
  expectBody(maxSize: number = this.#limits.maxMessageSize): void {
    this.#assertLineMode('body');
    this.#mode = 'body';
    this.#bodyState = BodyState.LineStart;
    this.#bodySize = 0;
    this.#bodyLimit = maxSize;
  }

  /** Switches to listing mode: the lines after the status line just returned end with `.`. */
  expectListing(): void {
    this.#assertLineMode('lines');
    this.#mode = 'lines';
    this.#items = 0;
  }

  /**
   * The next event, or `undefined` when more bytes are needed.
   *
   * @throws MultiPopError `LIMIT_EXCEEDED` when a bound is exceeded.
   */
  next(): FrameEvent | undefined {
    if (this.#mode === 'body') return this.#nextBody();
    const line = this.#readLine();
    if (line === undefined) return undefined;
    if (this.#mode === 'lines') {
      if (line.length === 1 && line[0] === DOT) {
        this.#mode = 'line';
        return { type: 'end', size: this.#items };
      }
      this.#items++;
      const unstuffed = line.length > 0 && line[0] === DOT ? line.subarray(1) : line;
      return { type: 'item', line: unstuffed.toString('latin1') };
    }
    // `+` alone or `+ …` is a SASL continuation (RFC 5034); `+OK` is a status line.
    if (line.length > 0 && line[0] === 0x2b && (line.length === 1 || line[1] === 0x20)) {
      return { type: 'continuation', payload: line.subarray(line.length === 1 ? 1 : 2).toString('latin1') };
    }
    return { type: 'status', line: line.toString('utf8') };
  }

  #assertLineMode(next: FramerMode): void {
    if (this.#mode !== 'line') {
      throw new Error(`Pop3Framer: cannot switch to ${next} mode while in ${this.#mode} mode`);
    }
  }

  /** Takes `n` bytes off the front chunk. */
  #advance(n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    const head = this.#chunks[0];
    if (head !== undefined && this.#offset >= head.length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }

  /** One line without its ending (LF, or CRLF), or undefined when it is not complete yet. */
  #readLine(): Buffer | undefined {
    const max = this.#limits.maxLineLength;
    for (;;) {
      const head = this.#chunks[0];
      if (head === undefined) return undefined;
      const start = this.#offset;
      const lf = head.indexOf(LF, start);
      if (lf < 0) {
        // No line end in this chunk: keep the rest as part of the line and check the bound now,
        // so a server that never sends LF cannot make us buffer more than one line.
        const rest = head.subarray(start);
        this.#lineParts.push(rest);
        this.#lineLength += rest.length;
        this.#advance(rest.length);
        if (this.#lineLength > max) throw this.#lineTooLong();
        continue;
      }
      const tail = head.subarray(start, lf + 1);
      this.#advance(tail.length);
      const total = this.#lineLength + tail.length;
      if (total > max) throw this.#lineTooLong();
      const whole = this.#lineParts.length === 0 ? tail : Buffer.concat([...this.#lineParts, tail], total);
      this.#lineParts = [];
      this.#lineLength = 0;
      const end = whole.length >= 2 && whole[whole.length - 2] === CR ? whole.length - 2 : whole.length - 1;
      return whole.subarray(0, end);
    }
  }

  #lineTooLong(): Error {
    this.#lineParts = [];
    this.#lineLength = 0;
    return limitExceeded('maxLineLength', this.#limits.maxLineLength);
  }

  #nextBody(): FrameEvent | undefined {
    for (;;) {
      const head = this.#chunks[0];
      if (head === undefined) return undefined;
      const pos = this.#offset;
      switch (this.#bodyState) {
        case BodyState.LineStart:
          if (head[pos] === DOT) {
            this.#bodyState = BodyState.Dot;
            this.#advance(1);
          } else {
            this.#bodyState = BodyState.Mid;
          }
          continue;
        case BodyState.Dot:
          if (head[pos] === CR) {
            this.#bodyState = BodyState.DotCr;
            this.#advance(1);
          } else {
            // The dot was stuffing: drop it; the byte here is content.
            this.#bodyState = BodyState.Mid;
          }
          continue;
        case BodyState.DotCr:
          if (head[pos] === LF) {
            this.#advance(1);
            this.#mode = 'line';
            this.#bodyState = BodyState.LineStart;
            return { type: 'end', size: this.#bodySize };
          }
          // `.` CR <not LF>: the dot was stuffing, the CR is content (it is not a line end).
          this.#bodyState = BodyState.Mid;
          return this.#emit(CR_BYTES);
        case BodyState.Cr:
          if (head[pos] === LF) {
            this.#advance(1);
            this.#bodyState = BodyState.LineStart;
            return this.#emit(CRLF_BYTES);
          }
          this.#bodyState = BodyState.Mid;
          return this.#emit(CR_BYTES);
        case BodyState.Mid: {
          const event = this.#scanLines(head, pos);
          if (event !== undefined) return event;
          continue;
        }
      }
    }
  }

  /**
   * The hot path: from `pos` inside a line, emits everything up to the next line that starts
   * with a dot which might be the terminator (or up to the chunk's end) as one event. Stuffed
   * dots in between are dropped by copying the chunk once, compacted; a chunk without dot
   * lines — the usual case — is passed on as a zero-copy slice.
   */
  #scanLines(head: Buffer, pos: number): FrameEvent | undefined {
    let compacted: Buffer | undefined;
    let compactedLength = 0;
    let segment = pos;
    let from = pos;
    let end = head.length;
    let consumed = head.length;
    let next: BodyState = BodyState.Mid;
    for (;;) {
      const hit = head.indexOf(CRLF_DOT, from);
      if (hit < 0) {
        if (head[end - 1] === CR) {
          // A CR at the chunk's end may start the CRLF before a dot: hold it as state.
          end -= 1;
          next = BodyState.Cr;
        } else if (end - pos >= 2 && head[end - 1] === LF && head[end - 2] === CR) {
          next = BodyState.LineStart;
        }
        break;
      }
      const dot = hit + 2;
      const after = head[dot + 1];
      if (after === undefined || after === CR) {
        // `.` CRLF may be the terminator, or `.` is the chunk's last byte: let the state
        // machine decide, byte by byte.
        end = dot;
        consumed = dot + 1;
        next = BodyState.Dot;
        break;
      }
      // A stuffed dot: keep the line up to and including its CRLF, skip the dot.
      compacted ??= Buffer.allocUnsafe(head.length - pos);
      compactedLength = copyInto(compacted, compactedLength, head, segment, dot);
      segment = dot + 1;
      from = dot + 1;
    }
    this.#advance(consumed - pos);
    this.#bodyState = next;
    let out: Buffer;
    if (compacted === undefined) out = head.subarray(pos, end);
    else {
      compactedLength = copyInto(compacted, compactedLength, head, segment, end);
      out = compacted.subarray(0, compactedLength);
    }
    return out.length === 0 ? undefined : this.#emit(out);
  }

  #emit(chunk: Buffer): FrameEvent {
    this.#bodySize += chunk.length;
    if (this.#bodySize > this.#bodyLimit) {
      throw limitExceeded('maxMessageSize', this.#bodyLimit);
    }
    return { type: 'body', chunk };
  }
}

/**
 * Copies `source[start, end)` to `target` at `at`; returns the new end in `target`. Short
 * runs are copied in a loop: `Buffer#copy` costs about a microsecond per call, which
 * dominates when a hostile or odd message has a dot on every line.
 */
function copyInto(target: Buffer, at: number, source: Buffer, start: number, end: number): number {
  if (end - start > 64) return at + source.copy(target, at, start, end);
  let out = at;
  for (let i = start; i < end; i++) target[out++] = source[i]!;
  return out;
}
