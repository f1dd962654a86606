/**
 * The fake server's wire I/O for one connection: command lines in (recorded as they arrive),
 * responses out (in pieces when the options ask for it), and the STLS socket swap.
 */
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { FakePop3ReceivedCommand } from './types.js';

// A client that sends this much without a line end is attacking or broken: hang up.
const MAX_COMMAND_LINE = 64 * 1024;

/** What a connection needs from its server. */
export interface ConnectionSettings {
  /** 1-based, in accept order. */
  id: number;
  /** Whether the connection is encrypted from the first byte (implicit TLS). */
  secure: boolean;
  /** Send each response in pieces of this many bytes (see `FakePop3Options.chunkSize`). */
  chunkSize?: number;
  /** Whether `-ERR` lines carry their `[CODE]` (RESP-CODES). */
  respCodes: boolean;
  record(command: FakePop3ReceivedCommand): void;
  /** How many commands of this connection were answered (for `unansweredAtReceipt`). */
  answered(): number;
}

/** One client connection of the fake server, as lines in and bytes out. */
export class FakePop3Connection {
  readonly #settings: ConnectionSettings;
  #socket: Socket;
  #secure: boolean;
  #closed = false;
  readonly #closedPromise: Promise<void>;
  #markClosed!: () => void;
  // Incoming command lines not yet asked for, and the reader waiting for one.
  readonly #lines: string[] = [];
  #waiter: ((line: string | undefined) => void) | undefined;
  #partial = '';
  #received = 0;

  constructor(socket: Socket, settings: ConnectionSettings) {
    this.#settings = settings;
    this.#socket = socket;
    this.#secure = settings.secure;
    this.#closedPromise = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#attach(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** Resolves when the connection has closed, for whatever reason. */
  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Closes the connection abruptly. */
  destroy(): void {
    this.#socket.destroy();
    this.#onClose();
  }

  /** Closes the connection after what was written (QUIT, a fault's `thenClose`). */
  end(): void {
    this.#socket.end();
  }

  /** The next command line (UTF-8 decoded), or undefined once the connection has closed. */
  nextLine(): Promise<string | undefined> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(Buffer.from(line, 'latin1').toString('utf8'));
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiter = (raw) =>
        resolve(raw === undefined ? undefined : Buffer.from(raw, 'latin1').toString('utf8'));
    });
  }

  /** Sends bytes, in `chunkSize` pieces when set. */
  async send(data: Buffer | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const size = this.#settings.chunkSize;
    if (size !== undefined && size > 0) {
      for (let at = 0; at < bytes.length && !this.#closed; at += size) {
        await this.write(bytes.subarray(at, at + size));
        // Let the previous piece leave before the next one, so they arrive as separate reads.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return;
    }
    await this.write(bytes);
  }

  /** Writes bytes in one piece, waiting for the socket to drain when it asks to. */
  write(bytes: Buffer): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#socket.write(bytes)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  ok(text: string): Promise<void> {
    return this.send(`${statusLine(text)}\r\n`);
  }

  /** `-ERR`, with `[code]` in front of the text when the server speaks RESP-CODES. */
  err(code: string | undefined, text: string): Promise<void> {
    const withCode = code !== undefined && this.#settings.respCodes ? `[${code}] ${text}` : text;
    return this.send(`-ERR ${withCode}\r\n`);
  }

  /**
   * Turns the connection into a TLS server connection (after `+OK` to STLS). Returns false when
   * the handshake fails. RFC 2595 §4: anything the client pipelined after STLS is discarded.
   */
  async startTls(secureContext: SecureContext | undefined): Promise<boolean> {
    this.#lines.length = 0;
    this.#partial = '';
    const plain = this.#socket;
    plain.off('data', this.#onData);
    const secure = new TLSSocket(plain, { isServer: true, secureContext });
    const ok = await new Promise<boolean>((resolve) => {
      secure.once('secure', () => resolve(true));
      secure.once('error', () => resolve(false));
      secure.once('close', () => resolve(false));
    });
    if (!ok) {
      secure.destroy();
      return false;
    }
    this.#socket = secure;
    this.#secure = true;
    this.#attach(secure);
    return true;
  }

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', () => {});
    socket.on('close', () => this.#onClose());
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#partial += chunk.toString('latin1');
    for (let lf = this.#partial.indexOf('\n'); lf >= 0; lf = this.#partial.indexOf('\n')) {
      const line = this.#partial.slice(0, lf).replace(/\r$/, '');
      this.#partial = this.#partial.slice(lf + 1);
      this.#received++;
      this.#settings.record({
        connection: this.#settings.id,
        line: Buffer.from(line, 'latin1').toString('utf8'),
        verb: verbOf(line),
        unansweredAtReceipt: this.#received - this.#settings.answered(),
        secure: this.#secure,
      });
      if (this.#waiter) {
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter(line);
      } else this.#lines.push(line);
    }
    if (this.#partial.length > MAX_COMMAND_LINE) this.destroy();
  };

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#markClosed();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
  }
}

/** `+OK` and the text, if any: the first line of every positive answer. */
export function statusLine(text: string): string {
  return `+OK${text === '' ? '' : ` ${text}`}`;
}

/** The verb a recorded line shows: a command word, or `''` (SASL response lines). */
function verbOf(line: string): string {
  const first = line.split(' ')[0] ?? '';
  return /^[A-Za-z]{3,5}$/.test(first) ? first.toUpperCase() : '';
}
