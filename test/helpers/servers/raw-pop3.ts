/**
 * A deliberately dumb POP3 line reader over `node:net` / `node:tls`: it sends what it is told
 * and hands back lines as bytes. The smoke tests use it to prove the server harnesses without
 * our own client, and the Cyrus harness uses it to log in once (which creates the mailbox).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

/** Where and how to connect. */
export interface RawPop3Options {
  host?: string;
  port: number;
  /** TLS from the first byte, trusting `ca`. */
  tls?: { ca: string };
  /** Per-read timeout (default 10 s). */
  timeoutMs?: number;
}

/**
 * One raw POP3 connection.
 *
 * @example
 * ```ts
 * const pop = await RawPop3.connect({ port });
 * await pop.readLine();                 // greeting
 * await pop.command('USER ann');        // '+OK …'
 * const body = await pop.retr(1);       // dot-unstuffed CRLF bytes
 * pop.close();
 * ```
 */
export class RawPop3 {
  /** Bytes received and not yet returned as lines. */
  #buffer: Buffer = Buffer.alloc(0);
  #waiter: (() => void) | undefined;
  #ended = false;
  #error: Error | undefined;
  #socket: Socket | TLSSocket;
  readonly #timeoutMs: number;

  private constructor(socket: Socket | TLSSocket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#attach(socket);
  }

  /** Opens the connection (TLS handshake included when `tls` is given). */
  static connect(options: RawPop3Options): Promise<RawPop3> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tlsConnect({ host, port: options.port, ca: options.tls.ca, servername: 'localhost' })
        : netConnect({ host, port: options.port });
      socket.once('error', reject);
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        resolve(new RawPop3(socket, options.timeoutMs ?? 10_000));
      });
    });
  }

  /** The TLS socket after {@link startTls}, or the connection itself. */
  get encrypted(): boolean {
    return 'encrypted' in this.#socket && this.#socket.encrypted === true;
  }

  /** Sends raw bytes (several commands at once to test pipelining). */
  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  /** Sends one command line and returns the first reply line (without CRLF, as text). */
  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return (await this.readLine()).toString('latin1');
  }

  /** The next line without its CRLF. */
  async readLine(): Promise<Buffer> {
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.#buffer.subarray(0, end);
        this.#buffer = this.#buffer.subarray(end + 2);
        return Buffer.from(line);
      }
      if (this.#error) throw this.#error;
      if (this.#ended) throw new Error('connection closed by the server');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line from the server in ${this.#timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        timer.unref();
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The lines of a multi-line body up to the terminating ".", dot-unstuffed. */
  async readBody(): Promise<Buffer[]> {
    const lines: Buffer[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line.length === 1 && line[0] === 0x2e) return lines;
      lines.push(line[0] === 0x2e ? line.subarray(1) : line);
    }
  }

  /** `CAPA` as a list of lines, or `undefined` when the server answers `-ERR`. */
  async capa(): Promise<string[] | undefined> {
    const status = await this.command('CAPA');
    if (!status.startsWith('+OK')) return undefined;
    return (await this.readBody()).map((line) => line.toString('latin1'));
  }

  /** `RETR n`: the message as the server serves it, CRLF line ends, dot-unstuffed. */
  async retr(n: number): Promise<Buffer> {
    const status = await this.command(`RETR ${n}`);
    if (!status.startsWith('+OK')) throw new Error(`RETR ${n}: ${status}`);
    return joinLines(await this.readBody());
  }

  /** Sends STLS and upgrades the connection, trusting `ca`. */
  async startTls(ca: string): Promise<string> {
    const status = await this.command('STLS');
    if (!status.startsWith('+OK')) return status;
    const plain = this.#socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({ socket: plain, ca, servername: 'localhost' });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
    });
    this.#socket = secure;
    this.#attach(secure);
    return status;
  }

  /** Sends QUIT and returns its reply; the connection is closed afterwards. */
  async quit(): Promise<string> {
    const reply = await this.command('QUIT');
    this.close();
    return reply;
  }

  /** Closes the connection without QUIT. */
  close(): void {
    this.#socket.destroy();
  }

  #attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on('error', (err) => {
      this.#error = err;
      this.#wake();
    });
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}

/** Lines joined with CRLF after each, the way a message travels. */
export function joinLines(lines: readonly Buffer[]): Buffer {
  return Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\r\n')]));
}

/**
 * Logs in with USER/PASS and quits: how Cyrus creates a user's INBOX (`autocreate_quota`).
 *
 * @example
 * ```ts
 * await loginOnce({ port }, 'ann', 'secret');
 * ```
 */
export async function loginOnce(options: RawPop3Options, user: string, password: string): Promise<void> {
  const pop = await RawPop3.connect(options);
  try {
    await pop.readLine();
    await pop.command(`USER ${user}`);
    const reply = await pop.command(`PASS ${password}`);
    if (!reply.startsWith('+OK')) throw new Error(`login of ${user} failed: ${reply}`);
    await pop.quit();
  } finally {
    pop.close();
  }
}
