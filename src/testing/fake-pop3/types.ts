/** A message in a fake mailbox: its bytes and, optionally, a fixed UIDL. */
export interface FakePop3Message {
  /** The message exactly as RETR should return it (CRLF line ends). */
  data: Buffer;
  /** The unique id UIDL reports. @default 'uid-<n>' (stable for the server's lifetime) */
  uid?: string;
}

/** A mailbox owner of the fake server. */
export interface FakePop3User {
  /** Login name (USER, APOP, SASL authcid, XOAUTH2 `user=`). */
  name: string;
  /** Password for USER/PASS and SASL PLAIN; also the APOP shared secret. */
  password: string;
  /** Initial messages, in maildrop order (message 1 first). */
  messages?: Array<Buffer | FakePop3Message>;
  /**
   * The access token XOAUTH2/OAUTHBEARER accept for this user, unless
   * {@link FakePop3Options.checkToken} decides instead.
   */
  accessToken?: string;
}

/** What the server advertises in CAPA (and what it then does). */
export interface FakePop3Capabilities {
  /** Answer CAPA at all; `false` makes CAPA an unknown command (`-ERR`). @default true */
  capa?: boolean;
  /** TOP command. @default true */
  top?: boolean;
  /** UIDL command. @default true */
  uidl?: boolean;
  /** Advertise USER. @default true */
  user?: boolean;
  /** Advertise PIPELINING (the server handles pipelined commands either way). @default false */
  pipelining?: boolean;
  /** RESP-CODES: `-ERR` lines carry `[IN-USE]`, `[AUTH]`, … codes. @default true */
  respCodes?: boolean;
  /** Offer STLS. @default true when {@link FakePop3Options.tls} is set and TLS is not implicit */
  stls?: boolean;
  /** SASL mechanisms offered (`PLAIN`, `XOAUTH2`, `OAUTHBEARER`). @default ['PLAIN'] */
  sasl?: string[];
  /** Put an APOP timestamp into the greeting and accept APOP. @default false */
  apop?: boolean;
  /** Advertise `LOGIN-DELAY n`. */
  loginDelay?: number;
  /** Advertise `EXPIRE n` / `EXPIRE NEVER`. */
  expire?: number | 'NEVER';
  /** Advertise `IMPLEMENTATION …`. */
  implementation?: string;
  /** More raw capability lines. */
  extra?: string[];
}

/**
 * Built-in server behaviours. `gmail`: CAPA like pop.gmail.com (`LOGIN-DELAY 300`, `SASL PLAIN
 * XOAUTH2 OAUTHBEARER`), XOAUTH2 accepted only with an initial response (one line).
 * `microsoft`: CAPA like outlook.office365.com, XOAUTH2 only in the two-line form
 * (`AUTH XOAUTH2` → `+` → response). `generic` (default): both forms.
 */
export type FakePop3Personality = 'generic' | 'gmail' | 'microsoft';

/**
 * A protocol step a fault applies to: `'greeting'`, or a command verb as the client sends it
 * (`'CAPA'`, `'STLS'`, `'USER'`, `'PASS'`, `'APOP'`, `'AUTH'`, `'STAT'`, `'LIST'`, `'UIDL'`,
 * `'TOP'`, `'RETR'`, `'DELE'`, `'RSET'`, `'NOOP'`, `'QUIT'`).
 */
export type FakePop3Step = string;

/** When a fault fires. */
export interface FakePop3FaultWhen {
  step: FakePop3Step;
  /** Only the n-th occurrence of the step on this server (1-based). @default every occurrence */
  nth?: number;
  /**
   * For RETR/TOP: let this many bytes of the (dot-stuffed) body go out first, then act. Used
   * with `stall`, `drop` and `delay`.
   */
  afterBodyBytes?: number;
}

/**
 * A fault the server injects. Each one names the step it replaces or interrupts.
 *
 * - `stall`: stop answering (the connection stays open).
 * - `delay`: wait `ms`, then answer normally.
 * - `drop`: close the connection abruptly (no answer).
 * - `respond`: answer with `line` instead (e.g. `-ERR [IN-USE] locked`); no body follows.
 * - `hugeLine`: instead of the answer, send `bytes` bytes with no line end, then stall.
 * - `endlessBody`: `+OK` and body lines forever (respecting back-pressure), never the end.
 * - `unsolicited`: after answering the step, wait `afterMs`, send `line`, and optionally close.
 * - `raw`: send `data` instead of the answer (anything at all, e.g. plaintext after STLS).
 */
export type FakePop3Fault =
  | { action: 'stall'; when: FakePop3FaultWhen }
  | { action: 'delay'; when: FakePop3FaultWhen; ms: number }
  | { action: 'drop'; when: FakePop3FaultWhen }
  | { action: 'respond'; when: FakePop3FaultWhen; line: string }
  | { action: 'hugeLine'; when: FakePop3FaultWhen; bytes: number }
  | { action: 'endlessBody'; when: FakePop3FaultWhen }
  | { action: 'unsolicited'; when: FakePop3FaultWhen; line: string; afterMs?: number; thenClose?: boolean }
  | { action: 'raw'; when: FakePop3FaultWhen; data: Buffer };

/** Options of {@link startFakePop3Server}. */
export interface FakePop3Options {
  users: FakePop3User[];
  capabilities?: FakePop3Capabilities;
  /** @default 'generic' */
  personality?: FakePop3Personality;
  /** Decides whether an OAuth access token is valid for a user (overrides `accessToken`). */
  checkToken?: (user: string, token: string) => boolean | Promise<boolean>;
  /** Certificate and key for STLS, or for the whole connection with `implicitTls`. */
  tls?: { certPem: string; keyPem: string };
  /** Speak TLS from the first byte (like port 995). Needs `tls`. @default false */
  implicitTls?: boolean;
  faults?: FakePop3Fault[];
  /**
   * Send every response in pieces of this many bytes, each a separate write after the previous
   * one was flushed (1 = byte by byte). Exercises the client's framing across TCP chunks.
   */
  chunkSize?: number;
  /** Greeting text after `+OK` (an APOP timestamp is appended when enabled). */
  greeting?: string;
  /** Lie about sizes in STAT and LIST: maps the true size to the reported one. */
  reportSize?: (trueSize: number, msg: number) => number;
  /**
   * What UIDL reports. `'stable'`: each message's own id (the standard). `'message-number'`: the
   * message's number in the session, as some servers do — after a deletion elsewhere the same id
   * names another message. @default 'stable'
   */
  uidls?: 'stable' | 'message-number';
  /**
   * Ends a connection that sent nothing for this long, as RFC 1939's autologout timer does (the
   * maildrop's lock is released, deletions roll back). @default no autologout
   */
  autologoutMs?: number;
}

/** A command line the server received. */
export interface FakePop3ReceivedCommand {
  /** Which connection (1-based, in accept order). */
  connection: number;
  /** The line as received, without CRLF — secrets included: for assertions in tests only. */
  line: string;
  /** The command verb, upper-cased (`''` for SASL response lines). */
  verb: string;
  /** Commands received on this connection and not yet answered, this one included. */
  unansweredAtReceipt: number;
  /** Whether the connection was encrypted when the line arrived. */
  secure: boolean;
}

/** A running fake server. */
export interface FakePop3Server {
  host: '127.0.0.1';
  port: number;
  /** Every command line received, in order, across connections. */
  readonly commands: FakePop3ReceivedCommand[];
  /** Decoded SASL client responses, e.g. `user=ann\x01auth=Bearer tok\x01\x01`. */
  readonly saslResponses: string[];
  /** Connections accepted so far. */
  readonly connections: number;
  /**
   * Resolves once every connection accepted so far has ended on the server's side (at once when
   * none is open): the event to await before asserting what a closed connection left behind,
   * instead of sleeping.
   *
   * @example
   * <!-- doc-context import { expect } from 'vitest'; -->
   * ```ts
   * client.close();
   * await server.connectionsEnded();
   * expect(server.mailbox('ann').messages).toHaveLength(4); // nothing committed without QUIT
   * ```
   */
  connectionsEnded(): Promise<void>;
  /** The user's mailbox as it is now (committed state: DELE takes effect on QUIT only). */
  mailbox(user: string): { messages: Buffer[]; uids: string[] };
  /** Appends a message to a user's mailbox (seen by sessions that log in afterwards). */
  addMessage(user: string, message: Buffer | FakePop3Message): void;
  /**
   * Gives every message of a user a new UIDL, content unchanged — what a rebuilt or migrated
   * mailbox (a Dovecot UIDVALIDITY reset) looks like. `rename` gets the old id and the index.
   */
  renameUids(user: string, rename: (uid: string, index: number) => string): void;
  /** Removes messages (by 0-based index in the mailbox) as if the user deleted them elsewhere. */
  removeMessages(user: string, indexes: readonly number[]): void;
  /**
   * Logins that found the user's maildrop held by another session (each answered `[IN-USE]`):
   * the moments two sessions would have been on one mailbox. For one user, or over all users.
   */
  overlappingLogins(user?: string): number;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}
