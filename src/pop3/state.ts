/**
 * The POP3 session states of RFC 1939 §3, plus `CLOSED` for a connection that is gone.
 *
 * @example
 * ```ts
 * if (client.state === Pop3State.TRANSACTION) await client.stat();
 * ```
 */
export const Pop3State = {
  /** Greeting received; only authentication (and STLS, CAPA, QUIT) allowed. */
  AUTHORIZATION: 'AUTHORIZATION',
  /** Authenticated; the maildrop is locked and can be read. */
  TRANSACTION: 'TRANSACTION',
  /** QUIT accepted in TRANSACTION: the server is committing deletions. */
  UPDATE: 'UPDATE',
  /** The connection is closed (QUIT, close(), failure). */
  CLOSED: 'CLOSED',
} as const;

/** One of the {@link Pop3State} values. */
export type Pop3State = (typeof Pop3State)[keyof typeof Pop3State];

/** The commands the client sends. */
export type Pop3Verb =
  | 'USER'
  | 'PASS'
  | 'APOP'
  | 'AUTH'
  | 'STLS'
  | 'CAPA'
  | 'STAT'
  | 'LIST'
  | 'UIDL'
  | 'TOP'
  | 'RETR'
  | 'DELE'
  | 'RSET'
  | 'NOOP'
  | 'QUIT';

const { AUTHORIZATION, TRANSACTION } = Pop3State;
const AUTH_ONLY = [AUTHORIZATION] as const;
const TRANSACTION_ONLY = [TRANSACTION] as const;

/** In which states each command may be sent (RFC 1939, RFC 2449 for CAPA, RFC 2595 for STLS). */
export const allowedStates: Readonly<Record<Pop3Verb, readonly Pop3State[]>> = {
  USER: AUTH_ONLY,
  PASS: AUTH_ONLY,
  APOP: AUTH_ONLY,
  AUTH: AUTH_ONLY,
  STLS: AUTH_ONLY,
  CAPA: [AUTHORIZATION, TRANSACTION],
  STAT: TRANSACTION_ONLY,
  LIST: TRANSACTION_ONLY,
  UIDL: TRANSACTION_ONLY,
  TOP: TRANSACTION_ONLY,
  RETR: TRANSACTION_ONLY,
  DELE: TRANSACTION_ONLY,
  RSET: TRANSACTION_ONLY,
  NOOP: TRANSACTION_ONLY,
  QUIT: [AUTHORIZATION, TRANSACTION],
};

/**
 * Commands after which nothing may be pipelined: they change the session state (or the
 * transport), so a following command's meaning depends on their outcome.
 */
export const barrierVerbs: ReadonlySet<Pop3Verb> = new Set<Pop3Verb>([
  'USER',
  'PASS',
  'APOP',
  'AUTH',
  'STLS',
]);

/** Commands whose arguments or responses concern credentials (their text stays out of errors). */
export const authVerbs: ReadonlySet<Pop3Verb> = new Set<Pop3Verb>(['USER', 'PASS', 'APOP', 'AUTH']);
