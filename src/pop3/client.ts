import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type ErrorCode, type ErrorContext, isMultiPopError, MultiPopError } from '../errors/index.js';
import { createLog, type Log, redact, SecretRegistry } from '../log/index.js';
import type {
  Pop3Capabilities,
  Pop3ClientApi,
  Pop3ConnectOptions,
  Pop3Limits,
  Pop3ListEntry,
  Pop3MessageStream,
  Pop3Timeouts,
  Pop3UidlEntry,
} from './api.js';
import { apopDigest, apopTimestamp } from './apop.js';
import { emptyCapabilities, parseCapabilities } from './capabilities.js';
import { type FrameEvent, Pop3Framer } from './framer.js';
import {
  DEFAULT_PIPELINE_WINDOW,
  limitExceeded,
  MAX_COMMAND_LENGTH,
  resolveLimits,
  resolveTimeouts,
} from './limits.js';
import { errorFromStatus, type Pop3Status, parseStatus } from './response.js';
import {
  decodeChallenge,
  oauthBearerResponse,
  plainResponse,
  type SaslChallenge,
  xoauth2Response,
} from './sasl.js';
import { allowedStates, authVerbs, barrierVerbs, Pop3State, type Pop3Verb } from './state.js';
import { openTransport, type TransportTarget, upgradeTransport } from './transport.js';

/** Events a {@link Pop3Client} emits. It never emits `error`: failures reject operations. */
export interface Pop3ClientEvents {
  /** The connection is closed; `error` tells why when it was not QUIT or `close()`. */
  close: [info: { error?: MultiPopError }];
  /**
   * A line arrived while no command was waiting — typically `-ERR` before an idle disconnect.
   * Secrets the client knows are scrubbed from `line`.
   */
  unsolicited: [info: { line: string; status?: Pop3Status }];
}

type ResponseKind = 'single' | 'listing' | 'stream' | 'buffer';

/** A SASL exchange in progress (RFC 5034 §4). */
interface SaslExchange {
  mechanism: string;
  /** The client response, sent after an empty `+` when it was not sent with the command. */
  response: string;
  stage: 'initial-sent' | 'awaiting-ready' | 'response-sent' | 'aborting';
  /** Sent to end an exchange the server failed with a challenge. */
  abortLine: string;
  challenge?: SaslChallenge;
}

interface CommandResult {
  status: Pop3Status;
  items: string[];
  body?: Buffer;
  stream?: Readable;
}

/** One command from enqueueing to its complete response. */
interface Command {
  verb: Pop3Verb | 'GREETING';
  /** Bytes to send; absent for the greeting, which is "sent" by connecting. */
  line?: Buffer;
  /** What the log shows instead of `line`: arguments that carry credentials are replaced. */
  logLine: string;
  kind: ResponseKind;
  barrier: boolean;
  auth: boolean;
  timeoutMs: number;
  timeoutCode: 'COMMAND_TIMEOUT' | 'GREETING_TIMEOUT';
  sasl?: SaslExchange;
  /** Runs synchronously on `+OK`, before the next command is written (state changes). */
  onSuccess?: (status: Pop3Status) => void;
  resolve(result: CommandResult): void;
  reject(error: MultiPopError): void;
  status?: Pop3Status;
  items: string[];
  parts: Buffer[];
  stream?: Readable;
  /** The consumer destroyed the body stream: the rest of the body is read and dropped. */
  discard: boolean;
  done: boolean;
}

interface CommandSpec {
  verb: Pop3Verb;
  args?: string[];
  logArgs?: string[];
  kind?: ResponseKind;
  sasl?: SaslExchange;
  onSuccess?: (status: Pop3Status) => void;
}

const CRLF = '\r\n';
const FORBIDDEN_IN_ARGUMENT = /[\r\n\0]/;
const REDACTED_ARG = '[REDACTED]';
// Bodies stream through a Readable whose buffer is allowed to hold a few socket reads; smaller
// values make the client pause and resume the socket for every chunk.
const BODY_HIGH_WATER_MARK = 256 * 1024;
let connectionCounter = 0;

/**
 * multipop's POP3 client (RFC 1939 with CAPA, RESP-CODES and PIPELINING from RFC 2449, STLS
 * from RFC 2595, SASL from RFC 5034, response codes from RFC 3206). Bytes of messages are never
 * decoded: `retr()` streams them exactly as stored, un-stuffed, with back-pressure.
 *
 * - **TLS**: `implicit`, `starttls` (STLS, never downgraded: without STLS the connection fails
 *   with `TLS_REQUIRED` before any credential is sent) or `none`. Certificates are verified.
 * - **Pipelining**: when the server advertises PIPELINING, commands issued without awaiting
 *   are written at once (up to a window) and their responses matched in order; otherwise they
 *   queue. The API is the same either way.
 * - **Failures** reject with a {@link MultiPopError}; the client never emits `error`. After a
 *   transport failure, a timeout or an exceeded limit every pending operation is rejected and
 *   the connection is closed.
 *
 * @example
 * ```ts
 * const client = await Pop3Client.connect({ host: 'pop.example.com', port: 995, tls: 'implicit' });
 * await client.login('ann', 'secret');
 * const listing = await client.uidl();
 * for (const { msg, uid } of listing) {
 *   const body = await client.retr(msg);
 *   await pipeline(body, createWriteStream(`${uid}.eml`));
 * }
 * await client.quit();
 * ```
 */
export class Pop3Client extends EventEmitter<Pop3ClientEvents> implements Pop3ClientApi {
  readonly host: string;
  readonly port: number;
  /** An id for this connection, carried by every log entry (`cid`). */
  readonly connectionId: string;

  readonly #options: Pop3ConnectOptions;
  readonly #timeouts: Pop3Timeouts;
  readonly #limits: Pop3Limits;
  readonly #log: Log;
  readonly #secrets = new SecretRegistry();
  readonly #framer: Pop3Framer;
  #socket: Socket | TLSSocket | undefined;
  #state: Pop3State = Pop3State.AUTHORIZATION;
  #secure = false;
  #greeting = '';
  #apopTimestamp: string | undefined;
  #capabilities: Pop3Capabilities = emptyCapabilities();
  // Commands written and awaiting their responses, oldest first; the head is being received.
  readonly #pending: Command[] = [];
  // Commands not yet written (window full, a barrier in flight, or the socket congested).
  readonly #queued: Command[] = [];
  #window = 1;
  #writeBlocked = false;
  // The consumer of a body stream stopped reading: the socket is paused, timers stop.
  #consumerPaused = false;
  // Input handling is suspended while the transport is swapped for TLS (after STLS).
  #suspended = false;
  #processing = false;
  #quitRequested = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #closeError: MultiPopError | undefined;
  #bytesReceived = 0;
  readonly #onAbort = (): void => this.#fail(new MultiPopError('ABORTED', 'The POP3 session was aborted'));

  private constructor(options: Pop3ConnectOptions) {
    super();
    this.host = options.host;
    this.port = options.port;
    this.#options = options;
    this.#timeouts = resolveTimeouts(options.timeouts);
    this.#limits = resolveLimits(options.limits);
    this.#framer = new Pop3Framer(this.#limits);
    connectionCounter += 1;
    this.connectionId = `pop3-${process.pid.toString(36)}-${connectionCounter.toString(36)}`;
    const bindings = { component: 'pop3', cid: this.connectionId };
    const logger = options.logger;
    this.#log =
      logger && 'child' in logger
        ? logger.child(bindings)
        : createLog(logger || false, bindings, this.#secrets);
  }

  /**
   * Connects, reads the greeting and the capabilities, and (for `tls: 'starttls'`) upgrades
   * with STLS and reads the capabilities again. Resolves in the AUTHORIZATION state.
   *
   * @throws MultiPopError `CONNECT_FAILED`, `CONNECT_TIMEOUT`, `TLS_FAILED`, `TLS_REQUIRED`,
   *   `GREETING_TIMEOUT`, `PROTOCOL_ERROR`, `SERVER_ERROR`/`SYS_TEMP`/… (greeting `-ERR`),
   *   `ABORTED`, `CONFIG_INVALID` (options).
   * @example
   * ```ts
   * const client = await Pop3Client.connect({
   *   host: '127.0.0.1', port: 1110, tls: 'starttls', tlsOptions: { ca: testCaPem },
   *   timeouts: { idle: 30_000 }, pipelining: 'auto', logger: pino(),
   * });
   * ```
   */
  static async connect(options: Pop3ConnectOptions): Promise<Pop3Client> {
    validateConnectOptions(options);
    const client = new Pop3Client(options);
    try {
      await client.#open();
    } catch (err) {
      const error = toMultiPopError(err, 'PROTOCOL_ERROR');
      client.#fail(error);
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
    return this.#capabilities;
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** The protocol state: AUTHORIZATION → TRANSACTION → UPDATE → CLOSED. */
  get state(): Pop3State {
    return this.#state;
  }

  /** Bytes received from the server so far (TLS: decrypted bytes). */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Commands that may be in flight at once (1 without PIPELINING). */
  get pipelineWindow(): number {
    return this.#window;
  }

  // ---------------------------------------------------------------- authentication

  login(user: string, password: string): Promise<void> {
    return quiet(this.#login(user, password));
  }

  async #login(user: string, password: string): Promise<void> {
    checkText(user, 'user', false);
    checkText(password, 'password', true);
    this.#secrets.add(password);
    // PASS is queued by USER's success handler, ahead of anything the caller issued since, so
    // it is never sent after a failed USER and no later command can slip between the two.
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({
        verb: 'USER',
        args: [user],
        onSuccess: () => {
          const pass = this.#makeCommand({
            verb: 'PASS',
            args: [password],
            logArgs: [REDACTED_ARG],
            onSuccess: this.#authenticated,
          });
          pass.resolve = () => resolve();
          pass.reject = reject;
          this.#queued.unshift(pass);
        },
      }).catch(reject);
    });
  }

  apop(user: string, secret: string): Promise<void> {
    return quiet(this.#apop(user, secret));
  }

  async #apop(user: string, secret: string): Promise<void> {
    checkText(user, 'user', false);
    checkText(secret, 'secret', true);
    const timestamp = this.#apopTimestamp;
    if (timestamp === undefined) {
      throw new MultiPopError('UNSUPPORTED', 'The greeting carries no APOP timestamp', { command: 'APOP' });
    }
    this.#secrets.add(secret);
    const digest = apopDigest(timestamp, secret);
    this.#secrets.add(digest);
    await this.#enqueue({
      verb: 'APOP',
      args: [user, digest],
      logArgs: [user, REDACTED_ARG],
      onSuccess: this.#authenticated,
    });
  }

  authPlain(user: string, password: string, authzid = ''): Promise<void> {
    return quiet(this.#authPlain(user, password, authzid));
  }

  async #authPlain(user: string, password: string, authzid = ''): Promise<void> {
    checkText(user, 'user', false);
    checkText(password, 'password', true);
    checkText(authzid, 'authzid', true);
    this.#secrets.add(password);
    await this.#authenticate('PLAIN', plainResponse(user, password, authzid), 'auto', '*');
  }

  authXOAuth2(user: string, accessToken: string, form: 'initial-response' | 'continuation'): Promise<void> {
    return quiet(this.#authXOAuth2(user, accessToken, form));
  }

  async #authXOAuth2(
    user: string,
    accessToken: string,
    form: 'initial-response' | 'continuation',
  ): Promise<void> {
    checkText(user, 'user', false);
    checkText(accessToken, 'accessToken', false);
    if (form !== 'initial-response' && form !== 'continuation') {
      throw new MultiPopError('CONFIG_INVALID', 'XOAUTH2 form must be initial-response or continuation', {
        field: 'form',
      });
    }
    this.#secrets.add(accessToken);
    // Google and Microsoft expect an empty line in answer to the failure challenge.
    await this.#authenticate('XOAUTH2', xoauth2Response(user, accessToken), form, '');
  }

  authOAuthBearer(user: string, accessToken: string): Promise<void> {
    return quiet(this.#authOAuthBearer(user, accessToken));
  }

  async #authOAuthBearer(user: string, accessToken: string): Promise<void> {
    checkText(user, 'user', false);
    checkText(accessToken, 'accessToken', false);
    this.#secrets.add(accessToken);
    // RFC 7628 §3.2.3: after an error challenge the client sends the dummy response %x01.
    const abort = Buffer.from([1]).toString('base64');
    await this.#authenticate(
      'OAUTHBEARER',
      oauthBearerResponse(user, accessToken, this.host, this.port),
      'auto',
      abort,
    );
  }

  async #authenticate(
    mechanism: string,
    response: string,
    form: 'initial-response' | 'continuation' | 'auto',
    abortLine: string,
  ): Promise<void> {
    this.#secrets.add(response);
    // RFC 5034 §4: an initial response that would make the command longer than 255 octets is
    // sent after the server's `+` instead. Gmail wants XOAUTH2 in one line regardless.
    const initial =
      form === 'initial-response' ||
      (form === 'auto' && `AUTH ${mechanism} ${response}${CRLF}`.length <= MAX_COMMAND_LENGTH);
    const sasl: SaslExchange = {
      mechanism,
      response,
      stage: initial ? 'initial-sent' : 'awaiting-ready',
      abortLine,
    };
    try {
      await this.#enqueue({
        verb: 'AUTH',
        args: initial ? [mechanism, response] : [mechanism],
        logArgs: initial ? [mechanism, REDACTED_ARG] : [mechanism],
        sasl,
        onSuccess: this.#authenticated,
      });
    } catch (err) {
      if (isMultiPopError(err) && sasl.challenge !== undefined) {
        err.context['saslError'] = sasl.challenge.json ?? sasl.challenge.text;
      }
      if (isMultiPopError(err)) err.context['mechanism'] = mechanism;
      throw err;
    }
  }

  readonly #authenticated = (): void => {
    this.#state = Pop3State.TRANSACTION;
    this.#log.debug({ state: this.#state }, 'pop3 authenticated');
  };

  // ---------------------------------------------------------------- transaction

  stat(): Promise<{ count: number; size: number }> {
    return quiet(this.#stat());
  }

  async #stat(): Promise<{ count: number; size: number }> {
    const { status } = await this.#enqueue({ verb: 'STAT' });
    const match = /^(\d+)\s+(\d+)/.exec(status.text);
    if (!match) throw this.#malformed('STAT', status.text);
    return { count: Number(match[1]), size: Number(match[2]) };
  }

  list(): Promise<Pop3ListEntry[]>;
  list(msg: number): Promise<Pop3ListEntry>;
  list(msg?: number): Promise<Pop3ListEntry[] | Pop3ListEntry> {
    return quiet(this.#list(msg));
  }

  async #list(msg?: number): Promise<Pop3ListEntry[] | Pop3ListEntry> {
    if (msg !== undefined) {
      checkMessageNumber(msg);
      const { status } = await this.#enqueue({ verb: 'LIST', args: [String(msg)] });
      return this.#parseListEntry(status.text);
    }
    const { items } = await this.#enqueue({ verb: 'LIST', kind: 'listing' });
    return items.map((item) => this.#parseListEntry(item));
  }

  uidl(): Promise<Pop3UidlEntry[]>;
  uidl(msg: number): Promise<Pop3UidlEntry>;
  uidl(msg?: number): Promise<Pop3UidlEntry[] | Pop3UidlEntry> {
    return quiet(this.#uidl(msg));
  }

  async #uidl(msg?: number): Promise<Pop3UidlEntry[] | Pop3UidlEntry> {
    if (msg !== undefined) {
      checkMessageNumber(msg);
      const { status } = await this.#enqueue({ verb: 'UIDL', args: [String(msg)] });
      return this.#parseUidlEntry(status.text);
    }
    const { items } = await this.#enqueue({ verb: 'UIDL', kind: 'listing' });
    return items.map((item) => this.#parseUidlEntry(item));
  }

  top(msg: number, lines: number): Promise<Buffer> {
    return quiet(this.#top(msg, lines));
  }

  async #top(msg: number, lines: number): Promise<Buffer> {
    checkMessageNumber(msg);
    if (!Number.isSafeInteger(lines) || lines < 0) {
      throw new MultiPopError('CONFIG_INVALID', 'TOP line count must be a non-negative integer', {
        field: 'lines',
      });
    }
    const { body } = await this.#enqueue({ verb: 'TOP', args: [String(msg), String(lines)], kind: 'buffer' });
    return body ?? Buffer.alloc(0);
  }

  retr(msg: number): Promise<Pop3MessageStream> {
    return quiet(this.#retr(msg));
  }

  async #retr(msg: number): Promise<Pop3MessageStream> {
    checkMessageNumber(msg);
    const { stream } = await this.#enqueue({ verb: 'RETR', args: [String(msg)], kind: 'stream' });
    return stream!;
  }

  dele(msg: number): Promise<void> {
    return quiet(this.#dele(msg));
  }

  async #dele(msg: number): Promise<void> {
    checkMessageNumber(msg);
    await this.#enqueue({ verb: 'DELE', args: [String(msg)] });
  }

  rset(): Promise<void> {
    return quiet(this.#rset());
  }

  async #rset(): Promise<void> {
    await this.#enqueue({ verb: 'RSET' });
  }

  noop(): Promise<void> {
    return quiet(this.#noop());
  }

  async #noop(): Promise<void> {
    await this.#enqueue({ verb: 'NOOP' });
  }

  quit(): Promise<void> {
    return quiet(this.#quit());
  }

  async #quit(): Promise<void> {
    if (this.#quitRequested)
      throw new MultiPopError('INVALID_STATE', 'QUIT was already sent', { command: 'QUIT' });
    const sent = this.#enqueue({
      verb: 'QUIT',
      onSuccess: () => {
        if (this.#state === Pop3State.TRANSACTION) this.#state = Pop3State.UPDATE;
      },
    });
    this.#quitRequested = true;
    try {
      await sent;
    } finally {
      this.#finishQuit();
    }
  }

  close(): void {
    this.#fail(new MultiPopError('CONNECTION_CLOSED', 'The connection was closed by the client'), false);
  }

  // ---------------------------------------------------------------- connection set-up

  async #open(): Promise<void> {
    const { tls } = this.#options;
    const target: TransportTarget = {
      host: this.host,
      port: this.port,
      tlsOptions: this.#options.tlsOptions,
      connectTimeout: this.#timeouts.connect,
      signal: this.#options.signal,
    };
    const signal = this.#options.signal;
    if (signal?.aborted) throw new MultiPopError('ABORTED', 'Connecting was aborted');
    this.#log.debug({ host: this.host, port: this.port, tls }, 'pop3 connecting');
    const socket = await openTransport(target, tls === 'implicit');
    this.#secure = tls === 'implicit';
    signal?.addEventListener('abort', this.#onAbort, { once: true });

    const greeting = this.#makeCommand({ verb: 'QUIT' }, 'GREETING');
    this.#pending.push(greeting);
    this.#attach(socket);
    this.#armIdle();
    const { status } = await promiseOf(greeting);
    this.#greeting = status.text;
    this.#apopTimestamp = apopTimestamp(status.text);

    const capaSupported = await this.#readCapabilities();
    if (tls === 'starttls') {
      await this.#startTls(socket, target, capaSupported);
    }
    const pipelining = this.#options.pipelining ?? 'auto';
    if (this.#capabilities.pipelining && pipelining !== false) {
      this.#window =
        typeof pipelining === 'number' ? Math.max(1, Math.floor(pipelining)) : DEFAULT_PIPELINE_WINDOW;
    }
    this.#log.debug(
      { secure: this.#secure, capabilities: this.#capabilities.raw, window: this.#window },
      'pop3 connected',
    );
  }

  /** CAPA; false when the server does not know it (`-ERR`), leaving capabilities empty. */
  async #readCapabilities(): Promise<boolean> {
    try {
      const { items } = await this.#enqueue({ verb: 'CAPA', kind: 'listing' });
      this.#capabilities = parseCapabilities(items);
      return true;
    } catch (err) {
      if (isServerRefusal(err)) {
        this.#capabilities = emptyCapabilities();
        return false;
      }
      throw err;
    }
  }

  async #startTls(plain: Socket, target: TransportTarget, capaSupported: boolean): Promise<void> {
    // No downgrade: without STLS (or when it fails) nothing else is sent on this connection.
    // A server without CAPA may still know STLS, so it is tried once in that case.
    if (capaSupported && !this.#capabilities.stls) {
      throw new MultiPopError('TLS_REQUIRED', 'The server does not offer STLS; no credentials were sent', {
        command: 'STLS',
        host: this.host,
      });
    }
    try {
      await this.#enqueue({
        verb: 'STLS',
        onSuccess: () => {
          // Stop reading plaintext at once: bytes after the +OK line are either the TLS
          // handshake (handled by the TLS socket) or an injection attempt.
          this.#suspended = true;
          this.#detach(plain);
        },
      });
    } catch (err) {
      if (isServerRefusal(err)) {
        throw new MultiPopError(
          'TLS_REQUIRED',
          'The server refused STLS; no credentials were sent',
          {
            command: 'STLS',
            host: this.host,
            responseCode: (err as MultiPopError).context.responseCode,
          },
          { cause: err },
        );
      }
      throw err;
    }
    if (this.#framer.buffered > 0) {
      // Plaintext pipelined behind the STLS response would be read as if it came over TLS
      // (the STARTTLS command-injection class of bugs): refuse the session.
      throw new MultiPopError(
        'PROTOCOL_ERROR',
        'The server sent data after +OK to STLS before the TLS handshake',
        {
          command: 'STLS',
        },
      );
    }
    const secure = await upgradeTransport(plain, target);
    this.#secure = true;
    this.#suspended = false;
    this.#attach(secure);
    // RFC 2595 §4: everything learned before TLS is discarded and asked again.
    this.#capabilities = emptyCapabilities();
    await this.#readCapabilities();
  }

  #attach(socket: Socket): void {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onSocketClose);
  }

  #detach(socket: Socket): void {
    socket.off('data', this.#onData);
    socket.off('error', this.#onSocketError);
    socket.off('close', this.#onSocketClose);
    socket.on('error', () => {});
    socket.pause();
  }

  // ---------------------------------------------------------------- command queue

  #makeCommand(spec: CommandSpec, verbOverride?: 'GREETING'): Command {
    const args = spec.args ?? [];
    const logArgs = spec.logArgs ?? args;
    const verb = verbOverride ?? spec.verb;
    const auth = verbOverride === undefined && authVerbs.has(spec.verb);
    const command: Command = {
      verb,
      line: verbOverride ? undefined : Buffer.from(`${[spec.verb, ...args].join(' ')}${CRLF}`, 'utf8'),
      logLine: [verb, ...logArgs].join(' '),
      kind: spec.kind ?? 'single',
      barrier: verbOverride === undefined && barrierVerbs.has(spec.verb),
      auth,
      timeoutMs: verbOverride ? this.#timeouts.greeting : this.#timeouts.idle,
      timeoutCode: verbOverride ? 'GREETING_TIMEOUT' : 'COMMAND_TIMEOUT',
      sasl: spec.sasl,
      onSuccess: spec.onSuccess,
      resolve: () => {},
      reject: () => {},
      items: [],
      parts: [],
      discard: false,
      done: false,
    };
    return command;
  }

  #enqueue(spec: CommandSpec): Promise<CommandResult> {
    const command = this.#makeCommand(spec);
    const promise = promiseOf(command);
    if (this.#state === Pop3State.CLOSED) {
      command.reject(this.#closedError(spec.verb));
    } else if (this.#quitRequested) {
      command.reject(new MultiPopError('INVALID_STATE', `${spec.verb} after QUIT`, { command: spec.verb }));
    } else {
      this.#queued.push(command);
      this.#pump();
    }
    return promise;
  }

  /** Writes queued commands while the window, barriers and the socket allow. */
  #pump(): void {
    const socket = this.#socket;
    if (!socket || this.#state === Pop3State.CLOSED || this.#writeBlocked || this.#suspended) return;
    let wrote = false;
    socket.cork();
    try {
      while (this.#queued.length > 0) {
        const next = this.#queued[0]!;
        const inFlight = this.#pending.length;
        const last = this.#pending[inFlight - 1];
        if (last !== undefined && (next.barrier || last.barrier || inFlight >= this.#window)) break;
        this.#queued.shift();
        const allowed = allowedStates[next.verb as Pop3Verb];
        if (!allowed.includes(this.#state)) {
          next.reject(
            new MultiPopError('INVALID_STATE', `${next.verb} is not allowed in the ${this.#state} state`, {
              command: next.verb,
              state: this.#state,
            }),
          );
          continue;
        }
        this.#pending.push(next);
        this.#log.debug({ dir: 'C', line: next.logLine }, 'pop3 command');
        wrote = true;
        if (!socket.write(next.line!)) {
          this.#writeBlocked = true;
          socket.once('drain', () => {
            this.#writeBlocked = false;
            this.#pump();
          });
          break;
        }
      }
    } finally {
      socket.uncork();
    }
    if (wrote && this.#idleTimer === undefined) this.#armIdle();
  }

  /** Writes a SASL line outside the queue (the AUTH barrier guarantees nothing else is in flight). */
  #writeSaslLine(text: string, logText: string): void {
    this.#log.debug({ dir: 'C', line: logText }, 'pop3 sasl response');
    this.#socket?.write(`${text}${CRLF}`);
  }

  // ---------------------------------------------------------------- receiving

  readonly #onData = (chunk: Buffer): void => {
    this.#bytesReceived += chunk.length;
    this.#framer.push(chunk);
    this.#armIdle();
    this.#processInput();
  };

  readonly #onSocketError = (err: Error): void => {
    this.#fail(
      new MultiPopError(
        'CONNECTION_CLOSED',
        `The connection to ${this.host}:${this.port} failed: ${err.message}`,
        {
          reason: (err as NodeJS.ErrnoException).code,
        },
        { cause: err },
      ),
    );
  };

  readonly #onSocketClose = (): void => {
    this.#fail(new MultiPopError('CONNECTION_CLOSED', `${this.host}:${this.port} closed the connection`));
  };

  #processInput(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (!this.#consumerPaused && !this.#suspended && this.#state !== Pop3State.CLOSED) {
        const event = this.#framer.next();
        if (event === undefined) break;
        this.#handle(event);
      }
    } catch (err) {
      this.#fail(toMultiPopError(err, 'PROTOCOL_ERROR'));
    } finally {
      this.#processing = false;
    }
  }

  #handle(event: FrameEvent): void {
    const command = this.#pending[0];
    if (command === undefined) {
      // Only line mode can produce events with nothing pending (bodies belong to a command).
      if (event.type === 'status') this.#unsolicited(event.line);
      else if (event.type === 'continuation') this.#unsolicited(`+ ${event.payload}`);
      return;
    }
    switch (event.type) {
      case 'status':
        this.#onStatus(command, event.line);
        break;
      case 'continuation':
        this.#onContinuation(command, event.payload);
        break;
      case 'item':
        if (command.items.length >= this.#limits.maxListingEntries) {
          throw limitExceeded('maxListingEntries', this.#limits.maxListingEntries, { command: command.verb });
        }
        command.items.push(event.line);
        break;
      case 'body':
        this.#onBody(command, event.chunk);
        break;
      case 'end':
        this.#onEnd(command, event.size);
        break;
    }
  }

  #onStatus(command: Command, line: string): void {
    const safeLine = this.#scrub(line);
    this.#log.debug({ dir: 'S', line: safeLine }, 'pop3 response');
    const status = parseStatus(safeLine);
    if (status === undefined) {
      // We cannot know whether a body follows: the session is out of step and must end.
      throw new MultiPopError('PROTOCOL_ERROR', `${command.verb}: expected +OK or -ERR from the server`, {
        command: command.verb,
        response: command.auth ? undefined : safeLine.slice(0, 200),
      });
    }
    if (!status.ok) {
      this.#complete(command);
      const error = errorFromStatus(status, {
        verb: command.verb,
        auth: command.auth,
        loginDelay: this.#capabilities.loginDelay,
      });
      command.reject(error);
      if (command.verb === 'GREETING') this.#fail(error);
      return;
    }
    command.status = status;
    if (command.kind === 'single') {
      command.onSuccess?.(status);
      this.#complete(command);
      command.resolve({ status, items: [] });
      return;
    }
    if (command.kind === 'listing') {
      this.#framer.expectListing();
      return;
    }
    this.#framer.expectBody(this.#limits.maxMessageSize);
    if (command.kind === 'stream') {
      command.stream = this.#bodyStream(command);
      command.resolve({ status, items: [], stream: command.stream });
    }
  }

  #onContinuation(command: Command, payload: string): void {
    const sasl = command.sasl;
    if (sasl === undefined || sasl.stage === 'aborting') {
      throw new MultiPopError(
        'PROTOCOL_ERROR',
        `${command.verb}: unexpected SASL continuation from the server`,
        {
          command: command.verb,
        },
      );
    }
    this.#log.debug({ dir: 'S', line: `+ ${this.#scrub(payload)}` }, 'pop3 continuation');
    if (sasl.stage === 'awaiting-ready') {
      sasl.stage = 'response-sent';
      this.#writeSaslLine(sasl.response, REDACTED_ARG);
    } else {
      // A challenge after our response is the server's error report (RFC 7628 §3.2.2): answer
      // so that it can finish with -ERR, and keep the decoded report for the error.
      sasl.challenge = decodeChallenge(payload);
      sasl.stage = 'aborting';
      this.#writeSaslLine(sasl.abortLine, sasl.abortLine === '' ? '(empty line)' : sasl.abortLine);
    }
  }

  #onBody(command: Command, chunk: Buffer): void {
    if (command.kind === 'buffer') {
      command.parts.push(chunk);
      return;
    }
    if (command.discard || command.stream === undefined) return;
    if (!command.stream.push(chunk)) this.#pauseForConsumer();
  }

  #onEnd(command: Command, size: number): void {
    this.#log.debug({ command: command.verb, size }, 'pop3 multi-line response complete');
    const status = command.status!;
    command.onSuccess?.(status);
    this.#complete(command);
    if (command.kind === 'listing') command.resolve({ status, items: command.items });
    else if (command.kind === 'buffer')
      command.resolve({ status, items: [], body: Buffer.concat(command.parts) });
    else if (!command.discard) command.stream?.push(null);
  }

  /** Removes the head command once its response is complete and lets the next ones go. */
  #complete(command: Command): void {
    command.done = true;
    this.#pending.shift();
    this.#armIdle();
    this.#pump();
  }

  #unsolicited(line: string): void {
    const safe = this.#scrub(line);
    this.#log.debug({ dir: 'S', line: safe }, 'pop3 unsolicited line');
    this.emit('unsolicited', { line: safe, status: parseStatus(safe) });
  }

  // ---------------------------------------------------------------- body streams

  #bodyStream(command: Command): Readable {
    const stream = new Readable({
      highWaterMark: BODY_HIGH_WATER_MARK,
      read: () => {
        if (this.#consumerPaused && this.#pending[0] === command) this.#resumeFromConsumer();
      },
      destroy: (error, callback) => {
        if (!command.done) {
          // The consumer gave up on this body: keep reading it off the wire (to stay in step
          // with the server) and drop it.
          command.discard = true;
          if (this.#consumerPaused && this.#pending[0] === command) this.#resumeFromConsumer();
        }
        callback(error);
      },
    });
    // A body stream that fails while nobody listens must not crash the host; listeners the
    // consumer adds (pipeline, for await) still receive the error.
    stream.on('error', () => {});
    return stream;
  }

  #pauseForConsumer(): void {
    this.#consumerPaused = true;
    this.#socket?.pause();
    this.#clearIdle();
  }

  #resumeFromConsumer(): void {
    this.#consumerPaused = false;
    if (this.#state === Pop3State.CLOSED) return;
    this.#socket?.resume();
    this.#armIdle();
    this.#processInput();
  }

  // ---------------------------------------------------------------- timers, failure, close

  /** (Re)starts the silence timer for the command at the head, or stops it when none waits. */
  #armIdle(): void {
    this.#clearIdle();
    const head = this.#pending[0];
    if (head === undefined || this.#consumerPaused || this.#state === Pop3State.CLOSED) return;
    const timer = setTimeout(() => {
      const verb = head.verb;
      const message =
        head.timeoutCode === 'GREETING_TIMEOUT'
          ? `No greeting from ${this.host}:${this.port} within ${head.timeoutMs} ms`
          : `${verb}: the server sent nothing for ${head.timeoutMs} ms`;
      this.#fail(new MultiPopError(head.timeoutCode, message, { command: verb, timeoutMs: head.timeoutMs }));
    }, head.timeoutMs);
    timer.unref();
    this.#idleTimer = timer;
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /**
   * Ends the session after a failure (or `close()`): rejects every pending and queued
   * operation, errors an unfinished body stream, closes the socket, emits `close` once.
   */
  #fail(error: MultiPopError, report = true): void {
    if (this.#state === Pop3State.CLOSED) return;
    this.#state = Pop3State.CLOSED;
    this.#closeError = error;
    this.#clearIdle();
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const victims = [...this.#pending.splice(0), ...this.#queued.splice(0)];
    for (const [index, command] of victims.entries()) {
      const own =
        index === 0 && error.context.command === undefined
          ? withCommand(error, command.verb)
          : new MultiPopError(
              error.code,
              error.message,
              { ...error.context, command: command.verb },
              { cause: error },
            );
      command.done = true;
      if (command.stream !== undefined && !command.stream.destroyed) command.stream.destroy(own);
      else command.reject(own);
    }
    if (this.#socket) {
      this.#socket.on('error', () => {});
      this.#socket.destroy();
    }
    if (report)
      this.#log.debug({ code: error.code, message: this.#scrub(error.message) }, 'pop3 session failed');
    else this.#log.debug({}, 'pop3 connection closed by the client');
    this.emit('close', report ? { error } : {});
  }

  /** After QUIT: close the socket gracefully (the server has committed or failed already). */
  #finishQuit(): void {
    if (this.#state === Pop3State.CLOSED) return;
    this.#state = Pop3State.CLOSED;
    this.#clearIdle();
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const socket = this.#socket;
    if (socket) {
      socket.off('close', this.#onSocketClose);
      socket.off('error', this.#onSocketError);
      socket.on('error', () => {});
      socket.end(() => socket.destroy());
    }
    this.#log.debug({}, 'pop3 session ended with QUIT');
    this.emit('close', {});
  }

  #closedError(verb: string): MultiPopError {
    return new MultiPopError(
      'INVALID_STATE',
      `${verb}: the connection is closed`,
      { command: verb },
      {
        cause: this.#closeError,
      },
    );
  }

  #scrub(text: string): string {
    return redact(text, this.#secrets.values()) as string;
  }

  #malformed(verb: string, text: string): MultiPopError {
    return new MultiPopError('PROTOCOL_ERROR', `${verb}: malformed response from the server`, {
      command: verb,
      response: this.#scrub(text).slice(0, 200),
    });
  }

  #parseListEntry(text: string): Pop3ListEntry {
    const match = /^(\d+)\s+(\d+)/.exec(text.trim());
    if (!match) throw this.#malformed('LIST', text);
    return { msg: Number(match[1]), size: Number(match[2]) };
  }

  #parseUidlEntry(text: string): Pop3UidlEntry {
    const match = /^(\d+)\s+(\S+)/.exec(text.trim());
    if (!match) throw this.#malformed('UIDL', text);
    return { msg: Number(match[1]), uid: match[2]! };
  }
}

/**
 * Marks an operation's promise as handled so that a caller who pipelines `retr(1)`, `retr(2)`
 * and is still awaiting the first when the connection fails does not crash the host with an
 * unhandled rejection of the second. Awaiting the returned promise still throws.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function promiseOf(command: Command): Promise<CommandResult> {
  return new Promise<CommandResult>((resolve, reject) => {
    command.resolve = resolve;
    command.reject = reject;
  });
}

/** True for a plain `-ERR` answer (the command is unknown or refused), not a transport failure. */
function isServerRefusal(err: unknown): boolean {
  return (
    isMultiPopError(err) &&
    ['SERVER_ERROR', 'SYS_TEMP', 'SYS_PERM', 'IN_USE', 'LOGIN_DELAY', 'AUTH_FAILED'].includes(err.code)
  );
}

function withCommand(error: MultiPopError, verb: string): MultiPopError {
  error.context.command = verb;
  return error;
}

function toMultiPopError(err: unknown, fallback: ErrorCode): MultiPopError {
  if (isMultiPopError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MultiPopError(fallback, `POP3 client failure: ${message}`, {}, { cause: err });
}

function checkText(value: unknown, field: string, allowEmpty: boolean): void {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) {
    throw new MultiPopError('CONFIG_INVALID', `${field} must be a${allowEmpty ? '' : ' non-empty'} string`, {
      field,
    });
  }
  // A CR or LF would end the command line early and let the rest be read as another command.
  if (FORBIDDEN_IN_ARGUMENT.test(value)) {
    throw new MultiPopError('CONFIG_INVALID', `${field} must not contain CR, LF or NUL`, { field });
  }
}

function checkMessageNumber(msg: unknown): void {
  if (typeof msg !== 'number' || !Number.isSafeInteger(msg) || msg < 1) {
    throw new MultiPopError('CONFIG_INVALID', 'A message number must be a positive integer', {
      field: 'msg',
    });
  }
}

function validateConnectOptions(options: Pop3ConnectOptions): void {
  const context: ErrorContext = {};
  if (
    typeof options?.host !== 'string' ||
    options.host.length === 0 ||
    FORBIDDEN_IN_ARGUMENT.test(options.host)
  ) {
    throw new MultiPopError('CONFIG_INVALID', 'host must be a non-empty host name or address', {
      ...context,
      field: 'host',
    });
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new MultiPopError('CONFIG_INVALID', 'port must be an integer in 1–65535', { field: 'port' });
  }
  if (!['implicit', 'starttls', 'none'].includes(options.tls)) {
    throw new MultiPopError('CONFIG_INVALID', "tls must be 'implicit', 'starttls' or 'none'", {
      field: 'tls',
    });
  }
  const p = options.pipelining;
  if (p !== undefined && p !== 'auto' && p !== false && !(typeof p === 'number' && p >= 1)) {
    throw new MultiPopError('CONFIG_INVALID', "pipelining must be 'auto', false or a window of at least 1", {
      field: 'pipelining',
    });
  }
}
