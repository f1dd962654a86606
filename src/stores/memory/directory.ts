import {
  type MailboxEntry,
  type MultiPopConfig,
  type ServerSettings,
  serverSettingsSchema,
} from '../../config/index.js';
import { MultiPopError } from '../../errors/index.js';
import type { MailboxDirectory, UserFlags } from '../../ports/index.js';

interface UserRecord {
  flags: UserFlags;
  /** In the order first added; replacing keeps the position (stable lists in webmail). */
  entries: Map<string, MailboxEntry>;
}

/**
 * An in-memory {@link MailboxDirectory}, optionally seeded from a validated configuration
 * (`parseConfig(...)`). Users and entries keep the order they were first added in. Values are
 * deep-copied in and out, so a caller's later edits never reach the directory unnoticed.
 *
 * @example
 * ```ts
 * const directory = memoryDirectory(parseConfig({ users: [{ id: 'ann@example.com', entries: [] }] }));
 * await directory.putEntry('ann@example.com', parseMailboxEntry({ id: 'gmail', server: 'pop.gmail.com:995', username: 'ann', password: 'pw' }));
 * ```
 */
export function memoryDirectory(initial?: MultiPopConfig): MailboxDirectory {
  let settings: ServerSettings = structuredClone(initial?.settings ?? serverSettingsSchema.parse({}));
  const users = new Map<string, UserRecord>();
  // entry id → user id: entry ids are unique across users (the ledger and tokens key on them).
  const owners = new Map<string, string>();

  for (const user of initial?.users ?? []) {
    const { entries, ...flags } = structuredClone(user);
    users.set(flags.id, { flags, entries: new Map(entries.map((entry) => [entry.id, entry])) });
    for (const entry of entries) owners.set(entry.id, flags.id);
  }

  const snapshot = (record: UserRecord) =>
    structuredClone({ ...record.flags, entries: [...record.entries.values()] });

  return {
    async getSettings() {
      return structuredClone(settings);
    },
    async setSettings(next) {
      settings = structuredClone(next);
    },
    async listUsers() {
      return [...users.values()].map(snapshot);
    },
    async getUser(userId) {
      const record = users.get(userId);
      return record ? snapshot(record) : undefined;
    },
    async putUser(user) {
      // Only the flags: a full UserSettings passed here must not smuggle entries in.
      const { entries: _ignored, ...flags } = structuredClone(user) as UserFlags & { entries?: unknown };
      const record = users.get(flags.id);
      if (record) record.flags = flags;
      else users.set(flags.id, { flags, entries: new Map() });
    },
    async removeUser(userId) {
      const record = users.get(userId);
      if (!record) return;
      for (const entryId of record.entries.keys()) owners.delete(entryId);
      users.delete(userId);
    },
    async getEntry(entryId) {
      const userId = owners.get(entryId);
      const entry = userId === undefined ? undefined : users.get(userId)?.entries.get(entryId);
      return userId !== undefined && entry ? { userId, entry: structuredClone(entry) } : undefined;
    },
    async putEntry(userId, entry) {
      const record = users.get(userId);
      if (!record) throw new MultiPopError('NOT_FOUND', 'No such user', { userId });
      const owner = owners.get(entry.id);
      if (owner !== undefined && owner !== userId) {
        throw new MultiPopError(
          'CONFIG_INVALID',
          'The entry id is already used by another user; entry ids are unique',
          {
            field: 'id',
            mailboxId: entry.id,
          },
        );
      }
      record.entries.set(entry.id, structuredClone(entry));
      owners.set(entry.id, userId);
    },
    async removeEntry(entryId) {
      const userId = owners.get(entryId);
      if (userId === undefined) return;
      users.get(userId)?.entries.delete(entryId);
      owners.delete(entryId);
    },
  };
}
