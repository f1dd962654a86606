import type { Actor } from '../ports/index.js';

/**
 * Who started a pending grant, as the SQL stores keep it: JSON in a `started_by` column. A
 * grant saved before that column existed has none and counts as started by its entry's owner.
 *
 * @example
 * ```ts
 * parseGrantStarter(null, 'ann@example.com'); // { role: 'user', userId: 'ann@example.com' }
 * parseGrantStarter('{"role":"admin"}', 'ann@example.com'); // { role: 'admin' }
 * ```
 */
export function parseGrantStarter(json: string | null, ownerId: string): Actor {
  if (json === null) return { role: 'user', userId: ownerId };
  const value = JSON.parse(json) as Actor;
  // Rebuilt field by field: nothing else stored in the column comes back.
  return value.role === 'admin'
    ? { role: 'admin', ...(typeof value.adminId === 'string' ? { adminId: value.adminId } : {}) }
    : { role: 'user', userId: String(value.userId) };
}
