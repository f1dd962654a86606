/**
 * Seeding and reading mailboxes for the servers that keep each user's mail in a Maildir with LF
 * line ends (Courier, GNU Mailutils): CRLF test messages are stored as LF and read back as CRLF.
 */
import { deliverToMaildir, type FileOwner, readMaildir } from '../maildir.js';
import { crlfToLf, lfToCrlf } from './line-endings.js';
import type { InteropServer, InteropUser } from './types.js';
import { knownUser } from './users.js';

/**
 * The `seed()` and `messages()` of a harness whose users' Maildirs are at `maildirOf(user)`,
 * with files owned by `owner` (the account the server reads them as).
 *
 * @example
 * ```ts
 * return { ...lfMaildirMailboxes('Courier', options.users, maildir, owner), stop };
 * ```
 */
export function lfMaildirMailboxes(
  server: string,
  users: readonly InteropUser[],
  maildirOf: (user: string) => string,
  owner: FileOwner,
): Pick<InteropServer, 'seed' | 'messages'> {
  let sequence = 0;
  return {
    async seed(user, messages) {
      knownUser(users, user, server);
      const stored = messages.map((message) => crlfToLf(message, server));
      await deliverToMaildir(maildirOf(user), stored, () => sequence++, owner);
    },
    async messages(user) {
      knownUser(users, user, server);
      return (await readMaildir(maildirOf(user))).map(lfToCrlf);
    },
  };
}
