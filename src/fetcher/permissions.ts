import type { ServerSettings, UserSettings } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { Actor, UserFlags } from '../ports/index.js';

/** What an operation needs from a user actor. */
export type PermissionLevel =
  /** Add, edit, remove, enable/disable entries: `settings.enabled` && `user.enabled` && `user.mayEditSettings`. */
  | 'edit'
  /** See own entries and grant OAuth permission for them: `settings.enabled` && `user.enabled` (`user.mayEditSettings` not needed). */
  | 'grant';

/** Why an actor was refused (in the error's context as `reason`). */
export type DenialReason =
  | 'multipop-disabled'
  | 'user-disabled'
  | 'no-edit-permission'
  | 'not-owner'
  | 'invalid-actor';

/**
 * Checks that `actor` may act on entries of `ownerId` at `level`; throws `PERMISSION_DENIED`
 * otherwise. The administrator may always. A user may act only on their own entries, only
 * while MultiPOP is on (`settings.enabled`) and on for them (`user.enabled`), and for `edit` only with `user.mayEditSettings`.
 *
 * Granting needs no `user.mayEditSettings` on purpose: `user.mayEditSettings` guards the *settings* (which servers, which logon).
 * Granting OAuth permission changes no setting; it lets an entry the administrator set up
 * work, and only the user can do it (it is their Google or Microsoft account). Requiring `user.mayEditSettings`
 * would leave administrator-created OAuth entries of users without `user.mayEditSettings` unusable.
 *
 * @example
 * ```ts
 * assertPermitted({ role: 'user', userId: 'ann' }, 'ann', 'edit', settings, user);
 * ```
 * @throws MultiPopError `PERMISSION_DENIED`
 */
export function assertPermitted(
  actor: Actor,
  ownerId: string,
  level: PermissionLevel,
  settings: Pick<ServerSettings, 'enabled'>,
  owner:
    | Pick<UserFlags, 'enabled' | 'mayEditSettings'>
    | Pick<UserSettings, 'enabled' | 'mayEditSettings'>
    | undefined,
): void {
  const reason = denialReason(actor, ownerId, level, settings, owner);
  if (reason !== undefined) {
    throw new MultiPopError('PERMISSION_DENIED', denialMessage(reason), {
      reason,
      ...(isUser(actor) ? { userId: actor.userId } : {}),
    });
  }
}

/**
 * Why `actor` may not act on `ownerId`'s entries at `level`, or `undefined` when it may.
 *
 * @example
 * ```ts
 * denialReason({ role: 'admin' }, 'ann', 'edit', settings, user); // undefined
 * ```
 */
export function denialReason(
  actor: Actor,
  ownerId: string,
  level: PermissionLevel,
  settings: Pick<ServerSettings, 'enabled'>,
  owner: Pick<UserFlags, 'enabled' | 'mayEditSettings'> | undefined,
): DenialReason | undefined {
  if (actor?.role === 'admin') return undefined;
  if (!isUser(actor)) return 'invalid-actor';
  if (actor.userId !== ownerId) return 'not-owner';
  if (!settings.enabled) return 'multipop-disabled';
  // A user id the directory does not know is treated like a disabled user.
  if (!owner?.enabled) return 'user-disabled';
  if (level === 'edit' && !owner.mayEditSettings) return 'no-edit-permission';
  return undefined;
}

function isUser(actor: Actor): actor is { role: 'user'; userId: string } {
  return actor?.role === 'user' && typeof actor.userId === 'string' && actor.userId.length > 0;
}

function denialMessage(reason: DenialReason): string {
  switch (reason) {
    case 'multipop-disabled':
      return 'MultiPOP is disabled on this server';
    case 'user-disabled':
      return 'MultiPOP is disabled for this user';
    case 'no-edit-permission':
      return 'This user may not change MultiPOP settings';
    case 'not-owner':
      return 'A user may act only on their own MultiPOP entries';
    case 'invalid-actor':
      return 'The actor is neither the administrator nor a user';
  }
}
