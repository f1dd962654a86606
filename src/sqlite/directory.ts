import {
  type MailboxEntry,
  type ServerSettings,
  serverSettingsSchema,
  type UserSettings,
} from '../config/index.js';
import type { SecretBox } from '../crypto/index.js';
import { MultiPopError } from '../errors/index.js';
import type { MailboxDirectory, UserFlags } from '../ports/index.js';
import { mapClientSecrets, sealingContext } from '../stores/sealed-fields.js';
import type { SqliteDatabase } from './driver.js';
import { guarded } from './guard.js';

interface EntryRow {
  id: string;
  user_id: string;
  json: string;
  password: string | null;
}

/**
 * The {@link MailboxDirectory} over the store's `settings`, `users` and `entries` tables. Entry
 * passwords and OAuth client secrets are sealed; the rest is plain JSON. Users and entries come
 * back in the order they were first added.
 */
export function sqliteDirectory(db: SqliteDatabase, box: SecretBox): MailboxDirectory {
  const statements = {
    getSettings: db.prepare<[], { json: string }>('SELECT json FROM settings WHERE id = 1'),
    setSettings: db.prepare<[string]>(
      'INSERT INTO settings (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json',
    ),
    listUsers: db.prepare<[], { id: string; flags: string }>('SELECT id, flags FROM users ORDER BY rowid'),
    getUser: db.prepare<[string], { id: string; flags: string }>('SELECT id, flags FROM users WHERE id = ?'),
    putUser: db.prepare<[string, string]>(
      'INSERT INTO users (id, flags) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET flags = excluded.flags',
    ),
    removeUser: db.prepare<[string]>('DELETE FROM users WHERE id = ?'),
    removeUserEntries: db.prepare<[string]>('DELETE FROM entries WHERE user_id = ?'),
    allEntries: db.prepare<[], EntryRow>('SELECT id, user_id, json, password FROM entries ORDER BY rowid'),
    userEntries: db.prepare<[string], EntryRow>(
      'SELECT id, user_id, json, password FROM entries WHERE user_id = ? ORDER BY rowid',
    ),
    getEntry: db.prepare<[string], EntryRow>('SELECT id, user_id, json, password FROM entries WHERE id = ?'),
    putEntry: db.prepare<[string, string, string, string | null]>(
      `INSERT INTO entries (id, user_id, json, password) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET json = excluded.json, password = excluded.password`,
    ),
    removeEntry: db.prepare<[string]>('DELETE FROM entries WHERE id = ?'),
  };

  const toEntry = (row: EntryRow): MailboxEntry => {
    const entry = JSON.parse(row.json) as MailboxEntry;
    if (row.password !== null) entry.password = box.open(row.password, passwordContext(row.id));
    return entry;
  };
  const toUser = (row: { flags: string }, entries: MailboxEntry[]): UserSettings => ({
    ...(JSON.parse(row.flags) as UserFlags),
    entries,
  });

  const putEntry = db.transaction((userId: string, entry: MailboxEntry) => {
    if (!statements.getUser.get(userId)) throw new MultiPopError('NOT_FOUND', 'No such user', { userId });
    const existing = statements.getEntry.get(entry.id);
    if (existing && existing.user_id !== userId) {
      throw new MultiPopError(
        'CONFIG_INVALID',
        'The entry id is already used by another user; entry ids are unique',
        {
          field: 'id',
          mailboxId: entry.id,
        },
      );
    }
    const { password, ...plain } = entry;
    statements.putEntry.run(
      entry.id,
      userId,
      JSON.stringify(plain),
      password === undefined ? null : box.seal(password, passwordContext(entry.id)),
    );
  });
  const removeUser = db.transaction((userId: string) => {
    statements.removeUserEntries.run(userId);
    statements.removeUser.run(userId);
  });

  return {
    getSettings: () =>
      guarded('reading the settings', () => {
        const row = statements.getSettings.get();
        return row
          ? mapClientSecrets(JSON.parse(row.json) as ServerSettings, (secret, at) => box.open(secret, at))
          : serverSettingsSchema.parse({});
      }),
    setSettings: (settings) =>
      guarded('saving the settings', () => {
        const sealed = mapClientSecrets(structuredClone(settings), (secret, at) => box.seal(secret, at));
        statements.setSettings.run(JSON.stringify(sealed));
      }),
    listUsers: () =>
      guarded('listing users', () => {
        const entries = new Map<string, MailboxEntry[]>();
        for (const row of statements.allEntries.all()) {
          const list = entries.get(row.user_id) ?? [];
          list.push(toEntry(row));
          entries.set(row.user_id, list);
        }
        return statements.listUsers.all().map((row) => toUser(row, entries.get(row.id) ?? []));
      }),
    getUser: (userId) =>
      guarded('reading a user', () => {
        const row = statements.getUser.get(userId);
        return row ? toUser(row, statements.userEntries.all(userId).map(toEntry)) : undefined;
      }),
    putUser: (user) =>
      guarded('saving a user', () => {
        const { entries: _ignored, ...flags } = user as UserFlags & { entries?: unknown };
        statements.putUser.run(flags.id, JSON.stringify(flags));
      }),
    removeUser: (userId) => guarded('removing a user', () => removeUser.immediate(userId)),
    getEntry: (entryId) =>
      guarded('reading an entry', () => {
        const row = statements.getEntry.get(entryId);
        return row ? { userId: row.user_id, entry: toEntry(row) } : undefined;
      }),
    putEntry: (userId, entry) => guarded('saving an entry', () => putEntry.immediate(userId, entry)),
    removeEntry: (entryId) =>
      guarded('removing an entry', () => {
        statements.removeEntry.run(entryId);
      }),
  };
}

const passwordContext = sealingContext.entryPassword;
