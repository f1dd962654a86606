import type { FakePop3Message, FakePop3User } from './types.js';

interface StoredMessage {
  uid: string;
  data: Buffer;
}

interface StoredUser {
  name: string;
  password: string;
  accessToken?: string;
  messages: StoredMessage[];
  locked: boolean;
}

/**
 * What one authenticated session sees (RFC 1939 §5): a snapshot of the maildrop taken at
 * login, message numbers fixed for the session, deletions only marked until QUIT.
 */
export class MaildropSession {
  readonly #user: StoredUser;
  readonly #messages: StoredMessage[];
  readonly #deleted = new Set<number>();
  #open = true;

  constructor(user: StoredUser) {
    this.#user = user;
    this.#messages = [...user.messages];
  }

  /** Number of messages including deleted-marked ones (message numbers stay valid). */
  get total(): number {
    return this.#messages.length;
  }

  /** The message with number `msg` (1-based), or undefined if none or marked deleted. */
  get(msg: number): StoredMessage | undefined {
    if (!Number.isInteger(msg) || msg < 1 || this.#deleted.has(msg)) return undefined;
    return this.#messages[msg - 1];
  }

  /** Message numbers not marked deleted. */
  live(): number[] {
    return this.#messages.map((_, i) => i + 1).filter((n) => !this.#deleted.has(n));
  }

  delete(msg: number): boolean {
    if (this.get(msg) === undefined) return false;
    this.#deleted.add(msg);
    return true;
  }

  reset(): void {
    this.#deleted.clear();
  }

  /** QUIT in TRANSACTION: remove the marked messages from the store, release the lock. */
  commit(): void {
    if (!this.#open) return;
    const gone = new Set([...this.#deleted].map((n) => this.#messages[n - 1]));
    this.#user.messages = this.#user.messages.filter((m) => !gone.has(m));
    this.release();
  }

  /** Session ended without QUIT: nothing changes (deletions roll back), the lock is released. */
  release(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#user.locked = false;
  }
}

/** The fake server's mailboxes. */
export class FakeMailStore {
  readonly #users = new Map<string, StoredUser>();
  // user → logins refused because another session held the maildrop.
  readonly #overlaps = new Map<string, number>();
  #nextUid = 1;

  constructor(users: FakePop3User[]) {
    for (const user of users) {
      const stored: StoredUser = {
        name: user.name,
        password: user.password,
        accessToken: user.accessToken,
        messages: [],
        locked: false,
      };
      this.#users.set(user.name, stored);
      for (const message of user.messages ?? []) this.add(user.name, message);
    }
  }

  user(name: string): StoredUser | undefined {
    return this.#users.get(name);
  }

  add(name: string, message: Buffer | FakePop3Message): void {
    const user = this.#users.get(name);
    if (!user) throw new Error(`fake POP3 server: no user ${name}`);
    const data = Buffer.isBuffer(message) ? message : message.data;
    const uid =
      Buffer.isBuffer(message) || message.uid === undefined ? `uid-${this.#nextUid++}` : message.uid;
    user.messages.push({ uid, data: Buffer.from(data) });
  }

  /** Gives every message of a user a new UIDL (content unchanged). */
  renameUids(name: string, rename: (uid: string, index: number) => string): void {
    const user = this.#require(name);
    user.messages = user.messages.map((m, i) => ({ ...m, uid: rename(m.uid, i) }));
  }

  /** Removes messages by 0-based index, as a deletion by another client would. */
  remove(name: string, indexes: readonly number[]): void {
    const user = this.#require(name);
    const gone = new Set(indexes);
    user.messages = user.messages.filter((_, i) => !gone.has(i));
  }

  #require(name: string): StoredUser {
    const user = this.#users.get(name);
    if (!user) throw new Error(`fake POP3 server: no user ${name}`);
    return user;
  }

  /** Locks and opens a user's maildrop; undefined when another session holds it. */
  open(name: string): MaildropSession | undefined {
    const user = this.#users.get(name);
    if (!user) return undefined;
    if (user.locked) {
      this.#overlaps.set(name, (this.#overlaps.get(name) ?? 0) + 1);
      return undefined;
    }
    user.locked = true;
    return new MaildropSession(user);
  }

  /** Logins that found the maildrop locked by another session, for one user or all. */
  overlappingLogins(name?: string): number {
    if (name !== undefined) return this.#overlaps.get(name) ?? 0;
    let total = 0;
    for (const n of this.#overlaps.values()) total += n;
    return total;
  }

  snapshot(name: string): { messages: Buffer[]; uids: string[] } {
    const user = this.#users.get(name);
    if (!user) throw new Error(`fake POP3 server: no user ${name}`);
    return { messages: user.messages.map((m) => Buffer.from(m.data)), uids: user.messages.map((m) => m.uid) };
  }
}
