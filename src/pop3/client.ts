import { EventEmitter } from 'node:events';
import { MultiPopError, toMultiPopError } from '../errors/index.js';
import { createLog, SecretRegistry } from '../log/index.js';
import type {
  Pop3Capabilities,
  Pop3ClientApi,
  Pop3ConnectOptions,
  Pop3ListEntry,
  Pop3MessageStream,
  Pop3UidlEntry,
} from './api.js';
import * as auth from './auth.js';
import { Pop3Connection } from './connection.js';
import { resolveLimits, resolveTimeouts } from './limits.js';
import type { Pop3Status } from './response.js';
import { openSession } from './setup.js';
import type { Pop3State } from './state.js';
import * as transaction from './transaction.js';
import { checkConnectOptions } from './validate.js';

/** Events a {@link Pop3Client} emits. It never emits `error`: failures reject operations. */
export interface Pop3ClientEvents {
  /** The connection is closed; `error` says why when it was not QUIT or `close()`. */
  close: [info: { error?: MultiPopError }];
  /**
   * A line arrived while no command was waiting — typically `-ERR` before an idle disconnect.
   * Secrets the client knows are scrubbed from `line`.
   */
  unsolicited: [info: { line: string; status?: Pop3Status }];
}

let connectionCounter = 0;

/**
 * multipop's POP3 client: RFC 1939 with CAPA, RESP-CODES and PIPELINING (RFC 2449), STLS
 * (RFC 2595), SASL (RFC 5034: PLAIN, XOAUTH2, OAUTHBEARER) and the response codes of RFC 3206.
 * Message bytes are never decoded: `retr()` streams them exactly as stored, un-stuffed, with
 * back-pressure.
 *
 * - **TLS**: `implicit`, `starttls` (never downgraded: without working STLS the connection
 *   fails with `TLS_REQUIRED` before any credential is sent) or `none`. Certificates are
 *   verified (chain, host name, dates) unless `tlsOptions.rejectUnauthorized` is `false`.
 * - **Pipelining**: with PIPELINING advertised, commands issued without awaiting are written
 *   at once (up to a window) and their responses matched in order; otherwise they queue. The
 *   API is the same either way. Bodies arrive in call order: consume (or destroy) each body
 *   stream before awaiting the next `retr()` — `Promise.all` over several `retr()` calls waits
 *   forever once the first body fills its stream's buffer.
 * - **Failures** reject with a {@link MultiPopError} carrying `context.command`. The client
 *   never emits `error`. After a transport failure, a timeout or an exceeded limit, every
 *   pending operation is rejected and the connection is closed.
 * - **Logging**: commands and status lines at debug level with a connection id; passwords,
 *   tokens, SASL responses and APOP digests never appear.
 *
 * @example
 * ```ts
 * const client = await Pop3Client.connect({ host: 'pop.example.com', port: 995, tls: 'implicit' });
 * await client.login('ann', 'secret');
 * for (const { msg, uid } of await client.uidl()) {
 *   await pipeline(await client.retr(msg), createWriteStream(`${uid}.eml`));
 * }
 * await client.quit();
 * ```
 */
export class Pop3Client extends EventEmitter<Pop3ClientEvents> implements Pop3ClientApi {
  readonly host: string;
  readonly port: number;
  /** An id for this connection, carried by every log entry as `cid`. */
  readonly connectionId: string;

  readonly #connection: Pop3Connection;
  readonly #signal: AbortSignal | undefined;
  #greeting = '';
  #apopTimestamp: string | undefined;
  readonly #onAbort = (): void =>
    this.#connection.fail(new MultiPopError('ABORTED', 'The POP3 session was aborted'));

  private constructor(options: Pop3ConnectOptions) {
    super();
    this.host = options.host;
    this.port = options.port;
    this.#signal = options.signal;
    connectionCounter += 1;
    this.connectionId = `pop3-${process.pid.toString(36)}-${connectionCounter.toString(36)}`;
    const secrets = new SecretRegistry();
    const bindings = { component: 'pop3', cid: this.connectionId };
    // Always wrapped, even a host logger with its own child(): only this wrapper knows the
    // secrets of this connection (a wrapper passed in by the library keeps its own as well).
    const log = createLog(options.logger || false, bindings, secrets);
    this.#connection = new Pop3Connection({
      host: options.host,
      port: options.port,
      timeouts: resolveTimeouts(options.timeouts),
      limits: resolveLimits(options.limits),
      log,
      secrets,
      events: {
        closed: (info) => {
          this.#signal?.removeEventListener('abort', this.#onAbort);
          this.emit('close', info);
        },
        unsolicited: (info) => this.emit('unsolicited', info),
      },
    });
  }

  /**
   * Connects, reads the greeting and the capabilities, and for `tls: 'starttls'` upgrades with
   * STLS and reads the capabilities again. Resolves in the AUTHORIZATION state.
   *
   * @throws MultiPopError `CONNECT_FAILED`, `CONNECT_TIMEOUT`, `TLS_FAILED`, `TLS_REQUIRED`,
   *   `GREETING_TIMEOUT`, `COMMAND_TIMEOUT`, `CONNECTION_CLOSED`, `PROTOCOL_ERROR`,
   *   `LIMIT_EXCEEDED`, a greeting `-ERR` (`SERVER_ERROR`, `SYS_TEMP`, …), `ABORTED`,
   *   `CONFIG_INVALID` (options).
   * @example
   * <!-- doc-context declare const testCaPem: string; -->
   * ```ts
   * const client = await Pop3Client.connect({
   *   host: '127.0.0.1', port: 1110, tls: 'starttls', tlsOptions: { ca: testCaPem },
   *   timeouts: { idle: 30_000 }, limits: { maxMessageSize: 50 * 1024 * 1024 }, logger: pino(),
   * });
   * ```
   */
  static async connect(options: Pop3ConnectOptions): Promise<Pop3Client> {
    checkConnectOptions(options);
    const client = new Pop3Client(options);
    const signal = options.signal;
    try {
      if (signal?.aborted) throw new MultiPopError('ABORTED', 'Connecting was aborted');
      signal?.addEventListener('abort', client.#onAbort, { once: true });
      const greeting = await openSession(client.#connection, options);
      client.#greeting = greeting.text;
      client.#apopTimestamp = greeting.apopTimestamp;
    } catch (err) {
      const error = toMultiPopError(err, 'PROTOCOL_ERROR', 'POP3 client failure');
      client.#connection.fail(error);
      signal?.removeEventListener('abort', client.#onAbort);
      throw error;
    }
    return client;
  }

  get greeting(): string {
    return this.#greeting;
  }

  get apopTimestamp(): string | undefined {
    return this.#apopTimestamp;
  }

  get capabilities(): Pop3Capabilities {
    return this.#connection.capabilities;
  }

  get secure(): boolean {
    return this.#connection.secure;
  }

  /** The protocol state: AUTHORIZATION → TRANSACTION → UPDATE → CLOSED. */
  get state(): Pop3State {
    return this.#connection.state;
  }

  /** Commands that may be in flight at once (1 without PIPELINING). */
  get pipelineWindow(): number {
    return this.#connection.window;
  }

  /** Bytes received from the server so far (after TLS decryption). */
  get bytesReceived(): number {
    return this.#connection.bytesReceived;
  }

  login(user: string, password: string): Promise<void> {
    return this.#run(() => auth.login(this.#connection, user, password));
  }

  apop(user: string, secret: string): Promise<void> {
    return this.#run(() => auth.apop(this.#connection, this.#apopTimestamp, user, secret));
  }

  authPlain(user: string, password: string, authzid = ''): Promise<void> {
    return this.#run(() => auth.authPlain(this.#connection, user, password, authzid));
  }

  authXOAuth2(user: string, accessToken: string, form: 'initial-response' | 'continuation'): Promise<void> {
    return this.#run(() => auth.authXOAuth2(this.#connection, user, accessToken, form));
  }

  authOAuthBearer(user: string, accessToken: string): Promise<void> {
    return this.#run(() => auth.authOAuthBearer(this.#connection, user, accessToken));
  }

  /** STAT: the number of messages and their total size in octets. */
  stat(): Promise<{ count: number; size: number }> {
    return this.#run(() => transaction.stat(this.#connection));
  }

  /** LIST: the size of every message. */
  list(): Promise<Pop3ListEntry[]>;
  /** LIST msg: the size of one message. */
  list(msg: number): Promise<Pop3ListEntry>;
  list(msg?: number): Promise<Pop3ListEntry[] | Pop3ListEntry> {
    return this.#run(() => transaction.list(this.#connection, msg));
  }

  /** UIDL: the unique id of every message. */
  uidl(): Promise<Pop3UidlEntry[]>;
  /** UIDL msg: the unique id of one message. */
  uidl(msg: number): Promise<Pop3UidlEntry>;
  uidl(msg?: number): Promise<Pop3UidlEntry[] | Pop3UidlEntry> {
    return this.#run(() => transaction.uidl(this.#connection, msg));
  }

  top(msg: number, lines: number): Promise<Buffer> {
    return this.#run(() => transaction.top(this.#connection, msg, lines));
  }

  retr(msg: number): Promise<Pop3MessageStream> {
    return this.#run(() => transaction.retr(this.#connection, msg));
  }

  /** DELE: marks a message deleted (committed by QUIT only). */
  dele(msg: number): Promise<void> {
    return this.#run(() => transaction.simple(this.#connection, 'DELE', msg));
  }

  /** RSET: unmarks every message marked deleted in this session. */
  rset(): Promise<void> {
    return this.#run(() => transaction.simple(this.#connection, 'RSET'));
  }

  /** NOOP: keeps the connection alive. */
  noop(): Promise<void> {
    return this.#run(() => transaction.simple(this.#connection, 'NOOP'));
  }

  quit(): Promise<void> {
    return this.#run(() => transaction.quit(this.#connection));
  }

  close(): void {
    this.#connection.fail(
      new MultiPopError('CONNECTION_CLOSED', 'The connection was closed by the client'),
      false,
    );
  }

  /**
   * Runs an operation and marks its promise as handled, so that a caller who pipelines
   * `retr(1)`, `retr(2)` and is still awaiting the first when the connection fails does not
   * crash the host with an unhandled rejection of the second. Awaiting it still throws.
   */
  #run<T>(operation: () => Promise<T>): Promise<T> {
    let promise: Promise<T>;
    try {
      promise = operation();
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.catch(() => {});
    return promise;
  }
}
