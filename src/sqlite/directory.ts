import type { MailboxEntry } from '../config/index.js';
import type { SecretBox } from '../crypto/index.js';
import { MultiPopError } from '../errors/index.js';
import type { MailboxDirectory } from '../ports/index.js';
import { type EntryRow, sealedRows, type UserRow } from '../stores/sealed-rows.js';
import type { SqliteDatabase } from './driver.js';
import { guarded } from './guard.js';

/**
 * The {@link MailboxDirectory} over the store's `settings`, `users` and `entries` tables. Entry
 * passwords and OAuth client secrets are sealed; the rest is plain JSON. Users and entries come
 * back in the order they were first added.
 */
export function sqliteDirectory(db: SqliteDatabase, box: SecretBox): MailboxDirectory {
  const rows = sealedRows(box);
  const statements = {
    getSettings: db.prepare<[], { json: string }>('SELECT json FROM settings WHERE id = 1'),
    setSettings: db.prepare<[string]>(
      'INSERT INTO settings (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json',
    ),
    listUsers: db.prepare<[], UserRow>('SELECT id, flags FROM users ORDER BY rowid'),
    getUser: db.prepare<[string], UserRow>('SELECT id, flags FROM users WHERE id = ?'),
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
    const { json, password } = rows.entryColumns(entry);
    statements.putEntry.run(entry.id, userId, json, password);
  });
  const removeUser = db.transaction((userId: string) => {
    statements.removeUserEntries.run(userId);
    statements.removeUser.run(userId);
  });

  return {
    getSettings: () =>
      guarded('reading the settings', () => {
        return rows.settingsFromJson(statements.getSettings.get()?.json);
      }),
    setSettings: (settings) =>
      guarded('saving the settings', () => {
        statements.setSettings.run(rows.settingsToJson(settings));
      }),
    listUsers: () =>
      guarded('listing users', () => {
        return rows.usersWithEntries(statements.listUsers.all(), statements.allEntries.all());
      }),
    getUser: (userId) =>
      guarded('reading a user', () => {
        const row = statements.getUser.get(userId);
        return row
          ? rows.userFromRow(row, statements.userEntries.all(userId).map(rows.entryFromRow))
          : undefined;
      }),
    putUser: (user) =>
      guarded('saving a user', () => {
        statements.putUser.run(user.id, rows.userFlagsJson(user));
      }),
    removeUser: (userId) => guarded('removing a user', () => removeUser.immediate(userId)),
    getEntry: (entryId) =>
      guarded('reading an entry', () => {
        const row = statements.getEntry.get(entryId);
        return row ? { userId: row.user_id, entry: rows.entryFromRow(row) } : undefined;
      }),
    putEntry: (userId, entry) => guarded('saving an entry', () => putEntry.immediate(userId, entry)),
    removeEntry: (entryId) =>
      guarded('removing an entry', () => {
        statements.removeEntry.run(entryId);
      }),
  };
}
