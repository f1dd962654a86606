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
import type { Db } from './db.js';
import { guarded } from './guard.js';
import type { Tables } from './tables.js';

interface EntryRow {
  id: string;
  user_id: string;
  json: string;
  password: string | null;
}

/**
 * The {@link MailboxDirectory} over the `settings`, `users` and `entries` tables. Entry
 * passwords and OAuth client secrets are sealed with the same contexts as in the SQLite store;
 * the rest is plain JSON. Users and entries come back in the order they were first added.
 */
export function postgresDirectory(db: Db, t: Tables, box: SecretBox): MailboxDirectory {
  const entryColumns = 'id, user_id, json, password';
  const toEntry = (row: EntryRow): MailboxEntry => {
    const entry = JSON.parse(row.json) as MailboxEntry;
    if (row.password !== null) entry.password = box.open(row.password, sealingContext.entryPassword(row.id));
    return entry;
  };
  const toUser = (row: { flags: string }, entries: MailboxEntry[]): UserSettings => ({
    ...(JSON.parse(row.flags) as UserFlags),
    entries,
  });

  return {
    getSettings: () =>
      guarded('reading the settings', async () => {
        const { rows } = await db.query<{ json: string }>(`SELECT json FROM ${t.settings} WHERE id = 1`);
        return rows[0]
          ? mapClientSecrets(JSON.parse(rows[0].json) as ServerSettings, (secret, at) => box.open(secret, at))
          : serverSettingsSchema.parse({});
      }),
    setSettings: (settings) =>
      guarded('saving the settings', async () => {
        const sealed = mapClientSecrets(structuredClone(settings), (secret, at) => box.seal(secret, at));
        await db.query(
          `INSERT INTO ${t.settings} (id, json) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET json = excluded.json`,
          [JSON.stringify(sealed)],
        );
      }),
    listUsers: () =>
      guarded('listing users', async () => {
        const [users, all] = await Promise.all([
          db.query<{ id: string; flags: string }>(`SELECT id, flags FROM ${t.users} ORDER BY seq`),
          db.query<EntryRow>(`SELECT ${entryColumns} FROM ${t.entries} ORDER BY seq`),
        ]);
        const entries = new Map<string, MailboxEntry[]>();
        for (const row of all.rows) {
          const list = entries.get(row.user_id) ?? [];
          list.push(toEntry(row));
          entries.set(row.user_id, list);
        }
        return users.rows.map((row) => toUser(row, entries.get(row.id) ?? []));
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
        return toUser(user.rows[0], entries.rows.map(toEntry));
      }),
    putUser: (user) =>
      guarded('saving a user', async () => {
        const { entries: _ignored, ...flags } = user as UserFlags & { entries?: unknown };
        await db.query(
          `INSERT INTO ${t.users} (id, flags) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET flags = excluded.flags`,
          [flags.id, JSON.stringify(flags)],
        );
      }),
    removeUser: (userId) =>
      guarded('removing a user', async () => {
        await db.query(`DELETE FROM ${t.users} WHERE id = $1`, [userId]); // entries cascade
      }),
    getEntry: (entryId) =>
      guarded('reading an entry', async () => {
        const { rows } = await db.query<EntryRow>(`SELECT ${entryColumns} FROM ${t.entries} WHERE id = $1`, [
          entryId,
        ]);
        return rows[0] ? { userId: rows[0].user_id, entry: toEntry(rows[0]) } : undefined;
      }),
    putEntry: (userId, entry) =>
      guarded('saving an entry', () =>
        db.transaction(async (query) => {
          // FOR SHARE: the user cannot be removed between this check and the insert.
          const user = await query(`SELECT 1 FROM ${t.users} WHERE id = $1 FOR SHARE`, [userId]);
          if (user.rowCount === 0) throw new MultiPopError('NOT_FOUND', 'No such user', { userId });
          const { password, ...plain } = entry;
          const sealed =
            password === undefined ? null : box.seal(password, sealingContext.entryPassword(entry.id));
          const written = await query(
            `INSERT INTO ${t.entries} (id, user_id, json, password) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, password = excluded.password
             WHERE ${t.entries}.user_id = excluded.user_id`,
            [entry.id, userId, JSON.stringify(plain), sealed],
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
