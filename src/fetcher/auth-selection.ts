import type { AuthProvider } from '../auth/provider.js';
import type { MailboxEntry } from '../config/index.js';
import { MultiPopError } from '../errors/index.js';
import type { FetcherOAuthService } from './options.js';

/**
 * The built-in choice of {@link AuthProvider} for an entry: USER/PASS for `password`, APOP
 * for `apop`, and the OAuth service's provider (XOAUTH2 / OAUTHBEARER) for `oauth`.
 *
 * @example
 * ```ts
 * const auth = defaultAuthFor(entry, oauthService);
 * ```
 * @throws MultiPopError `OAUTH_NOT_CONFIGURED` for an OAuth entry when no OAuth service is set
 */
export function defaultAuthFor(entry: MailboxEntry, oauth: FetcherOAuthService | undefined): AuthProvider {
  switch (entry.auth) {
    case 'password':
      return builtInPassword;
    case 'apop':
      return builtInApop;
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
}

// Placeholders until src/auth ships passwordAuth() / apopAuth().
const builtInPassword: AuthProvider = {
  name: 'password',
  async authenticate(client, { entry }) {
    await client.login(entry.username, entry.password ?? '');
  },
};

const builtInApop: AuthProvider = {
  name: 'apop',
  async authenticate(client, { entry }) {
    await client.apop(entry.username, entry.password ?? '');
  },
};
