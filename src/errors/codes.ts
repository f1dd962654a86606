/**
 * Every error the library raises carries one of these stable codes. Callers branch on
 * `error.code`, never on the message text.
 *
 * @example
 * <!-- doc-context declare function askForThePasswordAgain(): void; -->
 * ```ts
 * import { ErrorCodes, isMultiPopError } from 'multipop';
 * try { await fetcher.collectNow(); } catch (err) {
 *   if (isMultiPopError(err) && err.code === ErrorCodes.AUTH_FAILED) askForThePasswordAgain();
 * }
 * ```
 */
export const ErrorCodes = {
  // configuration
  CONFIG_INVALID: 'CONFIG_INVALID',
  // network and transport
  CONNECT_FAILED: 'CONNECT_FAILED',
  CONNECT_TIMEOUT: 'CONNECT_TIMEOUT',
  GREETING_TIMEOUT: 'GREETING_TIMEOUT',
  COMMAND_TIMEOUT: 'COMMAND_TIMEOUT',
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  TLS_FAILED: 'TLS_FAILED',
  TLS_REQUIRED: 'TLS_REQUIRED',
  // protocol
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  SERVER_ERROR: 'SERVER_ERROR',
  IN_USE: 'IN_USE',
  LOGIN_DELAY: 'LOGIN_DELAY',
  SYS_TEMP: 'SYS_TEMP',
  SYS_PERM: 'SYS_PERM',
  UNSUPPORTED: 'UNSUPPORTED',
  INVALID_STATE: 'INVALID_STATE',
  // authentication
  AUTH_FAILED: 'AUTH_FAILED',
  AUTH_MECHANISM_UNAVAILABLE: 'AUTH_MECHANISM_UNAVAILABLE',
  // OAuth
  OAUTH_NEEDS_PERMISSION: 'OAUTH_NEEDS_PERMISSION',
  OAUTH_TRANSIENT: 'OAUTH_TRANSIENT',
  OAUTH_STATE_INVALID: 'OAUTH_STATE_INVALID',
  OAUTH_ACCESS_DENIED: 'OAUTH_ACCESS_DENIED',
  OAUTH_PROVIDER_ERROR: 'OAUTH_PROVIDER_ERROR',
  OAUTH_NOT_CONFIGURED: 'OAUTH_NOT_CONFIGURED',
  OAUTH_ACCOUNT_MISMATCH: 'OAUTH_ACCOUNT_MISMATCH',
  OAUTH_APP_REJECTED: 'OAUTH_APP_REJECTED',
  OAUTH_TOKEN_REFUSED: 'OAUTH_TOKEN_REFUSED',
  // stores and queue
  QUEUE_REJECTED: 'QUEUE_REJECTED',
  STORE_ERROR: 'STORE_ERROR',
  STORE_KEY_INVALID: 'STORE_KEY_INVALID',
  NOT_FOUND: 'NOT_FOUND',
  LEASE_LOST: 'LEASE_LOST',
  // collector
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  UIDL_REQUIRED: 'UIDL_REQUIRED',
  UIDL_FAILED: 'UIDL_FAILED',
  IDENTITY_UNCERTAIN: 'IDENTITY_UNCERTAIN',
  OVER_QUOTA: 'OVER_QUOTA',
  ABORTED: 'ABORTED',
  // bugs
  INTERNAL: 'INTERNAL',
} as const;

/** One of the stable error codes in {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * What each code means, and what an operator should do about it.
 *
 * @example
 * <!-- doc-context declare const err: unknown; -->
 * ```ts
 * if (isMultiPopError(err)) console.error(`${err.code}: ${errorCodeDescriptions[err.code]}`);
 * ```
 */
export const errorCodeDescriptions: Readonly<Record<ErrorCode, string>> = {
  CONFIG_INVALID: 'A setting, user or mailbox entry failed validation; the message names the field.',
  CONNECT_FAILED: 'The TCP connection to the remote server could not be made (DNS, refused, unreachable).',
  CONNECT_TIMEOUT: 'The TCP or TLS connection was not established within the connect timeout.',
  GREETING_TIMEOUT: 'The server accepted the connection but sent no greeting in time.',
  COMMAND_TIMEOUT: 'The server stopped answering in the middle of a command (idle timeout).',
  CONNECTION_CLOSED: 'The server closed the connection before the response was complete.',
  TLS_FAILED: 'The TLS handshake failed or the certificate was rejected (chain, host name, expiry).',
  TLS_REQUIRED:
    'TLS was required but the server did not offer STLS (or it failed); no credentials were sent.',
  PROTOCOL_ERROR: 'The server sent something that is not valid POP3.',
  LIMIT_EXCEEDED: 'The server exceeded a safety limit (line length, message size); the session was ended.',
  SERVER_ERROR: 'The server answered -ERR without a more specific response code.',
  IN_USE: 'The maildrop is locked by another session ([IN-USE]); collection retries later.',
  LOGIN_DELAY: 'The server asks for a pause between logins ([LOGIN-DELAY]); collection backs off.',
  SYS_TEMP: 'A temporary server-side failure ([SYS/TEMP]); collection retries later.',
  SYS_PERM: 'A permanent server-side failure ([SYS/PERM]); an administrator must look at the account.',
  UNSUPPORTED: 'The server does not support a command or capability the operation needs.',
  INVALID_STATE: 'The operation is not allowed in the current protocol or object state.',
  AUTH_FAILED: 'The server rejected the credentials or token.',
  AUTH_MECHANISM_UNAVAILABLE: 'The configured authentication method is not offered by the server.',
  OAUTH_NEEDS_PERMISSION:
    'The OAuth grant is gone (revoked, expired, password changed): the user must grant permission again.',
  OAUTH_TRANSIENT:
    'The token endpoint failed temporarily (network, 429, 5xx); retried later without asking the user.',
  OAUTH_STATE_INVALID:
    'The OAuth callback state is unknown, expired, reused or for another user; nothing was stored.',
  OAUTH_ACCESS_DENIED: 'The user declined the permission request at the provider.',
  OAUTH_PROVIDER_ERROR: 'The authorization server answered with an error or an invalid response.',
  OAUTH_NOT_CONFIGURED: 'No OAuth app (client id and secret) is configured for this provider or domain.',
  OAUTH_ACCOUNT_MISMATCH:
    "Permission was granted with another account than the entry's user name (context.signedInAs names it); nothing was stored.",
  OAUTH_APP_REJECTED:
    'The token endpoint refused the OAuth app itself (invalid_client, unauthorized_client, invalid_scope, …): a configuration error, not retried quickly.',
  OAUTH_TOKEN_REFUSED:
    'The POP3 server refused a freshly issued, valid access token: POP access is off for the mailbox, or it is not the account that consented.',
  QUEUE_REJECTED: 'The local queue did not accept the message; it stays on the remote server.',
  STORE_ERROR: 'A store (ledger, directory, token store) failed to read or write.',
  STORE_KEY_INVALID: 'The encryption key does not match the stored data (wrong key or tampered data).',
  NOT_FOUND: 'The user, mailbox entry or record does not exist.',
  LEASE_LOST:
    'Another worker took this mailbox over (its lease expired); this worker wrote nothing more and stopped the session.',
  PERMISSION_DENIED:
    'The user may not change MultiPOP settings (MultiPOP, the user or the edit permission is off).',
  UIDL_REQUIRED: 'Leave-on-server needs UIDL, which the server does not offer.',
  UIDL_FAILED:
    'The server answered UIDL with -ERR although it offers UIDL (or did before); nothing was changed, collection retries later.',
  IDENTITY_UNCERTAIN:
    "Most of the mailbox's UIDLs changed and not every message could be matched by size and header fingerprint; the mailbox is paused until an administrator resolves it.",
  OVER_QUOTA: "The local user's mailbox is over quota; collection for the user was skipped.",
  ABORTED: 'The operation was aborted (stop() or an AbortSignal).',
  INTERNAL:
    "A bug in multipop or in the host's code (a TypeError or the like); the original error is the cause.",
};
