/**
 * Every case of the MailboxDirectory contract can fail: the memory directory passes the whole
 * suite, and each broken wrapper around it — one defect apiece, the mistakes an accounts-database
 * directory makes — fails the case written for that defect. Together the defects fail every case.
 */
import { directoryContract, memoryDirectory } from 'multipop/testing';
import { describe, it } from 'vitest';
import type { MailboxEntry, ServerSettings } from '../../../src/config/index.js';
import { MultiPopError } from '../../../src/errors/index.js';
import type { EntryLocation, MailboxDirectory } from '../../../src/ports/index.js';
import { expectEveryCaseCanFail } from './mutants.js';

type Defect =
  | 'a built-in postmaster user'
  | 'client secrets not stored'
  | 'putUser replaces the whole user'
  | 'putUser stores the entries it is given'
  | 'users listed without entries'
  | 'putEntry creates a missing user'
  | 'putEntry moves an entry to another user'
  | 'an entry is never replaced'
  | 'a replaced entry keeps the old password'
  | 'removeUser leaves the entries behind'
  | 'removing what is not there is an error'
  | 'settings handed out by reference'
  | 'forgets everything on reopen';

/** The memory directory, with `defect` added around it. */
function brokenDirectory(defect?: Defect): MailboxDirectory {
  const base = memoryDirectory();
  const orphans = new Map<string, EntryLocation>();
  let stored: ServerSettings | undefined;
  const directory: MailboxDirectory = {
    async getSettings() {
      return defect === 'settings handed out by reference' && stored ? stored : base.getSettings();
    },
    async setSettings(settings) {
      if (defect === 'settings handed out by reference') stored = settings;
      if (defect === 'client secrets not stored') {
        const copy = structuredClone(settings);
        for (const app of Object.values(copy.oauth)) if (app) app.clientSecret = '';
        return base.setSettings(copy);
      }
      return base.setSettings(settings);
    },
    async listUsers() {
      const users = await base.listUsers();
      if (defect === 'users listed without entries') return users.map((u) => ({ ...u, entries: [] }));
      if (defect === 'a built-in postmaster user')
        return [...users, { id: 'postmaster', enabled: false, mayEditSettings: false, entries: [] }];
      return users;
    },
    getUser: (id) => base.getUser(id),
    async putUser(user) {
      if (defect === 'putUser replaces the whole user') await base.removeUser(user.id);
      await base.putUser(user);
      if (defect === 'putUser stores the entries it is given')
        for (const entry of (user as { entries?: MailboxEntry[] }).entries ?? [])
          await base.putEntry(user.id, entry);
    },
    async removeUser(id) {
      const user = await base.getUser(id);
      if (defect === 'removing what is not there is an error' && !user)
        throw new MultiPopError('NOT_FOUND', 'no such user');
      if (defect === 'removeUser leaves the entries behind')
        for (const entry of user?.entries ?? []) orphans.set(entry.id, { userId: id, entry });
      await base.removeUser(id);
    },
    async getEntry(id) {
      return (await base.getEntry(id)) ?? orphans.get(id);
    },
    async putEntry(userId, entry) {
      const old = await base.getEntry(entry.id);
      if (defect === 'putEntry creates a missing user' && !(await base.getUser(userId)))
        await base.putUser({ id: userId, enabled: true, mayEditSettings: false });
      if (defect === 'putEntry moves an entry to another user' && old && old.userId !== userId)
        await base.removeEntry(entry.id);
      if (defect === 'an entry is never replaced' && old) return;
      if (defect === 'a replaced entry keeps the old password' && old)
        return base.putEntry(userId, { ...entry, password: entry.password ?? old.entry.password });
      return base.putEntry(userId, entry);
    },
    async removeEntry(id) {
      if (defect === 'removing what is not there is an error' && !(await base.getEntry(id)))
        throw new MultiPopError('NOT_FOUND', 'no such entry');
      await base.removeEntry(id);
    },
  };
  return directory;
}

const contract = (defect?: Defect) =>
  directoryContract(defect ?? 'correct', {
    create: () => brokenDirectory(defect),
    reopen: (directory) => (defect === 'forgets everything on reopen' ? brokenDirectory() : directory),
  });

describe('the MailboxDirectory contract fails each defect at its case', () => {
  it('passes the memory directory, fails every broken one, and every case fails for some defect', async () => {
    await expectEveryCaseCanFail(contract, {
      'a built-in postmaster user': 'starts with no users',
      'client secrets not stored': 'saves and returns the settings, client secrets included',
      'putUser replaces the whole user':
        'adds a user with no entries, and replaces the flags while keeping the entries',
      'putUser stores the entries it is given': 'ignores an entries field passed to putUser',
      'users listed without entries': 'lists every user with their entries',
      'putEntry creates a missing user': 'rejects putEntry for an unknown user with NOT_FOUND',
      'putEntry moves an entry to another user': 'rejects an entry id that belongs to another user',
      'an entry is never replaced': 'adds, replaces, finds and removes entries',
      'a replaced entry keeps the old password': 'replaces a password entry by an OAuth entry',
      'removeUser leaves the entries behind': 'removeUser removes the user and all their entries',
      'removing what is not there is an error': 'treats removing an unknown user or entry as no change',
      'settings handed out by reference': 'copies values both ways',
      'forgets everything on reopen': 'keeps settings, users and entries across a reopen',
    });
  });
});
