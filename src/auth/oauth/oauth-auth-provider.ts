import { entryOAuthProvider, type MailboxEntry } from '../../config/index.js';
import { isMultiPopError, MultiPopError } from '../../errors/index.js';
import { assertCredentialsMaySend } from '../credentials-guard.js';
import type { AuthProvider } from '../provider.js';
import { type OAuthContext, profileOf } from './context.js';
import { saslTokenLogin } from './sasl-login.js';
import type { TokenKeeper } from './token-keeper.js';

/**
 * The {@link AuthProvider} of an OAuth entry: a fresh access token from the keeper, presented
 * in the provider's SASL form. When the server refuses a token that looked valid, the keeper
 * forces one refresh and the provider throws `AUTH_FAILED` with
 * `context.retryWithFreshToken = true` (reconnect and authenticate once more); a fresh token
 * refused again becomes `OAUTH_NEEDS_PERMISSION`.
 */
export function oauthAuthProvider(
  ctx: OAuthContext,
  keeper: TokenKeeper,
  configured: MailboxEntry,
): AuthProvider {
  const provider = entryOAuthProvider(configured);
  return {
    name: `${provider ?? 'oauth'}-oauth`,
    async authenticate(client, request) {
      // The entry as the session read it this cycle (the one given to authProviderFor names the provider).
      const entry = request.entry;
      const name = entryOAuthProvider(entry);
      if (name === undefined) {
        throw new MultiPopError('CONFIG_INVALID', `Mailbox entry "${entry.id}" does not use OAuth`, {
          mailboxId: entry.id,
          field: 'auth',
        });
      }
      assertCredentialsMaySend(client, entry);
      const profile = await profileOf(ctx, name);
      const token = await keeper.getAccessToken(entry.id);
      try {
        await saslTokenLogin(client, profile.sasl, entry.username, token, entry.id);
      } catch (err) {
        if (!isMultiPopError(err, 'AUTH_FAILED')) throw err;
        request.log.info({ mailboxId: entry.id }, 'the server refused the access token');
        return keeper.tokenRejected({ userId: request.userId, entry, provider: name }, token, err);
      }
      keeper.loginSucceeded(entry.id);
    },
  };
}
