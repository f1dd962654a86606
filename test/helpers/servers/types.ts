/**
 * The shape every interoperability test server shares (Cyrus, Courier, popa3d, GNU Mailutils),
 * so the smoke tests and the client matrix can loop over them. Dovecot has its own, richer
 * harness in `test/helpers/dovecot.ts`.
 */

/** The servers this directory can start. */
export type InteropServerName = 'cyrus' | 'courier' | 'popa3d' | 'mailutils';

/** Every real server the interop matrix runs: these four and Dovecot (`test/helpers/dovecot.ts`). */
export type PopServerName = InteropServerName | 'dovecot';

/** A mailbox account to create on the test server. */
export interface InteropUser {
  /** Lower-case letters, digits, `_` and `-`, starting with a letter (every server accepts these). */
  name: string;
  /** Printable ASCII without spaces or `:`. */
  password: string;
}

/** What every `start<Name>()` takes. */
export interface InteropServerOptions {
  users: InteropUser[];
}

/**
 * What the server offers, as found on the real server (not only what its CAPA says): the
 * client matrix decides which features to exercise from this.
 */
export interface InteropCapabilities {
  /** Answers `CAPA` (RFC 2449). popa3d answers `-ERR`. */
  capa: boolean;
  /** `STLS` on {@link InteropServer.port}. */
  stls: boolean;
  /** POP3 over TLS from the first byte on {@link InteropServer.tlsPort}. */
  implicitTls: boolean;
  /** `APOP` with the user's password works (the greeting carries a timestamp). */
  apop: boolean;
  /** SASL mechanisms offered on the plain port (`AUTH`), empty when none. */
  sasl: readonly string[];
  uidl: boolean;
  top: boolean;
  /** `PIPELINING` advertised in CAPA. */
  pipelining: boolean;
  /** `RESP-CODES` advertised. */
  respCodes: boolean;
  /** Understands `UTF8` (RFC 6856); Courier rewrites 8-bit headers for clients that did not send it. */
  utf8: boolean;
}

/** A running test server. */
export interface InteropServer {
  name: PopServerName;
  /** Human label with the Debian package version, e.g. `Cyrus pop3d 3.6.1-4+deb12u5`. */
  label: string;
  host: '127.0.0.1';
  /** Plain POP3 (with STLS when {@link InteropCapabilities.stls}). */
  port: number;
  /** Implicit TLS, when the server offers it. */
  tlsPort?: number;
  /** The self-signed certificate (PEM) the TLS ports present; trust it via `tlsOptions.ca`. */
  caPem?: string;
  capabilities: InteropCapabilities;
  /**
   * Behaviour a client must tolerate, one sentence each (documented in
   * docs/interoperability.md): odd reply texts, what the server changes in messages, …
   */
  quirks: readonly string[];
  /** The private temp directory holding configuration, users and mail (deleted by `stop()`). */
  dir: string;
  /** The name to send in USER/APOP/AUTH for a user (Mailutils needs `user@localhost`). */
  loginName(user: string): string;
  /**
   * Puts CRLF messages into the user's mailbox, after any already there (message n of a fresh
   * mailbox is `messages[n-1]`). `RETR` then serves exactly these bytes, except where the server
   * itself changes a message (see {@link quirks}).
   */
  seed(user: string, messages: Buffer[]): Promise<void>;
  /** The messages in the user's mailbox now, in POP3 order, as CRLF text the way the server stores them. */
  messages(user: string): Promise<Buffer[]>;
  /** What the server wrote to its log file(s), for failure messages. */
  logText(): Promise<string>;
  /** Stops every process of the server (by PID / process group) and deletes `dir`. Idempotent. */
  stop(): Promise<void>;
}
