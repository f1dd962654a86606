/**
 * Which interop servers can run on this machine, and `describe()` wrappers with the same rule
 * as `describeWithDovecot`: a server that cannot run is a loud skip on a developer's machine
 * and a failing test under `CI=true`, so CI never goes green without them.
 */
import { describe, it } from 'vitest';
import { unavailableReason } from './paths.js';
import type { InteropServerName } from './types.js';

/** Every interop server, in the order the docs list them. */
export const interopServerNames: readonly InteropServerName[] = ['cyrus', 'courier', 'popa3d', 'mailutils'];

/**
 * Whether each server can run here, and why not.
 *
 * @example
 * ```ts
 * if (!interopAvailability.cyrus.available) console.log(interopAvailability.cyrus.reason);
 * ```
 */
export const interopAvailability: Readonly<
  Record<InteropServerName, { available: boolean; reason?: string }>
> = Object.fromEntries(
  interopServerNames.map((name) => {
    const reason = unavailableReason(name);
    return [name, reason === undefined ? { available: true } : { available: false, reason }];
  }),
) as Record<InteropServerName, { available: boolean; reason?: string }>;

/**
 * `describe()` for a suite that needs the interop server `server`.
 *
 * @example
 * ```ts
 * describeWithInteropServer('cyrus', 'Cyrus smoke test', () => { it('greets', async () => { … }); });
 * ```
 */
export function describeWithInteropServer(server: InteropServerName, name: string, fn: () => void): void {
  const { available, reason } = interopAvailability[server];
  if (available) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs the ${server} POP3 server`, () => {
        throw new Error(`${server} cannot run: ${reason} — CI must run the interop tests.`);
      });
    });
  } else {
    console.warn(`\n⚠️  SKIPPING "${name}": ${server} cannot run: ${reason}\n`);
    describe.skip(name, fn);
  }
}
