import type { MailboxEntry } from '../config/index.js';
import { parseServer } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { Pop3ClientApi } from '../pop3/api.js';

/**
 * Refuses to send any credential (password, APOP digest, access token) over a connection that
 * is not encrypted, unless the entry's `tls` is explicitly `'none'`. The POP3 client already
 * refuses to continue when STLS is missing; this is the second lock on the same door, so that a
 * host-supplied client, a test double or a future bug cannot turn a mistake into a leaked
 * password.
 *
 * @example
 * ```ts
 * assertCredentialsMaySend(client, entry); // throws TLS_REQUIRED on a plain connection
 * await client.login(entry.username, entry.password!);
 * ```
 * @throws MultiPopError `TLS_REQUIRED` (nothing was sent)
 */
export function assertCredentialsMaySend(
  client: Pick<Pop3ClientApi, 'secure'>,
  entry: Pick<MailboxEntry, 'id' | 'server' | 'tls'>,
): void {
  if (client.secure) return;
  // Only an explicit choice counts: an omitted tls on port 110 means STARTTLS, not "plain".
  if (entry.tls === 'none' && parseServer(entry.server, entry.tls).tls === 'none') return;
  throw new MultiPopError(
    'TLS_REQUIRED',
    'The connection is not encrypted and the entry does not allow plain text (tls is not "none"); no credentials were sent',
    { mailboxId: entry.id },
  );
}
