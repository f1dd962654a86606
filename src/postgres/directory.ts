import type { SecretBox } from '../crypto/index.js';
import { MultiPopError } from '../errors/index.js';
import type { MailboxDirectory } from '../ports/index.js';
import { type EntryRow, sealedRows, type UserRow } from '../stores/sealed-rows.js';
import type { Db } from './db.js';
import { guarded } from './guard.js';
import type { Tables } from './tables.js';

/**
 * The {@link MailboxDirectory} over the `settings`, `users` and `entries` tables. Entry
 * passwords and OAuth client secrets are sealed with the same contexts as in the SQLite store;
 * the rest is plain JSON. Users and entries come back in the order they were first added.
 */
export function postgresDirectory(db: Db, t: Tables, box: SecretBox): MailboxDirectory {
  const entryColumns = 'id, user_id, json, password';
  const rows = sealedRows(box);

  return {
    getSettings: () =>
      guarded('reading the settings', async () => {
        const stored = await db.query<{ json: string }>(`SELECT json FROM ${t.settings} WHERE id = 1`);
        return rows.settingsFromJson(stored.rows[0]?.json);
      }),
    setSettings: (settings) =>
      guarded('saving the settings', async () => {
        await db.query(
          `INSERT INTO ${t.settings} (id, json) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET json = excluded.json`,
          [rows.settingsToJson(settings)],
        );
      }),
    listUsers: () =>
      guarded('listing users', async () => {
        const [users, all] = await Promise.all([
          db.query<UserRow>(`SELECT id, flags FROM ${t.users} ORDER BY seq`),
          db.query<EntryRow>(`SELECT ${entryColumns} FROM ${t.entries} ORDER BY seq`),
        ]);
        return rows.usersWithEntries(users.rows, all.rows);
      }),
    getUser: (userId) =>
      guarded('reading a user', async () => {
        const user = await db.query<{ flags: string }>(`SELECT flags FROM ${t.users} WHERE id = $1`, [
          userId,
        ]);
        if (!user.rows[0]) return undefined;
        const entries = await db.query<EntryRow>(
          `SELECT ${entryColumns} FROM ${t.entries} WHERE user_id = $1 ORDER BY seq`,
          [userId],
        );
        return rows.userFromRow(user.rows[0], entries.rows.map(rows.entryFromRow));
      }),
    putUser: (user) =>
      guarded('saving a user', async () => {
        await db.query(
          `INSERT INTO ${t.users} (id, flags) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET flags = excluded.flags`,
          [user.id, rows.userFlagsJson(user)],
        );
      }),
    removeUser: (userId) =>
      guarded('removing a user', async () => {
        await db.query(`DELETE FROM ${t.users} WHERE id = $1`, [userId]); // entries cascade
      }),
    getEntry: (entryId) =>
      guarded('reading an entry', async () => {
        const found = await db.query<EntryRow>(`SELECT ${entryColumns} FROM ${t.entries} WHERE id = $1`, [
          entryId,
        ]);
        const row = found.rows[0];
        return row ? { userId: row.user_id, entry: rows.entryFromRow(row) } : undefined;
      }),
    putEntry: (userId, entry) =>
      guarded('saving an entry', () =>
        db.transaction(async (query) => {
          // FOR SHARE: the user cannot be removed between this check and the insert.
          const user = await query(`SELECT 1 FROM ${t.users} WHERE id = $1 FOR SHARE`, [userId]);
          if (user.rowCount === 0) throw new MultiPopError('NOT_FOUND', 'No such user', { userId });
          const { json, password } = rows.entryColumns(entry);
          const written = await query(
            `INSERT INTO ${t.entries} (id, user_id, json, password) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, password = excluded.password
             WHERE ${t.entries}.user_id = excluded.user_id`,
            [entry.id, userId, json, password],
          );
          if (written.rowCount === 0) {
            throw new MultiPopError(
              'CONFIG_INVALID',
              'The entry id is already used by another user; entry ids are unique',
              { field: 'id', mailboxId: entry.id },
            );
          }
        }),
      ),
    removeEntry: (entryId) =>
      guarded('removing an entry', async () => {
        await db.query(`DELETE FROM ${t.entries} WHERE id = $1`, [entryId]);
      }),
  };
}
