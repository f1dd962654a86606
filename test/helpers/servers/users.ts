import type { InteropUser } from './types.js';

/**
 * Refuses user names and passwords that would need quoting in one of the servers' user
 * databases (passwd-style files, userdb, sasldb, Cyrus mailbox names), so every harness can
 * write them verbatim.
 *
 * @example
 * ```ts
 * checkUsers([{ name: 'ann', password: 'secret' }], 'Cyrus');
 * ```
 */
export function checkUsers(users: readonly InteropUser[], server: string): void {
  if (users.length === 0) throw new Error(`${server}: give at least one test user`);
  const seen = new Set<string>();
  for (const user of users) {
    if (!/^[a-z][a-z0-9_-]{0,30}$/.test(user.name)) {
      throw new Error(`${server}: test user name "${user.name}" must match [a-z][a-z0-9_-]{0,30}`);
    }
    if (!/^[!-~]+$/.test(user.password) || user.password.includes(':')) {
      throw new Error(`${server}: test passwords must be printable ASCII without spaces or ":"`);
    }
    if (seen.has(user.name)) throw new Error(`${server}: test user "${user.name}" given twice`);
    seen.add(user.name);
  }
}

/**
 * Throws unless `user` was created by the harness.
 *
 * @example
 * ```ts
 * knownUser(users, 'ann', 'Cyrus');
 * ```
 */
export function knownUser(users: readonly InteropUser[], name: string, server: string): InteropUser {
  const user = users.find((candidate) => candidate.name === name);
  if (!user) throw new Error(`${server}: no test user "${name}"`);
  return user;
}
