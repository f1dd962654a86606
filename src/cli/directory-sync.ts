import { createHash } from 'node:crypto';
import { type ServerSettings, serverSettingsSchema, type UserSettings } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { MailboxDirectory } from '../ports/index.js';
import type { StoreMeta } from '../stores/store-meta.js';

/** What a sync changed in the store's directory (ids), for the CLI to report. */
export interface DirectoryChanges {
  addedUsers: string[];
  updatedUsers: string[];
  removedUsers: string[];
  addedEntries: string[];
  updatedEntries: string[];
  removedEntries: string[];
  settingsReplaced: boolean;
}

/**
 * What the CLI wrote into the store the last time (kept in the store's `meta` table): the user and
 * entry ids of the config file, and a hash of the settings (a hash: they may hold client secrets).
 */
interface Written {
  users: string[];
  entries: string[];
  settingsHash?: string;
}

const WRITTEN_KEY = 'written';

/**
 * Makes the store's directory match the config file — but never removes a user or entry, nor
 * replaces settings, that the CLI did not put there itself (a host that fills the same store
 * through the API keeps its data), unless `force`. Before any write it refuses, naming
 * everything it would remove or replace, so a refused run changes nothing.
 *
 * @throws MultiPopError `CONFIG_INVALID` (field `users`) listing the foreign users, entries and
 *   settings, when not `force`.
 */
export async function syncDirectory(
  directory: MailboxDirectory,
  meta: StoreMeta,
  wanted: { settings: ServerSettings; users: UserSettings[] },
  force: boolean,
): Promise<DirectoryChanges> {
  const written = await readWritten(meta);
  const current = await directory.listUsers();
  const currentSettings = await directory.getSettings();
  const plan = planSync({ settings: currentSettings, users: current }, wanted, written);
  if (!force) refuseForeign(plan.foreign);

  if (plan.changes.settingsReplaced) await directory.setSettings(wanted.settings);
  for (const id of plan.changes.removedUsers) await directory.removeUser(id);
  for (const id of plan.changes.removedEntries) await directory.removeEntry(id);
  for (const user of wanted.users) {
    const { entries, ...flags } = user;
    await directory.putUser(flags);
    for (const entry of entries) await directory.putEntry(user.id, entry);
  }
  const record: Written = {
    users: wanted.users.map((u) => u.id),
    entries: wanted.users.flatMap((u) => u.entries.map((e) => e.id)),
    settingsHash: hash(wanted.settings),
  };
  await meta.set(WRITTEN_KEY, JSON.stringify(record));
  return plan.changes;
}

interface Foreign {
  users: string[];
  entries: string[];
  settings: boolean;
}

/** The pure part: the changes, and which of the removals/replacements touch data the CLI did not write. */
export function planSync(
  current: { settings: ServerSettings; users: UserSettings[] },
  wanted: { settings: ServerSettings; users: UserSettings[] },
  written: Written | undefined,
): { changes: DirectoryChanges; foreign: Foreign } {
  const mine = {
    users: new Set(written?.users ?? []),
    entries: new Set(written?.entries ?? []),
  };
  const changes: DirectoryChanges = {
    addedUsers: [],
    updatedUsers: [],
    removedUsers: [],
    addedEntries: [],
    updatedEntries: [],
    removedEntries: [],
    settingsReplaced: false,
  };
  const foreign: Foreign = { users: [], entries: [], settings: false };

  const wantedUsers = new Map(wanted.users.map((u) => [u.id, u]));
  const currentUsers = new Map(current.users.map((u) => [u.id, u]));
  const currentEntries = new Map(current.users.flatMap((u) => u.entries.map((e) => [e.id, e] as const)));
  for (const user of current.users) {
    const keep = wantedUsers.get(user.id);
    if (!keep) {
      changes.removedUsers.push(user.id);
      const theirs = user.entries.some((e) => !mine.entries.has(e.id));
      if (!mine.users.has(user.id) || theirs) foreign.users.push(user.id);
      continue;
    }
    const listed = new Set(keep.entries.map((e) => e.id));
    for (const entry of user.entries) {
      if (listed.has(entry.id)) continue;
      changes.removedEntries.push(entry.id);
      if (!mine.entries.has(entry.id)) foreign.entries.push(entry.id);
    }
  }
  for (const user of wanted.users) {
    const existing = currentUsers.get(user.id);
    const { entries: _wantedEntries, ...flags } = user;
    if (!existing) changes.addedUsers.push(user.id);
    else {
      const { entries: _entries, ...oldFlags } = existing;
      if (!sameValue(oldFlags, flags)) changes.updatedUsers.push(user.id);
    }
    for (const entry of user.entries) {
      const old = currentEntries.get(entry.id);
      if (!old) changes.addedEntries.push(entry.id);
      else if (!sameValue(old, entry)) changes.updatedEntries.push(entry.id);
    }
  }
  if (!sameValue(current.settings, wanted.settings)) {
    changes.settingsReplaced = true;
    const untouched = sameValue(current.settings, serverSettingsSchema.parse({}));
    if (!untouched && hash(current.settings) !== written?.settingsHash) foreign.settings = true;
  }
  return { changes, foreign };
}

/** One line for the CLI's output, or undefined when nothing changed. */
export function describeChanges(changes: DirectoryChanges): string | undefined {
  const parts: string[] = [];
  const list = (verb: string, [one, many]: [string, string], ids: string[]) => {
    if (ids.length) parts.push(`${verb} ${ids.length === 1 ? one : many} ${ids.join(', ')}`);
  };
  const users: [string, string] = ['user', 'users'];
  const entries: [string, string] = ['entry', 'entries'];
  list('added', users, changes.addedUsers);
  list('updated', users, changes.updatedUsers);
  list('removed', users, changes.removedUsers);
  list('added', entries, changes.addedEntries);
  list('updated', entries, changes.updatedEntries);
  list('removed', entries, changes.removedEntries);
  if (changes.settingsReplaced) parts.push('replaced the settings');
  return parts.length ? `Store updated from the config file: ${parts.join('; ')}.` : undefined;
}

function refuseForeign(foreign: Foreign): void {
  const named: string[] = [];
  if (foreign.users.length) named.push(`remove users ${foreign.users.join(', ')}`);
  if (foreign.entries.length) named.push(`remove entries ${foreign.entries.join(', ')}`);
  if (foreign.settings) named.push('replace the settings');
  if (!named.length) return;
  throw new MultiPopError(
    'CONFIG_INVALID',
    `The store holds data the config file does not list and the CLI did not put there; making the store match the file would ${named.join(', ')}. ` +
      'Nothing was changed. Add them to the config file, or pass --force-sync to make the store match the file.',
    {
      field: 'users',
      foreignUsers: foreign.users,
      foreignEntries: foreign.entries,
      foreignSettings: foreign.settings,
    },
  );
}

async function readWritten(meta: StoreMeta): Promise<Written | undefined> {
  const text = await meta.get(WRITTEN_KEY);
  return text === undefined ? undefined : (JSON.parse(text) as Written);
}

/** Deep equality of JSON values, independent of key order. */
function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)))
      : v,
  );
}

function hash(settings: ServerSettings): string {
  return createHash('sha256').update(canonical(settings)).digest('base64url');
}
