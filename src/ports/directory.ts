import type { MailboxEntry, ServerSettings, UserSettings } from '../config/index.js';

/** A user's flags without the entries. */
export type UserFlags = Omit<UserSettings, 'entries'>;

/** Where an entry lives. */
export interface EntryLocation {
  userId: string;
  entry: MailboxEntry;
}

/**
 * The mailbox directory: the server-wide settings, the users (`user.enabled`, `user.mayEditSettings`) and their remote
 * mailbox entries. A host with its own account database implements this port; the library
 * ships an in-memory and an SQLite implementation. Values passed in are already validated.
 */
export interface MailboxDirectory {
  /** The server-wide settings, with defaults applied. */
  getSettings(): Promise<ServerSettings>;
  /** Replaces the server-wide settings. */
  setSettings(settings: ServerSettings): Promise<void>;
  /** Every user with their entries. */
  listUsers(): Promise<UserSettings[]>;
  /** One user with their entries, or undefined. */
  getUser(userId: string): Promise<UserSettings | undefined>;
  /** Adds a user or replaces their flags; existing entries are kept. */
  putUser(user: UserFlags): Promise<void>;
  /** Removes a user and their entries. */
  removeUser(userId: string): Promise<void>;
  /** An entry and the user it belongs to, or undefined. */
  getEntry(entryId: string): Promise<EntryLocation | undefined>;
  /** Adds or replaces an entry of a user (the user must exist). */
  putEntry(userId: string, entry: MailboxEntry): Promise<void>;
  /** Removes an entry; an unknown id is no change. */
  removeEntry(entryId: string): Promise<void>;
}
