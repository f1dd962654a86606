import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { TlsMode } from '../config/server-address.js';
import type { Logger } from '../log/index.js';

/**
 * The contract of the POP3 client as the layers above use it (auth, collection). `Pop3Client`
 * implements it; tests and hosts may substitute their own.
 */

/** Timeouts in milliseconds. */
export interface Pop3Timeouts {
  /** TCP + TLS establishment. @default 15000 */
  connect: number;
  /** From connected to the greeting line. @default 15000 */
  greeting: number;
  /** Longest silence while a response is awaited or being received. @default 60000 */
  idle: number;
}

/** Bounds on what the server may send. */
export interface Pop3Limits {
  /** Longest status/listing line, CRLF included. @default 8192 */
  maxLineLength: number;
  /** Largest message body the caller will accept from RETR/TOP, in bytes. @default Infinity */
  maxMessageSize: number;
  /** Most entries accepted in a UIDL/LIST listing. @default 1_000_000 */
  maxListingEntries: number;
}

/**
 * Where and how {@link Pop3Client.connect} connects.
 *
 * @example
 * ```ts
 * const options: Pop3ConnectOptions = { host: 'pop.example.com', port: 110, tls: 'starttls', timeouts: { idle: 30_000 } };
 * ```
 */
export interface Pop3ConnectOptions {
  /** Host name or address of the POP3 server (also the name its certificate must carry). */
  host: string;
  /** TCP port: 995 for implicit TLS, 110 for `starttls` and `none`. */
  port: number;
  /** `implicit` (TLS from the first byte), `starttls` (STLS, never downgraded) or `none`. */
  tls: TlsMode;
  /**
   * Extra options for `tls.connect` (e.g. `ca` for a test CA). Certificate verification is on
   * unless `rejectUnauthorized: false` is passed explicitly here.
   */
  tlsOptions?: ConnectionOptions;
  timeouts?: Partial<Pop3Timeouts>;
  limits?: Partial<Pop3Limits>;
  /**
   * Pipelining: `'auto'` (default) uses it when the server advertises PIPELINING; `false` never;
   * a number sets the window (commands in flight) when the server advertises it.
   */
  pipelining?: 'auto' | false | number;
  /**
   * Where to log commands and status lines (debug level). A host logger is always wrapped in
   * the library's redaction: passwords, tokens, SASL responses and APOP digests never reach it.
   * @default no logging
   */
  logger?: Logger | false;
  /** Aborting closes the connection and rejects every pending operation. */
  signal?: AbortSignal;
}

/** Parsed CAPA response. Empty when the server has no CAPA. */
export interface Pop3Capabilities {
  /** Raw capability lines (upper-cased keyword + arguments as sent). */
  raw: string[];
  top: boolean;
  uidl: boolean;
  user: boolean;
  stls: boolean;
  pipelining: boolean;
  respCodes: boolean;
  /** SASL mechanisms, upper-cased. */
  sasl: string[];
  /** LOGIN-DELAY seconds, when advertised. */
  loginDelay?: number;
  /** EXPIRE days (`Infinity` for NEVER), when advertised. */
  expire?: number;
  implementation?: string;
}

/** One line of a LIST response. */
export interface Pop3ListEntry {
  /** Message number in this session (1-based). */
  msg: number;
  /** Size in octets, as the server counts it. */
  size: number;
}

/** One line of a UIDL response. */
export interface Pop3UidlEntry {
  /** Message number in this session (1-based). */
  msg: number;
  /** The server's unique id of the message, stable across sessions. */
  uid: string;
}

/** A message body being received: raw, un-stuffed bytes; ends after the terminating `.`. */
export type Pop3MessageStream = Readable;

/**
 * What a connected POP3 client offers; {@link Pop3Client} implements it. Code that only needs
 * these operations can take this type and be handed a substitute in tests.
 *
 * @example
 * ```ts
 * async function count(client: Pop3ClientApi): Promise<number> {
 *   return (await client.stat()).count;
 * }
 * ```
 */
export interface Pop3ClientApi {
  /** The greeting line's text after `+OK`. */
  readonly greeting: string;
  /** The `<…>` timestamp of the greeting, for APOP; undefined when absent. */
  readonly apopTimestamp: string | undefined;
  /** Capabilities (re-read after STLS; empty when CAPA is unsupported). */
  readonly capabilities: Pop3Capabilities;
  /** True when the connection is encrypted (implicit TLS or after STLS). */
  readonly secure: boolean;
  /** The host name (for OAUTHBEARER's `host=` and logs). */
  readonly host: string;
  readonly port: number;

  /** USER + PASS. Rejects with `AUTH_FAILED` (or IN_USE, LOGIN_DELAY, SYS_*). */
  login(user: string, password: string): Promise<void>;
  /** APOP with the greeting timestamp. `UNSUPPORTED` when the greeting has none. */
  apop(user: string, secret: string): Promise<void>;
  /** AUTH PLAIN with initial response (RFC 5034/4616). */
  authPlain(user: string, password: string, authzid?: string): Promise<void>;
  /**
   * AUTH XOAUTH2. `form: 'initial-response'` sends one line (Gmail); `'continuation'` sends
   * `AUTH XOAUTH2`, waits for `+`, then the response (Microsoft 365). A `+ <base64 JSON>`
   * failure challenge is answered with an empty line; the decoded JSON is in the error's context
   * as `saslError`.
   */
  authXOAuth2(user: string, accessToken: string, form: 'initial-response' | 'continuation'): Promise<void>;
  /** AUTH OAUTHBEARER (RFC 7628), same failure handling. */
  authOAuthBearer(user: string, accessToken: string): Promise<void>;

  /** STAT: the number of messages and their total size in octets. */
  stat(): Promise<{ count: number; size: number }>;
  /** LIST: the size of every message. */
  list(): Promise<Pop3ListEntry[]>;
  /** LIST msg: the size of one message. */
  list(msg: number): Promise<Pop3ListEntry>;
  /** UIDL: the unique id of every message. */
  uidl(): Promise<Pop3UidlEntry[]>;
  /** UIDL msg: the unique id of one message. */
  uidl(msg: number): Promise<Pop3UidlEntry>;
  /** TOP msg lines, the whole (bounded) result as bytes. */
  top(msg: number, lines: number): Promise<Buffer>;
  /**
   * RETR as a stream with back-pressure. The promise resolves on `+OK` with the body stream;
   * the stream errors (typed) if the connection fails mid-body. Several `retr` calls may be
   * issued at once: with PIPELINING they are sent in windows; bodies arrive in call order, and
   * each must be consumed (or destroyed) for the next to flow.
   */
  retr(msg: number): Promise<Pop3MessageStream>;
  /** DELE: marks a message deleted (committed by QUIT only). */
  dele(msg: number): Promise<void>;
  /** RSET: unmarks every message marked deleted in this session. */
  rset(): Promise<void>;
  /** NOOP: keeps the connection alive. */
  noop(): Promise<void>;
  /** QUIT: resolves on `+OK` (the server committed deletions), then closes. */
  quit(): Promise<void>;
  /** Closes the connection at once without QUIT (deletions are rolled back by the server). */
  close(): void;
}
