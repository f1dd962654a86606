import type { Readable } from 'node:stream';
import type { MultiPopError } from '../errors/index.js';
import type { Pop3Timeouts } from './api.js';
import type { Pop3Status } from './response.js';
import type { SaslChallenge } from './sasl.js';
import { authVerbs, barrierVerbs, type Pop3Verb } from './state.js';

/** How a command's response is read: one line, a listing, a streamed body, a buffered body. */
export type ResponseKind = 'single' | 'listing' | 'stream' | 'buffer';

/** A SASL exchange in progress (RFC 5034 §4). */
export interface SaslExchange {
  mechanism: string;
  /** The client response, sent after an empty `+` when it was not sent with the command. */
  response: string;
  stage: 'initial-sent' | 'awaiting-ready' | 'response-sent' | 'aborting';
  /** Sent to end an exchange the server failed with a challenge. */
  abortLine: string;
  /** The server's failure challenge, decoded, once received. */
  challenge?: SaslChallenge;
}

/** What a command resolves with. */
export interface CommandResult {
  status: Pop3Status;
  /** Listing lines (CAPA, LIST, UIDL), un-stuffed. */
  items: string[];
  /** A buffered body (TOP). */
  body?: Buffer;
  /** A streamed body (RETR). */
  stream?: Readable;
}

/** What the caller asks for. */
export interface CommandSpec {
  verb: Pop3Verb;
  args?: string[];
  /** The arguments as the log shows them (credentials replaced); default `args`. */
  logArgs?: string[];
  kind?: ResponseKind;
  sasl?: SaslExchange;
  /** Runs synchronously on the complete `+OK` response, before the next command is written. */
  onSuccess?: (status: Pop3Status) => void;
}

/** One command from enqueueing to its complete response (or the greeting, which has no line). */
export interface Command {
  verb: Pop3Verb | 'GREETING';
  /** Bytes to send; absent for the greeting, which is "sent" by connecting. */
  line?: Buffer;
  /** What the log shows instead of `line`. */
  logLine: string;
  kind: ResponseKind;
  /** Nothing is pipelined before or after it (authentication, STLS). */
  barrier: boolean;
  /** Its response text concerns credentials and stays out of errors. */
  auth: boolean;
  timeoutMs: number;
  timeoutCode: 'COMMAND_TIMEOUT' | 'GREETING_TIMEOUT';
  sasl?: SaslExchange;
  onSuccess?: (status: Pop3Status) => void;
  resolve(result: CommandResult): void;
  reject(error: MultiPopError): void;
  // Reception state.
  status?: Pop3Status;
  items: string[];
  parts: Buffer[];
  stream?: Readable;
  /** The consumer destroyed the body stream: the rest of the body is read and dropped. */
  discard: boolean;
  /** The response is complete (or the command failed): nothing more belongs to it. */
  done: boolean;
}

const CRLF = '\r\n';

/**
 * Builds a command and the promise its response settles.
 *
 * @example
 * ```ts
 * const [command, result] = createCommand({ verb: 'STAT' }, timeouts);
 * ```
 */
export function createCommand(spec: CommandSpec, timeouts: Pop3Timeouts): [Command, Promise<CommandResult>] {
  const args = spec.args ?? [];
  return withPromise({
    ...blank(),
    verb: spec.verb,
    line: Buffer.from(`${[spec.verb, ...args].join(' ')}${CRLF}`, 'utf8'),
    logLine: [spec.verb, ...(spec.logArgs ?? args)].join(' '),
    kind: spec.kind ?? 'single',
    barrier: barrierVerbs.has(spec.verb),
    auth: authVerbs.has(spec.verb),
    timeoutMs: timeouts.idle,
    sasl: spec.sasl,
    onSuccess: spec.onSuccess,
  });
}

/** The pseudo-command that receives the greeting (bounded by the greeting timeout). */
export function createGreeting(timeouts: Pop3Timeouts): [Command, Promise<CommandResult>] {
  return withPromise({
    ...blank(),
    verb: 'GREETING',
    logLine: 'GREETING',
    timeoutMs: timeouts.greeting,
    timeoutCode: 'GREETING_TIMEOUT',
  });
}

function blank(): Command {
  return {
    verb: 'NOOP',
    logLine: '',
    kind: 'single',
    barrier: false,
    auth: false,
    timeoutMs: 0,
    timeoutCode: 'COMMAND_TIMEOUT',
    resolve: () => {},
    reject: () => {},
    items: [],
    parts: [],
    discard: false,
    done: false,
  };
}

function withPromise(command: Command): [Command, Promise<CommandResult>] {
  const promise = new Promise<CommandResult>((resolve, reject) => {
    command.resolve = resolve;
    command.reject = reject;
  });
  return [command, promise];
}
