import { type MailboxEntry, parseMailboxEntry, parseServerSettings } from '../../config/index.js';
import { isMultiPopError } from '../../errors/index.js';
import type { MailboxDirectory } from '../../ports/index.js';
import { expect } from './expect.js';
import { type ContractFactory, toHarness, useSubject } from './harness.js';
import { type Contract, defineContract, describe, it } from './suite.js';

const passwordEntry = (id: string, password = 'p4ss-wörd'): MailboxEntry =>
  parseMailboxEntry({
    id,
    server: 'pop.example.net:995',
    username: `user-${id}`,
    password,
    leaveOnServer: true,
    deleteAfterDays: 7,
  });
const oauthEntry = (id: string): MailboxEntry =>
  parseMailboxEntry({
    id,
    server: 'pop.gmail.com:995',
    username: `${id}@gmail.com`,
    auth: 'oauth',
    maxMessageSizeKb: 2048,
  });

const settingsWithSecrets = () =>
  parseServerSettings({
    alwaysDelete: true,
    schedule: { mode: 'interval', minutes: 5 },
    oauth: {
      gmail: {
        clientId: 'gmail-client',
        clientSecret: 'gmail-secret-Ω',
        redirectUris: { 'example.com': 'https://mail.example.com/oauth' },
      },
      microsoft: {
        clientId: 'ms-client',
        clientSecret: 'ms-secret',
        redirectUris: { 'example.com': 'https://mail.example.com/oauth' },
      },
    },
  });

/**
 * The {@link MailboxDirectory} contract. Beyond the port's words it fixes: `putUser` ignores an
 * `entries` field; `putEntry` for an unknown user rejects with `NOT_FOUND`, and with an id that
 * belongs to another user rejects with `CONFIG_INVALID` (entry ids are unique across users);
 * removing an unknown user or entry is no change; values are copies both ways.
 *
 * @example
 * <!-- doc-context declare const AccountsDirectory: new (db: unknown) => MailboxDirectory; declare function testDb(): unknown; -->
 * ```ts
 * import { runDirectoryContract } from 'multipop/testing/vitest';
 * runDirectoryContract('accounts-db directory', () => new AccountsDirectory(testDb()));
 * ```
 */
export function directoryContract<D extends MailboxDirectory>(
  name: string,
  factory: ContractFactory<D>,
): Contract {
  return defineContract(() => directoryCases(name, factory));
}

function directoryCases<D extends MailboxDirectory>(name: string, factory: ContractFactory<D>): void {
  const harness = toHarness(factory);

  describe(`MailboxDirectory contract: ${name}`, () => {
    const directory = useSubject(harness);

    it('starts with no users', async () => {
      expect(await directory().listUsers()).toEqual([]);
      expect(await directory().getUser('nobody')).toBeUndefined();
      expect(await directory().getEntry('nothing')).toBeUndefined();
    });

    it('saves and returns the settings, client secrets included', async () => {
      const settings = settingsWithSecrets();
      await directory().setSettings(settings);
      expect(await directory().getSettings()).toEqual(settings);
      const changed = { ...settings, enabled: false };
      await directory().setSettings(changed);
      expect((await directory().getSettings()).enabled).toBe(false);
    });

    it('adds a user with no entries, and replaces the flags while keeping the entries', async () => {
      await directory().putUser({ id: 'ann@example.com', enabled: true, mayEditSettings: false });
      expect(await directory().getUser('ann@example.com')).toEqual({
        id: 'ann@example.com',
        enabled: true,
        mayEditSettings: false,
        entries: [],
      });
      await directory().putEntry('ann@example.com', passwordEntry('e1'));
      await directory().putUser({ id: 'ann@example.com', enabled: false, mayEditSettings: true });
      const ann = await directory().getUser('ann@example.com');
      expect(ann).toMatchObject({ enabled: false, mayEditSettings: true });
      expect(ann?.entries).toEqual([passwordEntry('e1')]);
    });

    it('ignores an entries field passed to putUser', async () => {
      const sneaky = {
        id: 'ann',
        enabled: true,
        mayEditSettings: false,
        entries: [passwordEntry('smuggled')],
      };
      await directory().putUser(sneaky);
      expect((await directory().getUser('ann'))?.entries).toEqual([]);
      expect(await directory().getEntry('smuggled')).toBeUndefined();
    });

    it('lists every user with their entries', async () => {
      await directory().putUser({ id: 'ann', enabled: true, mayEditSettings: false });
      await directory().putUser({ id: 'bob', enabled: true, mayEditSettings: true });
      await directory().putEntry('ann', passwordEntry('a1'));
      await directory().putEntry('bob', oauthEntry('b1'));
      await directory().putEntry('ann', oauthEntry('a2'));
      const users = [...(await directory().listUsers())].sort((x, y) => x.id.localeCompare(y.id));
      expect(users.map((u) => u.id)).toEqual(['ann', 'bob']);
      expect([...users[0]!.entries].sort((x, y) => x.id.localeCompare(y.id))).toEqual([
        passwordEntry('a1'),
        oauthEntry('a2'),
      ]);
      expect(users[1]!.entries).toEqual([oauthEntry('b1')]);
    });

    it('rejects putEntry for an unknown user with NOT_FOUND', async () => {
      const error = await directory()
        .putEntry('ghost', passwordEntry('e1'))
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(isMultiPopError(error, 'NOT_FOUND')).toBe(true);
      expect(await directory().getEntry('e1')).toBeUndefined();
    });

    it('rejects an entry id that belongs to another user with CONFIG_INVALID, changing nothing', async () => {
      await directory().putUser({ id: 'ann', enabled: true, mayEditSettings: false });
      await directory().putUser({ id: 'bob', enabled: true, mayEditSettings: false });
      await directory().putEntry('ann', passwordEntry('shared', 'ann-pw'));
      const error = await directory()
        .putEntry('bob', passwordEntry('shared', 'bob-pw'))
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(isMultiPopError(error, 'CONFIG_INVALID')).toBe(true);
      expect(await directory().getEntry('shared')).toEqual({
        userId: 'ann',
        entry: passwordEntry('shared', 'ann-pw'),
      });
      expect((await directory().getUser('bob'))?.entries).toEqual([]);
    });

    it('adds, replaces, finds and removes entries', async () => {
      await directory().putUser({ id: 'ann', enabled: true, mayEditSettings: false });
      await directory().putEntry('ann', passwordEntry('e1', 'first'));
      expect(await directory().getEntry('e1')).toEqual({
        userId: 'ann',
        entry: passwordEntry('e1', 'first'),
      });
      const replaced = { ...passwordEntry('e1', 'second'), enabled: false, server: 'pop.other.example:110' };
      await directory().putEntry('ann', replaced);
      expect(await directory().getEntry('e1')).toEqual({ userId: 'ann', entry: replaced });
      expect((await directory().getUser('ann'))?.entries).toEqual([replaced]);
      await directory().removeEntry('e1');
      expect(await directory().getEntry('e1')).toBeUndefined();
      expect((await directory().getUser('ann'))?.entries).toEqual([]);
    });

    it('replaces a password entry by an OAuth entry without keeping the password', async () => {
      await directory().putUser({ id: 'ann', enabled: true, mayEditSettings: false });
      await directory().putEntry('ann', passwordEntry('e1'));
      await directory().putEntry('ann', oauthEntry('e1'));
      const found = await directory().getEntry('e1');
      expect(found?.entry).toEqual(oauthEntry('e1'));
      expect(found?.entry.password).toBeUndefined();
    });

    it('removeUser removes the user and all their entries, and leaves others alone', async () => {
      await directory().putUser({ id: 'ann', enabled: true, mayEditSettings: false });
      await directory().putUser({ id: 'bob', enabled: true, mayEditSettings: false });
      await directory().putEntry('ann', passwordEntry('a1'));
      await directory().putEntry('ann', oauthEntry('a2'));
      await directory().putEntry('bob', passwordEntry('b1'));
      await directory().removeUser('ann');
      expect(await directory().getUser('ann')).toBeUndefined();
      expect(await directory().getEntry('a1')).toBeUndefined();
      expect(await directory().getEntry('a2')).toBeUndefined();
      expect((await directory().listUsers()).map((u) => u.id)).toEqual(['bob']);
      expect((await directory().getEntry('b1'))?.userId).toBe('bob');
      // The id is free again, for any user.
      await directory().putEntry('bob', passwordEntry('a1'));
      expect((await directory().getEntry('a1'))?.userId).toBe('bob');
    });

    it('treats removing an unknown user or entry as no change', async () => {
      await directory().removeUser('ghost');
      await directory().removeEntry('ghost-entry');
      expect(await directory().listUsers()).toEqual([]);
    });

    it('copies values both ways', async () => {
      const settings = settingsWithSecrets();
      await directory().setSettings(settings);
      settings.alwaysDelete = false;
      settings.oauth.gmail!.clientSecret = 'changed';
      expect((await directory().getSettings()).oauth.gmail?.clientSecret).toBe('gmail-secret-Ω');
      (await directory().getSettings()).oauth.gmail!.clientSecret = 'changed';
      expect((await directory().getSettings()).oauth.gmail?.clientSecret).toBe('gmail-secret-Ω');

      await directory().putUser({ id: 'ann', enabled: true, mayEditSettings: false });
      const entry = passwordEntry('e1');
      await directory().putEntry('ann', entry);
      entry.password = 'changed';
      const found = await directory().getEntry('e1');
      expect(found?.entry.password).toBe('p4ss-wörd');
      found!.entry.username = 'changed';
      (await directory().getUser('ann'))!.entries.push(passwordEntry('e2'));
      expect((await directory().getEntry('e1'))?.entry.username).toBe('user-e1');
      expect((await directory().getUser('ann'))?.entries).toHaveLength(1);
    });

    it.skipIf(!harness.reopen, 'needs harness.reopen (close and open the same data again)')(
      'keeps settings, users and entries across a reopen',
      async () => {
        const settings = settingsWithSecrets();
        await directory().setSettings(settings);
        await directory().putUser({ id: 'ann', enabled: true, mayEditSettings: true });
        await directory().putEntry('ann', passwordEntry('a1'));
        await directory().putEntry('ann', oauthEntry('a2'));
        const reopened = await directory.reopen!();
        expect(await reopened.getSettings()).toEqual(settings);
        expect(await reopened.getUser('ann')).toEqual({
          id: 'ann',
          enabled: true,
          mayEditSettings: true,
          entries: expect.arrayContaining([passwordEntry('a1'), oauthEntry('a2')]),
        });
      },
    );
  });
}
