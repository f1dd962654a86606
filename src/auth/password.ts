import type { MailboxEntry } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { SecretRegistry } from '../log/index.js';
import type { Pop3Capabilities } from '../pop3/api.js';
import { assertCredentialsMaySend } from './credentials-guard.js';
import type { AuthProvider } from './provider.js';

/** How {@link passwordAuth} logs in. */
export type PasswordMechanism = 'USER' | 'SASL-PLAIN';

/** Options of {@link passwordAuth}. */
export interface PasswordAuthOptions {
  /**
   * Which login to use when the server offers both USER/PASS and `SASL PLAIN`.
   * @default 'user'
   * @example
   * ```ts
   * passwordAuth({ prefer: 'sasl-plain' })
   * ```
   */
  prefer?: 'user' | 'sasl-plain';
  /**
   * Where to register each password so that every log line of the library scrubs it, wherever
   * it might appear (a server echoing it back, say). The fetcher passes its own registry.
   * @internal
   * @example
   * <!-- doc-context declare const secrets: PasswordAuthOptions['secrets']; -->
   * ```ts
   * passwordAuth({ secrets });
   * ```
   */
  secrets?: SecretRegistry;
}

/**
 * Chooses the login command from the capabilities, without sending anything.
 *
 * - No CAPA (the server does not support it): USER/PASS, the RFC 1939 baseline; an AUTH
 *   command would be a guess.
 * - Default preference: USER/PASS when `USER` is advertised — every server that offers it
 *   accepts it, and over TLS it exposes exactly what AUTH PLAIN exposes; else `SASL PLAIN`.
 * - `prefer: 'sasl-plain'`: AUTH PLAIN when advertised, else USER/PASS when advertised.
 * - CAPA lists neither: `undefined` (the caller reports `AUTH_MECHANISM_UNAVAILABLE` rather
 *   than sending a password to a server that said it does not take one that way).
 *
 * There is deliberately no second attempt with the other command after a rejection: POP3
 * cannot tell "wrong password" from "wrong command", and two failures per session would
 * double every lock-out counter.
 *
 * @example
 * ```ts
 * choosePasswordMechanism(client.capabilities, 'user') // 'USER' | 'SASL-PLAIN' | undefined
 * ```
 */
export function choosePasswordMechanism(
  capabilities: Pick<Pop3Capabilities, 'raw' | 'user' | 'sasl'>,
  prefer: 'user' | 'sasl-plain' = 'user',
): PasswordMechanism | undefined {
  if (capabilities.raw.length === 0) return 'USER';
  const user = capabilities.user;
  const plain = capabilities.sasl.includes('PLAIN');
  if (prefer === 'sasl-plain') return plain ? 'SASL-PLAIN' : user ? 'USER' : undefined;
  return user ? 'USER' : plain ? 'SASL-PLAIN' : undefined;
}

/**
 * Password login: USER/PASS or AUTH PLAIN, chosen from the server's capabilities (`SASL PLAIN` only when `prefer` asks for it and it is offered). Never
 * sends the password over an unencrypted connection unless the entry's `tls` is explicitly
 * `'none'` (`TLS_REQUIRED`). The password is never logged.
 *
 * @example
 * <!-- doc-context declare const { entry, log }: Parameters<AuthProvider['authenticate']>[1]; -->
 * ```ts
 * const auth = passwordAuth();
 * await auth.authenticate(client, { userId: 'ann@example.com', entry, log });
 * ```
 * @throws MultiPopError `TLS_REQUIRED`, `CONFIG_INVALID` (no password), `AUTH_MECHANISM_UNAVAILABLE`,
 *   or what the server answered (`AUTH_FAILED`, `IN_USE`, `LOGIN_DELAY`, `SYS_TEMP`, …)
 */
export function passwordAuth(options: PasswordAuthOptions = {}): AuthProvider {
  const prefer = options.prefer ?? 'user';
  return {
    name: 'password',
    async authenticate(client, { entry, log }) {
      const password = requirePassword(entry);
      options.secrets?.add(password);
      assertCredentialsMaySend(client, entry);
      const mechanism = choosePasswordMechanism(client.capabilities, prefer);
      if (mechanism === undefined) {
        throw new MultiPopError(
          'AUTH_MECHANISM_UNAVAILABLE',
          `The server offers neither USER/PASS nor SASL PLAIN (SASL: ${client.capabilities.sasl.join(' ') || 'none'})`,
          { mailboxId: entry.id, offered: client.capabilities.sasl },
        );
      }
      log.debug({ mechanism }, 'logging in with a password');
      if (mechanism === 'USER') await client.login(entry.username, password);
      else await client.authPlain(entry.username, password);
    },
  };
}

/** The entry's password, or a typed error: an entry without one cannot log in this way. */
export function requirePassword(entry: Pick<MailboxEntry, 'id' | 'password' | 'auth'>): string {
  if (entry.password === undefined || entry.password.length === 0) {
    throw new MultiPopError('CONFIG_INVALID', `The entry has no password for ${entry.auth} logon`, {
      mailboxId: entry.id,
      field: 'password',
    });
  }
  return entry.password;
}
