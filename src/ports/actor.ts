/**
 * Who asks for a webmail-facing operation, and who started a "Grant permission": the
 * administrator (the host acting through its own admin API) or a signed-in local user. The host authenticates the actor; the library only
 * decides what the actor may do. An administrator's `adminId` (the host's name for that
 * administrator) binds the "Grant permission" they start to them: only an administrator with
 * the same id completes it. Without one, any administrator may.
 *
 * @example
 * ```ts
 * const admin: Actor = { role: 'admin', adminId: 'root' };
 * const ann: Actor = { role: 'user', userId: 'ann@example.com' };
 * ```
 */
export type Actor = { role: 'admin'; adminId?: string } | { role: 'user'; userId: string };
