import type { Socket } from 'node:net';

/**
 * A deliberately tiny POP3/LMTP line reader for the smoke test: it proves the *harness*, not
 * the library's client (which lives in src/pop3 and is tested on its own). Bytes are kept as
 * bytes until a whole line is there, so 8-bit message content survives.
 */
export class Wire {
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #socket: Socket;
  #closed = false;
  readonly #onData = (chunk: Buffer) => {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#closed = true;
    this.#wake();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#listen(socket);
  }

  /** Stops reading from the current socket (before STLS hands it to `tls.connect`). */
  detach(): Socket {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    if (this.#buffer.length > 0) throw new Error('unread bytes before the TLS handshake');
    return this.#socket;
  }

  /** Continues on a new socket (the TLS socket after STLS). */
  attach(socket: Socket): void {
    this.#socket = socket;
    this.#closed = false;
    this.#listen(socket);
  }

  send(line: string): void {
    this.#socket.write(`${line}\r\n`);
  }

  /** One line without its CRLF, decoded as Latin-1 (status lines are ASCII). */
  async line(): Promise<string> {
    return (await this.rawLine()).toString('latin1');
  }

  /** One line without its CRLF, as bytes. */
  async rawLine(): Promise<Buffer> {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.#buffer.subarray(0, end);
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      if (this.#closed) throw new Error('connection closed while waiting for a line');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Sends a command and returns its status line. */
  async command(line: string): Promise<string> {
    this.send(line);
    return this.line();
  }

  /**
   * The body of a multi-line response (after its status line), with dot-stuffing undone and
   * every line ending in CRLF again: exactly the bytes the server had.
   */
  async multiline(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      const line = await this.rawLine();
      if (line.length === 1 && line[0] === 0x2e) return Buffer.concat(parts);
      parts.push(line[0] === 0x2e ? line.subarray(1) : line, Buffer.from('\r\n'));
    }
  }

  /** The lines of a multi-line response, as text. */
  async lines(): Promise<string[]> {
    return (await this.multiline())
      .toString('latin1')
      .split('\r\n')
      .filter((line, i, all) => i < all.length - 1 || line !== '');
  }

  #listen(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
