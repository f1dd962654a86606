import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { MultiPopError, toMultiPopError } from '../errors/index.js';
import { type Log, redact, type SecretRegistry } from '../log/index.js';
import type { Pop3Capabilities, Pop3Limits, Pop3Timeouts } from './api.js';
import { emptyCapabilities } from './capabilities.js';
import {
  type Command,
  type CommandResult,
  type CommandSpec,
  createCommand,
  createGreeting,
} from './command.js';
import { type FrameEvent, Pop3Framer } from './framer.js';
import { limitExceeded } from './limits.js';
import { errorFromStatus, type Pop3Status, parseStatus } from './response.js';
import { decodeChallenge } from './sasl.js';
import { allowedStates, Pop3State, type Pop3Verb } from './state.js';

/** Where a connection reports what happens outside any command. */
export interface ConnectionEvents {
  closed(info: { error?: MultiPopError }): void;
  unsolicited(info: { line: string; status?: Pop3Status }): void;
}

/** What a {@link Pop3Connection} needs to run. */
export interface ConnectionInit {
  host: string;
  port: number;
  timeouts: Pop3Timeouts;
  limits: Pop3Limits;
  log: Log;
  /** Secrets known so far; scrubbed from logged server lines and error texts. */
  secrets: SecretRegistry;
  events: ConnectionEvents;
}

const CRLF = '\r\n';
const REDACTED_ARG = '[REDACTED]';
// Bodies stream through a Readable whose buffer may hold a few socket reads; a smaller one
// makes the client pause and resume the socket for every chunk.
const BODY_HIGH_WATER_MARK = 256 * 1024;

/**
 * The engine under `Pop3Client`: one socket, the framer, and the command pipeline. It writes
 * commands (pipelined up to a window, never past a barrier, never into a congested socket),
 * matches responses in order, streams bodies with back-pressure, runs the idle timer, and on
 * any failure rejects everything pending and closes. It knows nothing about what the commands
 * mean beyond the protocol state they need; `Pop3Client` and the command modules do.
 *
 * Invariants: `#pending` holds written commands in order, its head is the one being received;
 * `#queued` holds commands not yet written; once `state` is CLOSED both are empty and stay so.
 */
export class Pop3Connection {
  readonly host: string;
  readonly port: number;
  readonly timeouts: Pop3Timeouts;
  readonly limits: Pop3Limits;
  readonly log: Log;
  readonly secrets: SecretRegistry;
  /** The protocol state; commands set it in their `onSuccess` handlers. */
  state: Pop3State = Pop3State.AUTHORIZATION;
  capabilities: Pop3Capabilities = emptyCapabilities();
  secure = false;
  /** Commands that may be in flight at once (1 unless the server pipelines). */
  window = 1;
  /** Set when QUIT was issued: no command may follow it. */
  quitRequested = false;

  readonly #events: ConnectionEvents;
  readonly #framer: Pop3Framer;
  #socket: Socket | undefined;
  readonly #pending: Command[] = [];
  readonly #queued: Command[] = [];
  #writeBlocked = false;
  // The consumer of a body stream stopped reading: the socket is paused, the timer stopped
  // (the silence is ours, not the server's).
  #consumerPaused = false;
  // Input is not processed while the transport is swapped for TLS (after STLS).
  #suspended = false;
  #processing = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #closeError: MultiPopError | undefined;
  #bytesReceived = 0;

  constructor(init: ConnectionInit) {
    this.host = init.host;
    this.port = init.port;
    this.timeouts = init.timeouts;
    this.limits = init.limits;
    this.log = init.log;
    this.secrets = init.secrets;
    this.#events = init.events;
    this.#framer = new Pop3Framer(init.limits);
  }

  /** Bytes received from the server (after TLS decryption). */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Bytes received but not yet framed. */
  get unreadBytes(): number {
    return this.#framer.buffered;
  }

  /** Starts reading from a freshly connected socket; resolves with the greeting. */
  start(socket: Socket): Promise<CommandResult> {
    const [greeting, result] = createGreeting(this.timeouts);
    this.#pending.push(greeting);
    this.attach(socket);
    this.#armIdle();
    return result;
  }

  /** Makes `socket` the transport (at start, and with the TLS socket after STLS). */
  attach(socket: Socket): void {
    this.#socket = socket;
    this.#suspended = false;
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onSocketClose);
    this.#pump();
  }

  /**
   * Stops reading from `socket` at once, before TLS takes it over: bytes after `+OK` to STLS
   * are either the handshake (for the TLS socket) or an injection attempt (never framed).
   */
  detachForUpgrade(socket: Socket): void {
    this.#suspended = true;
    socket.off('data', this.#onData);
    socket.off('error', this.#onSocketError);
    socket.off('close', this.#onSocketClose);
    socket.on('error', () => {});
  }

  /** Queues a command behind everything queued so far. */
  enqueue(spec: CommandSpec): Promise<CommandResult> {
    return this.#add(spec, false);
  }

  /**
   * Queues a command ahead of everything queued so far — for a command that must follow the
   * one just answered (PASS after USER), called from that command's `onSuccess`.
   */
  enqueueNext(spec: CommandSpec): Promise<CommandResult> {
    return this.#add(spec, true);
  }

  /**
   * Ends the session after a failure (or `close()`): rejects every pending and queued
   * operation, errors an unfinished body stream, destroys the socket, reports `closed` once.
   */
  fail(error: MultiPopError, report = true): void {
    if (this.state === Pop3State.CLOSED) return;
    this.state = Pop3State.CLOSED;
    this.#closeError = error;
    this.#clearIdle();
    const victims = [...this.#pending.splice(0), ...this.#queued.splice(0)];
    for (const [index, command] of victims.entries()) {
      // The command in flight gets the error itself; the others a copy naming their own verb.
      let own = error;
      if (index === 0 && error.context.command === undefined) error.context.command = command.verb;
      else
        own = new MultiPopError(
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
      this.log.debug({ code: error.code, message: this.scrub(error.message) }, 'pop3 session failed');
    else this.log.debug({}, 'pop3 connection closed by the client');
    this.#events.closed(report ? { error } : {});
  }

  /** After the answer to QUIT: close gracefully (the server has committed, or failed to). */
  finishQuit(): void {
    if (this.state === Pop3State.CLOSED) return;
    this.state = Pop3State.CLOSED;
    this.#clearIdle();
    const socket = this.#socket;
    if (socket) {
      socket.off('close', this.#onSocketClose);
      socket.off('error', this.#onSocketError);
      socket.on('error', () => {});
      socket.end(() => socket.destroy());
    }
    this.log.debug({}, 'pop3 session ended with QUIT');
    this.#events.closed({});
  }

  /** `text` with every known secret replaced. */
  scrub(text: string): string {
    return redact(text, this.secrets.values()) as string;
  }

  // ---------------------------------------------------------------- writing

  #add(spec: CommandSpec, front: boolean): Promise<CommandResult> {
    const [command, result] = createCommand(spec, this.timeouts);
    if (this.state === Pop3State.CLOSED) {
      command.reject(
        new MultiPopError(
          'INVALID_STATE',
          `${spec.verb}: the connection is closed`,
          { command: spec.verb },
          {
            cause: this.#closeError,
          },
        ),
      );
    } else if (this.quitRequested) {
      command.reject(new MultiPopError('INVALID_STATE', `${spec.verb} after QUIT`, { command: spec.verb }));
    } else {
      if (front) this.#queued.unshift(command);
      else this.#queued.push(command);
      this.#pump();
    }
    return result;
  }

  /** Writes queued commands while the window, barriers, the state and the socket allow. */
  #pump(): void {
    const socket = this.#socket;
    if (!socket || this.state === Pop3State.CLOSED || this.#writeBlocked || this.#suspended) return;
    let wrote = false;
    socket.cork();
    try {
      while (this.#queued.length > 0) {
        const next = this.#queued[0]!;
        const last = this.#pending.at(-1);
        if (last !== undefined && (next.barrier || last.barrier || this.#pending.length >= this.window))
          break;
        this.#queued.shift();
        // Checked at write time: earlier commands (a login) may have changed the state.
        if (!allowedStates[next.verb as Pop3Verb].includes(this.state)) {
          next.reject(
            new MultiPopError('INVALID_STATE', `${next.verb} is not allowed in the ${this.state} state`, {
              command: next.verb,
              state: this.state,
            }),
          );
          continue;
        }
        this.#pending.push(next);
        this.log.debug({ dir: 'C', line: next.logLine }, 'pop3 command');
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

  /** A SASL line, outside the queue: the AUTH barrier guarantees nothing else is in flight. */
  #writeSaslLine(text: string, logText: string): void {
    this.log.debug({ dir: 'C', line: logText }, 'pop3 sasl response');
    this.#socket?.write(`${text}${CRLF}`);
  }

  // ---------------------------------------------------------------- reading

  readonly #onData = (chunk: Buffer): void => {
    this.#bytesReceived += chunk.length;
    this.#framer.push(chunk);
    this.#armIdle();
    this.#processInput();
  };

  readonly #onSocketError = (err: NodeJS.ErrnoException): void => {
    this.fail(
      new MultiPopError(
        'CONNECTION_CLOSED',
        `The connection to ${this.host}:${this.port} failed: ${err.message}`,
        { reason: err.code },
        { cause: err },
      ),
    );
  };

  readonly #onSocketClose = (): void => {
    this.fail(new MultiPopError('CONNECTION_CLOSED', `${this.host}:${this.port} closed the connection`));
  };

  #processInput(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (!this.#consumerPaused && !this.#suspended && this.state !== Pop3State.CLOSED) {
        const event = this.#framer.next();
        if (event === undefined) break;
        this.#handle(event);
      }
    } catch (err) {
      this.fail(toMultiPopError(err, 'PROTOCOL_ERROR', 'POP3 client failure'));
    } finally {
      this.#processing = false;
    }
  }

  #handle(event: FrameEvent): void {
    const command = this.#pending[0];
    if (command === undefined) {
      // Only line mode produces events with nothing pending (bodies belong to a command).
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
        if (command.items.length >= this.limits.maxListingEntries) {
          throw limitExceeded('maxListingEntries', this.limits.maxListingEntries, { command: command.verb });
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
    const safeLine = this.scrub(line);
    this.log.debug({ dir: 'S', line: safeLine }, 'pop3 response');
    const status = parseStatus(safeLine);
    if (status === undefined) {
      // Whether a body follows is unknowable now: the session is out of step and must end.
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
        loginDelay: this.capabilities.loginDelay,
      });
      command.reject(error);
      if (command.verb === 'GREETING') this.fail(error);
      return;
    }
    command.status = status;
    if (command.kind === 'single') {
      command.onSuccess?.(status);
      this.#complete(command);
      command.resolve({ status, items: [] });
    } else if (command.kind === 'listing') {
      this.#framer.expectListing();
    } else {
      this.#framer.expectBody(this.limits.maxMessageSize);
      if (command.kind === 'stream') {
        command.stream = this.#bodyStream(command);
        command.resolve({ status, items: [], stream: command.stream });
      }
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
    this.log.debug({ dir: 'S', line: `+ ${this.scrub(payload)}` }, 'pop3 continuation');
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
    if (command.kind === 'buffer') command.parts.push(chunk);
    else if (!command.discard && command.stream !== undefined && !command.stream.push(chunk)) {
      this.#pauseForConsumer();
    }
  }

  #onEnd(command: Command, size: number): void {
    this.log.debug({ command: command.verb, size }, 'pop3 multi-line response complete');
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
    const safe = this.scrub(line);
    this.log.debug({ dir: 'S', line: safe }, 'pop3 unsolicited line');
    this.#events.unsolicited({ line: safe, status: parseStatus(safe) });
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
    if (this.state === Pop3State.CLOSED) return;
    this.#socket?.resume();
    this.#armIdle();
    this.#processInput();
  }

  // ---------------------------------------------------------------- idle timer

  /** (Re)starts the silence timer for the command at the head, or stops it when none waits. */
  #armIdle(): void {
    this.#clearIdle();
    const head = this.#pending[0];
    if (head === undefined || this.#consumerPaused || this.state === Pop3State.CLOSED) return;
    const timer = setTimeout(() => {
      const message =
        head.timeoutCode === 'GREETING_TIMEOUT'
          ? `No greeting from ${this.host}:${this.port} within ${head.timeoutMs} ms`
          : `${head.verb}: the server sent nothing for ${head.timeoutMs} ms`;
      this.fail(
        new MultiPopError(head.timeoutCode, message, { command: head.verb, timeoutMs: head.timeoutMs }),
      );
    }, head.timeoutMs);
    timer.unref();
    this.#idleTimer = timer;
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}
