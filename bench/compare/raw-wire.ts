/**
 * The raw client's wire: pipelined POP3 commands over one socket and a byte-level framer for
 * multi-line responses that un-stuffs dot lines and finds the terminator across any chunk
 * boundary, without a per-byte loop over ordinary text.
 */
import type { Socket } from 'node:net';

/** What the wire uses of a socket (a plain or TLS socket; a stand-in in tests). */
export type WireSocket = Pick<Socket, 'setTimeout' | 'on' | 'write' | 'destroy' | 'removeAllListeners'>;

/** The longest status line accepted from the server. */
const MAX_LINE = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const LF_DOT = Buffer.from('\n.');

/**
 * Receives the body of a multi-line response, already un-stuffed, terminator removed.
 */
export interface BodySink {
  begin(): void;
  write(chunk: Buffer): void;
  end(): void;
}

interface Pending {
  multiLine: boolean;
  sink: BodySink | undefined;
  resolve(line: string): void;
  reject(err: Error): void;
}

/**
 * Pipelined POP3 command/response transport over one socket. Responses come back in command
 * order, so a FIFO of pending commands is the whole bookkeeping.
 *
 * @example
 * ```ts
 * const wire = new PopWire(socket, 30_000, true);
 * await wire.greeting;
 * await Promise.all([wire.send('USER ann'), wire.send('PASS secret')]);
 * await wire.send('RETR 1', true, { begin() {}, write: (chunk) => parts.push(chunk), end() {} });
 * ```
 */
export class PopWire {
  #socket: WireSocket;
  #queue: Pending[] = [];
  #inBody = false;
  #atLineStart = true;
  #carry: Buffer | undefined;
  #lineParts: Buffer[] = [];
  #lineBytes = 0;
  #failure: Error | undefined;

  constructor(socket: WireSocket, timeoutMs: number, expectGreeting: boolean) {
    this.#socket = socket;
    socket.setTimeout(timeoutMs, () => this.#fail(new Error(`no data from the server for ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed by the server')));
    if (expectGreeting) this.greeting = this.#expect(false, undefined);
  }

  /** The server's greeting line (only when constructed with `expectGreeting`). */
  greeting: Promise<string> | undefined;

  /** Sends one command; resolves with its `+OK` line, rejects on `-ERR`. */
  send(command: string, multiLine = false, sink?: BodySink): Promise<string> {
    if (this.#failure) return Promise.reject(this.#failure);
    const reply = this.#expect(multiLine, sink);
    this.#socket.write(`${command}\r\n`);
    return reply;
  }

  /** Hands the socket over (for STLS); no data may be pending. */
  detach(): WireSocket {
    this.#socket.removeAllListeners('data');
    this.#socket.removeAllListeners('close');
    this.#socket.removeAllListeners('error');
    this.#socket.setTimeout(0);
    return this.#socket;
  }

  close(): void {
    this.#socket.removeAllListeners('close');
    this.#socket.destroy();
  }

  #expect(multiLine: boolean, sink: BodySink | undefined): Promise<string> {
    return new Promise((resolve, reject) => this.#queue.push({ multiLine, sink, resolve, reject }));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const pending of this.#queue.splice(0)) pending.reject(this.#failure);
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#carry) {
      chunk = Buffer.concat([this.#carry, chunk]);
      this.#carry = undefined;
    }
    let pos = 0;
    while (pos < chunk.length && !this.#failure) {
      pos = this.#inBody ? this.#body(chunk, pos) : this.#statusLine(chunk, pos);
    }
  }

  /** Consumes (part of) a status line; returns where to continue. */
  #statusLine(chunk: Buffer, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    if (lf < 0) {
      this.#lineParts.push(chunk.subarray(pos));
      this.#lineBytes += chunk.length - pos;
      if (this.#lineBytes > MAX_LINE) this.#fail(new Error('status line too long'));
      return chunk.length;
    }
    this.#lineParts.push(chunk.subarray(pos, lf + 1));
    const raw =
      this.#lineParts.length === 1 ? (this.#lineParts[0] as Buffer) : Buffer.concat(this.#lineParts);
    this.#lineParts = [];
    this.#lineBytes = 0;
    const line = raw.toString('latin1').replace(/\r?\n$/, '');
    const pending = this.#queue[0];
    if (!pending) {
      this.#fail(new Error(`unexpected line from the server: ${line.slice(0, 80)}`));
      return chunk.length;
    }
    if (line.startsWith('+OK')) {
      if (pending.multiLine) {
        this.#inBody = true;
        this.#atLineStart = true;
        pending.sink?.begin();
      } else {
        this.#queue.shift();
        pending.resolve(line);
      }
    } else {
      this.#queue.shift();
      pending.reject(new Error(`server said: ${line.slice(0, 200)}`));
    }
    return lf + 1;
  }

  /**
   * Consumes body bytes up to and including the terminating `CRLF.CRLF`. Only a dot at the start
   * of a line matters: `.CRLF` ends the body, any other leading dot is removed. The search is
   * for "\n." with the native indexOf, so plain text is passed on without a byte loop.
   */
  #body(chunk: Buffer, pos: number): number {
    const sink = this.#queue[0]?.sink;
    const end = chunk.length;
    let from = pos;
    let search = pos;
    let checkFirst = this.#atLineStart;
    for (;;) {
      let dot = -1;
      if (checkFirst) {
        checkFirst = false;
        if (chunk[search] === DOT) dot = search;
      }
      if (dot < 0) {
        const found = chunk.indexOf(LF_DOT, search);
        if (found < 0) break;
        dot = found + 1;
      }
      if (dot + 1 >= end || (chunk[dot + 1] === CR && dot + 2 >= end)) {
        // Cannot tell a stuffed dot from the terminator yet: keep the tail for the next chunk.
        if (dot > from) sink?.write(chunk.subarray(from, dot));
        this.#carry = chunk.subarray(dot);
        this.#atLineStart = true;
        return end;
      }
      if (chunk[dot + 1] === CR && chunk[dot + 2] === LF) {
        if (dot > from) sink?.write(chunk.subarray(from, dot));
        this.#inBody = false;
        const pending = this.#queue.shift() as Pending;
        pending.sink?.end();
        pending.resolve('+OK');
        return dot + 3;
      }
      // A stuffed dot: pass what came before it, drop the dot itself.
      if (dot > from) sink?.write(chunk.subarray(from, dot));
      from = dot + 1;
      search = dot + 1;
    }
    if (end > from) sink?.write(chunk.subarray(from, end));
    this.#atLineStart = chunk[end - 1] === LF;
    return end;
  }
}
