import { apopAuth } from '../auth/apop.js';
import { passwordAuth } from '../auth/password.js';
import type { AuthProvider } from '../auth/provider.js';
import type { MailboxEntry } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { SecretRegistry } from '../log/index.js';
import type { FetcherOAuthService } from './options.js';

/**
 * The built-in choice of {@link AuthProvider} for an entry: `passwordAuth()` (USER/PASS or
 * SASL PLAIN) for `password`, `apopAuth()` for `apop`, and the OAuth service's provider
 * (XOAUTH2 / OAUTHBEARER) for `oauth`. Passwords are registered in `secrets` so that every
 * log line of the library scrubs them.
 *
 * @example
 * ```ts
 * const choose = defaultAuthSelection(oauthService, secrets);
 * const auth = choose(entry);
 * ```
 */
export function defaultAuthSelection(
  oauth: FetcherOAuthService | undefined,
  secrets: SecretRegistry,
): (entry: MailboxEntry) => AuthProvider {
  // Stateless providers: one of each serves every session.
  const password = passwordAuth({ secrets });
  const apop = apopAuth({ secrets });
  return (entry) => {
    switch (entry.auth) {
      case 'password':
        return password;
      case 'apop':
        return apop;
      case 'oauth':
        if (!oauth) {
          throw new MultiPopError(
            'OAUTH_NOT_CONFIGURED',
            'This entry uses OAuth, but the fetcher has no OAuth service',
            {
              mailboxId: entry.id,
              field: 'oauth',
            },
          );
        }
        return oauth.authProviderFor(entry);
    }
  };
}
