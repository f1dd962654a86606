/**
 * What the user reads when something goes wrong: a sentence per error code, written for the
 * person at the webmail page, not for the operator. The library's messages (and their
 * context) stay in the host's log; only for invalid input do we name the field, because the
 * user can fix it.
 */
import {
  type ErrorCode,
  isMultiPopError,
  type MailboxStatus,
  type MailboxSummary,
  type MultiPopError,
} from 'multipop';

const FRIENDLY: Record<ErrorCode, string> = {
  CONFIG_INVALID: 'Please check the form: some of the values are not valid.',
  CONNECT_FAILED: 'The mail server could not be reached. Check the server name and port.',
  CONNECT_TIMEOUT: 'The mail server did not answer in time. It may be down; we will try again later.',
  GREETING_TIMEOUT: 'The mail server did not answer in time. It may be busy; we will try again later.',
  COMMAND_TIMEOUT: 'The mail server stopped answering. We will try again later.',
  CONNECTION_CLOSED: 'The mail server closed the connection. We will try again later.',
  TLS_FAILED: 'A secure connection to the mail server could not be made (certificate problem).',
  TLS_REQUIRED: 'The mail server does not offer a secure connection, so your password was not sent.',
  PROTOCOL_ERROR: 'The mail server sent an answer we do not understand.',
  LIMIT_EXCEEDED: 'The mail server sent more data than allowed; the collection was stopped.',
  SERVER_ERROR: 'The mail server reported an error. We will try again later.',
  IN_USE: 'The mailbox is in use by another program right now. We will try again later.',
  LOGIN_DELAY: 'The mail server asks us to wait before logging in again. We will try again later.',
  SYS_TEMP: 'The mail server has a temporary problem. We will try again later.',
  SYS_PERM: 'The mail server reports a permanent problem with this account. Please contact its provider.',
  UNSUPPORTED: 'The mail server does not support what this mailbox needs.',
  INVALID_STATE: 'That is not possible right now. Please try again.',
  AUTH_FAILED: 'The mail server did not accept the user name or password.',
  AUTH_MECHANISM_UNAVAILABLE: 'The mail server does not offer the chosen sign-in method (try without APOP).',
  OAUTH_NEEDS_PERMISSION:
    'Permission to read this mailbox is missing or was withdrawn. Please grant it again.',
  OAUTH_TRANSIENT: 'The sign-in service is not reachable right now. We will try again later.',
  OAUTH_STATE_INVALID:
    'That permission request has expired or was already used. Please click "Grant permission" again.',
  OAUTH_ACCESS_DENIED: 'Permission was not granted, so this mailbox cannot be collected.',
  OAUTH_PROVIDER_ERROR: 'The sign-in service reported an error. Please try again later.',
  OAUTH_NOT_CONFIGURED:
    'Sign-in with this provider is not set up on this server yet. Please ask your administrator.',
  OAUTH_ACCOUNT_MISMATCH:
    'You signed in with a different account than this mailbox, so nothing was saved. Please grant permission again and sign in with the mailbox’s own account.',
  OAUTH_APP_REJECTED:
    'The sign-in service does not accept this server’s app settings. Please ask your administrator to check them; collection is paused until then.',
  OAUTH_TOKEN_REFUSED:
    'Permission is granted, but the mailbox does not allow POP access. Turn POP on in the mailbox’s settings (Gmail: “Forwarding and POP/IMAP”), or ask its administrator to enable POP. Granting permission again will not help.',
  QUEUE_REJECTED: 'Your mail could not be delivered locally right now; it stays on the remote server.',
  STORE_ERROR: 'Your settings could not be read or saved right now. Please try again later.',
  STORE_KEY_INVALID: 'Your settings could not be read. Please ask your administrator.',
  NOT_FOUND: 'That mailbox does not exist (any more).',
  LEASE_LOST: 'Another collector took this mailbox over. Your mail is safe; it is being collected.',
  PERMISSION_DENIED: 'You are not allowed to change these settings. Please ask your administrator.',
  UIDL_REQUIRED: 'This mail server cannot leave copies on the server. Turn off "Leave a copy on the server".',
  UIDL_FAILED: 'The mail server had a hiccup listing your messages. We will try again shortly.',
  IDENTITY_UNCERTAIN:
    'The mail server renumbered your messages. Collection is paused until your administrator checks it, so nothing is delivered twice.',
  OVER_QUOTA: 'Your mailbox is full, so no mail was collected.',
  ABORTED: 'The mail server is shutting down. Please try again in a moment.',
  INTERNAL:
    'Something went wrong on our side. Please try again later; if it keeps happening, tell the administrator.',
};

/** Field names of an entry, as the form labels them. */
const FIELD_LABELS: Record<string, string> = {
  server: 'Server',
  username: 'User name',
  password: 'Password',
  auth: 'Sign-in method',
  oauthProvider: 'OAuth provider',
  tls: 'Security',
  deleteAfterDays: 'Delete after days',
  maxMessageSizeKb: 'Maximum message size',
};

/**
 * The sentence to show for an error; unknown errors get a generic one (never their text,
 * which may carry details meant for the operator).
 *
 * @example
 * ```ts
 * friendlyError(new MultiPopError('AUTH_FAILED', '…')); // 'The mail server did not accept …'
 * ```
 */
export function friendlyError(err: unknown): string {
  if (!isMultiPopError(err)) return 'Something went wrong. Please try again later.';
  const base = FRIENDLY[err.code] ?? 'Something went wrong. Please try again later.';
  if (err.code === 'CONFIG_INVALID') return `${base}${fieldHint(err)}`;
  if (err.code === 'OAUTH_ACCOUNT_MISMATCH') return accountMismatch(err) ?? base;
  if (err.code === 'OAUTH_STATE_INVALID' && err.context['reason'] === 'other-session') return OTHER_SESSION;
  return base;
}

/** The provider's redirect was opened by someone other than the person who started the grant. */
const OTHER_SESSION =
  'This permission link belongs to someone else’s "Grant permission", so nothing was saved. Only the person who clicked "Grant permission" can finish it, signed in to this webmail as themselves.';

/** Names both accounts, so the user sees which one to pick at the provider next time. */
function accountMismatch(err: MultiPopError): string | undefined {
  const signedInAs = err.context['signedInAs'];
  const expected = err.context['expected'];
  if (typeof signedInAs !== 'string') return undefined;
  if (typeof expected !== 'string') {
    return `You signed in as ${signedInAs}, which this server does not accept for this mailbox, so nothing was saved.`;
  }
  return `You signed in as ${signedInAs}, but this mailbox is ${expected}, so nothing was saved. Please grant permission again and sign in as ${expected}.`;
}

/** " Check: Server, Password." from the validation issues (field names only, never values). */
function fieldHint(err: MultiPopError): string {
  const issues = err.context['issues'];
  const fields = new Set<string>();
  if (Array.isArray(issues)) {
    for (const issue of issues as Array<{ field?: unknown }>) {
      if (typeof issue?.field === 'string') fields.add(issue.field);
    }
  }
  if (fields.size === 0 && typeof err.context['field'] === 'string') fields.add(err.context['field']);
  const labels = [...fields].map((f) => FIELD_LABELS[f.split(/[.[]/)[0] ?? f] ?? f);
  return labels.length === 0 ? '' : ` Check: ${[...new Set(labels)].join(', ')}.`;
}

/**
 * One sentence for the result of "Collect now" of one entry.
 *
 * @example
 * ```ts
 * collectSentence(summary, 'pop.example.com'); // 'Collected 2 new messages from pop.example.com.'
 * ```
 */
export function collectSentence(summary: MailboxSummary, label: string): string {
  if (summary.ok && summary.result) {
    const n = summary.result.collected;
    if (n === 0) return `No new messages in ${label}.`;
    return `Collected ${n} new message${n === 1 ? '' : 's'} from ${label}.`;
  }
  switch (summary.skipped) {
    case 'needs-permission':
      return `${label}: please grant permission first.`;
    case 'entry-disabled':
      return `${label} is disabled; enable it to collect.`;
    case 'user-disabled':
      return 'Collecting from other mailboxes is turned off for your account.';
    case 'over-quota':
      return FRIENDLY.OVER_QUOTA;
    case 'backoff':
      return `${label} failed recently; it will be tried again later.`;
    case 'stopping':
      return FRIENDLY.ABORTED;
    default:
      return `${label}: ${friendlyError(summary.error)}`;
  }
}

/**
 * A short label for the state of an entry, for the status column.
 *
 * @example
 * ```ts
 * statusLabel(status, true); // 'Needs permission'
 * ```
 */
export function statusLabel(status: MailboxStatus, enabled: boolean): string {
  if (status.needsPermission) return hasGrantedBefore(status) ? 'Needs permission again' : 'Needs permission';
  if (!enabled) return 'Disabled';
  if (status.lastErrorAt !== undefined && status.consecutiveFailures > 0) return 'Failing';
  if (status.lastSuccessAt !== undefined) return 'OK';
  return 'Not collected yet';
}

/**
 * True when the entry was collected or failed for a lost grant before: its permission was
 * withdrawn, rather than never given.
 *
 * @example
 * ```ts
 * hasGrantedBefore({ ...status, lastErrorCode: 'OAUTH_NEEDS_PERMISSION' }); // true
 * ```
 */
export function hasGrantedBefore(status: MailboxStatus): boolean {
  return status.totalSessions > 0 || status.lastErrorCode === 'OAUTH_NEEDS_PERMISSION';
}

/**
 * The friendly sentence for a stored error code (the status keeps the code, not the error).
 *
 * @example
 * ```ts
 * friendlyCode('AUTH_FAILED');
 * ```
 */
export function friendlyCode(code: string): string {
  return (FRIENDLY as Record<string, string | undefined>)[code] ?? 'The last collection failed.';
}
