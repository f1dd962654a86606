import { randomUUID } from 'node:crypto';
import type { OAuthCallbackInput } from '../auth/oauth/callback.js';
import type { BeginGrantResult, CompleteGrantResult } from '../auth/oauth/grant-flow.js';
import {
  entryOAuthProvider,
  type MailboxEntry,
  type MailboxEntryInput,
  oauthAppProblem,
  parseMailboxEntry,
  parseServer,
  type ServerSettings,
} from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { Log } from '../log/index.js';
import {
  type Actor,
  type CollectionLedger,
  type EntryLocation,
  emptyMailboxStatus,
  type MailboxDirectory,
  type MailboxStatus,
  type TokenStore,
} from '../ports/index.js';
import type { FetcherOAuthService } from './options.js';
import { assertPermitted, type PermissionLevel } from './permissions.js';

/** An entry as webmail sees it: no password, but whether one is set, and its status. */
export type EntryView = Omit<MailboxEntry, 'password'> & {
  /** The local user the entry belongs to. */
  userId: string;
  /** Whether a password is stored (the password itself is never returned). */
  hasPassword: boolean;
  status: MailboxStatus;
};

/** A change to an entry: any fields of the entry; `id` may be given but not changed. */
export type EntryPatch = Partial<MailboxEntryInput>;

/** What {@link EntryOperations} needs from the fetcher. */
export interface EntryOperationsDeps {
  directory: MailboxDirectory;
  ledger: CollectionLedger;
  tokens: TokenStore | undefined;
  oauth: FetcherOAuthService | undefined;
  log: Log;
  /** The fetcher's serialised status update. */
  updateStatus(
    mailboxId: string,
    update: (previous: MailboxStatus) => MailboxStatus | undefined,
  ): Promise<void>;
  /** The session of the entry under way, if any. */
  waitForSession(mailboxId: string): Promise<unknown> | undefined;
  /** Drops in-memory state about an entry. */
  forget(mailboxId: string): void;
}

// Fields that decide which remote account an entry logs in to: when one changes, OAuth
// tokens issued for the old account must not be used for the new one.
const IDENTITY_FIELDS = ['server', 'username', 'auth', 'oauthProvider'] as const;

/**
 * The webmail-facing operations on entries  and the OAuth grant pass-through, each
 * behind the permission check of {@link assertPermitted}. Used by `MultiPopFetcher`.
 *
 * @example
 * ```ts
 * const ops = new EntryOperations(deps);
 * await ops.add({ role: 'admin' }, 'ann', { server: 'pop.example.com', username: 'ann', password: 'pw' });
 * ```
 */
export class EntryOperations {
  readonly #d: EntryOperationsDeps;

  constructor(deps: EntryOperationsDeps) {
    this.#d = deps;
  }

  /** Adds an entry (id generated when absent). */
  async add(
    actor: Actor,
    userId: string,
    input: Omit<MailboxEntryInput, 'id'> & { id?: string },
  ): Promise<EntryView> {
    const settings = await this.#d.directory.getSettings();
    await this.#authorize(actor, userId, 'edit', settings);
    if (typeof input !== 'object' || input === null) {
      throw new MultiPopError('CONFIG_INVALID', 'Invalid mailbox entry: expected an object', {});
    }
    const entry = parseMailboxEntry({ ...input, id: input.id ?? randomUUID() });
    if (await this.#d.directory.getEntry(entry.id)) {
      throw new MultiPopError('CONFIG_INVALID', `Invalid mailbox entry: id "${entry.id}" is already in use`, {
        field: 'id',
      });
    }
    assertOAuthApp(entry, settings);
    await this.#d.directory.putEntry(userId, entry);
    if (entry.auth === 'oauth') await this.#pauseUntilGranted(entry.id);
    return this.#view(userId, entry);
  }

  /** Merges `patch` into an entry and validates the result. */
  async update(actor: Actor, entryId: string, patch: EntryPatch): Promise<EntryView> {
    const { location, settings } = await this.#locate(actor, entryId, 'edit');
    if (typeof patch !== 'object' || patch === null) {
      throw new MultiPopError('CONFIG_INVALID', 'Invalid mailbox entry: expected an object', {});
    }
    if (patch.id !== undefined && patch.id !== entryId) {
      throw new MultiPopError('CONFIG_INVALID', 'Invalid mailbox entry: the id of an entry cannot change', {
        field: 'id',
      });
    }
    const previous = location.entry;
    const merged: Record<string, unknown> = { ...previous };
    for (const [key, value] of Object.entries(patch)) if (value !== undefined) merged[key] = value;
    // Switching to OAuth drops the stored password (an OAuth entry stores none).
    if (merged['auth'] === 'oauth' && patch.password === undefined) delete merged['password'];
    const entry = parseMailboxEntry(merged);
    assertOAuthApp(entry, settings);
    await this.#d.directory.putEntry(location.userId, entry);

    const identityChanged = IDENTITY_FIELDS.some((field) => previous[field] !== entry[field]);
    if (identityChanged && previous.auth === 'oauth') await this.#d.tokens?.deleteTokens(entry.id);
    if (identityChanged && entry.auth === 'oauth') await this.#pauseUntilGranted(entry.id);
    // A corrected entry is worth trying at the next cycle, whatever its back-off said.
    await this.#d.updateStatus(entry.id, (status) => {
      if (status.nextAttemptAt === undefined) return undefined;
      const next = { ...status };
      delete next.nextAttemptAt;
      return next;
    });
    return this.#view(location.userId, entry);
  }

  /** Removes an entry, its ledger and status, and its tokens. */
  async remove(actor: Actor, entryId: string): Promise<void> {
    const { location } = await this.#locate(actor, entryId, 'edit');
    await this.#d.directory.removeEntry(entryId);
    // A session under way would write its status back after we cleared it.
    await this.#d.waitForSession(entryId)?.catch(() => undefined);
    await this.#d.ledger.clear(entryId);
    await this.#d.tokens?.deleteTokens(entryId);
    this.#d.forget(entryId);
    this.#d.log.info({ userId: location.userId, mailboxId: entryId }, 'mailbox entry removed');
  }

  /** Enables or disables an entry (`entry.enabled`). */
  async setEnabled(actor: Actor, entryId: string, enabled: boolean): Promise<EntryView> {
    if (typeof enabled !== 'boolean') {
      throw new MultiPopError('CONFIG_INVALID', 'Invalid mailbox entry: enabled must be true or false', {
        field: 'enabled',
      });
    }
    const { location } = await this.#locate(actor, entryId, 'edit');
    const entry = { ...location.entry, enabled };
    await this.#d.directory.putEntry(location.userId, entry);
    return this.#view(location.userId, entry);
  }

  /** A user's entries with status, without passwords. */
  async list(actor: Actor, userId: string): Promise<EntryView[]> {
    const settings = await this.#d.directory.getSettings();
    const user = await this.#authorize(actor, userId, 'grant', settings);
    return Promise.all(user.entries.map((entry) => this.#view(userId, entry)));
  }

  /** Starts "Grant permission" for an OAuth entry. */
  async beginGrant(actor: Actor, input: { mailboxId: string; domain: string }): Promise<BeginGrantResult> {
    const { location } = await this.#locate(actor, input?.mailboxId, 'grant');
    if (location.entry.auth !== 'oauth') {
      throw new MultiPopError('CONFIG_INVALID', 'This mailbox entry does not use OAuth', {
        field: 'auth',
        mailboxId: input.mailboxId,
      });
    }
    return this.#service().beginGrant({
      userId: location.userId,
      mailboxId: location.entry.id,
      domain: input.domain,
      // Bound to whoever clicked: only the same user, or the same administrator, completes it.
      startedBy: actor.role === 'admin' ? adminParty(actor) : { role: 'user', userId: actor.userId },
    });
  }

  /**
   * Completes "Grant permission" in the session that started it (an administrator cannot
   * complete a user's grant, nor a user an administrator's); clears needs-permission and
   * back-off of the entry.
   */
  async completeGrant(actor: Actor, callback: OAuthCallbackInput): Promise<CompleteGrantResult> {
    const service = this.#service();
    if (actor?.role === 'admin') {
      const granted = await service.completeGrant(callback, adminParty(actor));
      await this.markGranted(granted.mailboxId);
      return granted;
    }
    // The entry is known only once the service has resolved the state, which it binds to the
    // session that started it: check the user's own switches first, the service the binding.
    const settings = await this.#d.directory.getSettings();
    const userId = actor?.role === 'user' ? actor.userId : '';
    await this.#authorize(actor, userId, 'grant', settings);
    const granted = await service.completeGrant(callback, { role: 'user', userId });
    await this.markGranted(granted.mailboxId);
    return granted;
  }

  /** A grant completed: the entry is collected again at the next cycle. */
  async markGranted(mailboxId: string): Promise<void> {
    await this.#d.updateStatus(mailboxId, (status) => {
      const next: MailboxStatus = { ...status, needsPermission: false };
      delete next.nextAttemptAt;
      return next;
    });
  }

  // New or re-pointed OAuth entries have no grant yet: mark them so webmail shows the button
  // and the schedule does not try (and fail) until the user has granted.
  async #pauseUntilGranted(mailboxId: string): Promise<void> {
    const tokens = await this.#d.tokens?.getTokens(mailboxId);
    if (tokens !== undefined || this.#d.tokens === undefined) return;
    await this.#d.updateStatus(mailboxId, (status) =>
      status.needsPermission ? undefined : { ...status, needsPermission: true },
    );
  }

  #service(): FetcherOAuthService {
    if (!this.#d.oauth) {
      throw new MultiPopError('OAUTH_NOT_CONFIGURED', 'The fetcher has no OAuth service', { field: 'oauth' });
    }
    return this.#d.oauth;
  }

  async #locate(actor: Actor, entryId: string, level: PermissionLevel) {
    const settings = await this.#d.directory.getSettings();
    const location: EntryLocation | undefined =
      typeof entryId === 'string' ? await this.#d.directory.getEntry(entryId) : undefined;
    if (!location) {
      // A user who may not edit at all learns nothing about which ids exist.
      if (actor?.role !== 'admin') {
        const own = actor?.role === 'user' ? actor.userId : '';
        await this.#authorize(actor, own, level, settings);
      }
      throw new MultiPopError('NOT_FOUND', 'No such mailbox entry', { mailboxId: String(entryId) });
    }
    await this.#authorize(actor, location.userId, level, settings);
    return { location, settings };
  }

  async #authorize(actor: Actor, ownerId: string, level: PermissionLevel, settings: ServerSettings) {
    const owner = await this.#d.directory.getUser(ownerId);
    assertPermitted(actor, ownerId, level, settings, owner);
    if (!owner) throw new MultiPopError('NOT_FOUND', 'No such user', { userId: ownerId });
    return owner;
  }

  async #view(userId: string, entry: MailboxEntry): Promise<EntryView> {
    const { password, ...rest } = entry;
    const status = (await this.#d.ledger.loadStatus(entry.id)) ?? emptyMailboxStatus(entry.id);
    return { ...rest, userId, hasPassword: password !== undefined && password.length > 0, status };
  }
}

function assertOAuthApp(entry: MailboxEntry, settings: ServerSettings): void {
  const problem = oauthAppProblem(entry, settings);
  if (problem === undefined) return;
  const provider = entryOAuthProvider(entry);
  throw new MultiPopError('CONFIG_INVALID', `Invalid mailbox entry: auth ${problem}`, {
    field: 'auth',
    setting: `oauth.${provider}`,
  });
}

/** The host of an entry's server, for events. */
export function entryHost(entry: MailboxEntry): string {
  try {
    return parseServer(entry.server, entry.tls).host;
  } catch {
    return entry.server;
  }
}

/** An administrator as a grant's starter or completer: with their id when the host gave one. */
function adminParty(actor: { role: 'admin'; adminId?: string }): Actor {
  return typeof actor.adminId === 'string' ? { role: 'admin', adminId: actor.adminId } : { role: 'admin' };
}
