import { MultiPopError } from '../errors/index.js';
import type { SecretRegistry } from '../log/index.js';
import { assertCredentialsMaySend } from './credentials-guard.js';
import { requirePassword } from './password.js';
import type { AuthProvider } from './provider.js';

/** Options of {@link apopAuth}. */
export interface ApopAuthOptions {
  /**
   * Where to register the shared secret so that every log line of the library scrubs it. The
   * fetcher passes its own registry.
   * @internal
   * @example
   * <!-- doc-context declare const secrets: ApopAuthOptions['secrets']; -->
   * ```ts
   * apopAuth({ secrets });
   * ```
   */
  secrets?: SecretRegistry;
}

/**
 * APOP login (RFC 1939 §7): `APOP user md5(timestamp + secret)`. Needs the `<…>` timestamp in
 * the server's greeting; without it the server does not do APOP and the provider fails with
 * `AUTH_MECHANISM_UNAVAILABLE` before sending anything. The secret itself never goes on the
 * wire, but the digest can be attacked offline, so the same no-plain-text rule as for passwords
 * applies (`tls: 'none'` must be explicit).
 *
 * @example
 * <!-- doc-context declare const { userId, entry, log }: Parameters<AuthProvider['authenticate']>[1]; -->
 * ```ts
 * await apopAuth().authenticate(client, { userId, entry, log });
 * ```
 * @throws MultiPopError `AUTH_MECHANISM_UNAVAILABLE`, `TLS_REQUIRED`, `CONFIG_INVALID`, `AUTH_FAILED`, …
 */
export function apopAuth(options: ApopAuthOptions = {}): AuthProvider {
  return {
    name: 'apop',
    async authenticate(client, { entry, log }) {
      const secret = requirePassword(entry);
      options.secrets?.add(secret);
      if (client.apopTimestamp === undefined) {
        throw new MultiPopError(
          'AUTH_MECHANISM_UNAVAILABLE',
          'The server greeting carries no APOP timestamp, so the server does not offer APOP',
          { mailboxId: entry.id },
        );
      }
      assertCredentialsMaySend(client, entry);
      log.debug({ mechanism: 'APOP' }, 'logging in with APOP');
      await client.apop(entry.username, secret);
    },
  };
}
