import { MultiPopError } from '../../errors/index.js';
import type { Pop3ClientApi } from '../../pop3/api.js';
import type { OAuthSaslForm } from './profiles.js';

/** The SASL mechanism name of a form, as advertised in `CAPA` (`SASL …`). */
export function saslMechanismOf(form: OAuthSaslForm): 'XOAUTH2' | 'OAUTHBEARER' {
  return form === 'oauthbearer' ? 'OAUTHBEARER' : 'XOAUTH2';
}

/**
 * Logs in with an access token in the given SASL form. When the server lists its SASL
 * mechanisms (CAPA) and the needed one is not among them, nothing is sent
 * (`AUTH_MECHANISM_UNAVAILABLE`); without CAPA the attempt is made.
 *
 * @example
 * ```ts
 * await saslTokenLogin(client, 'xoauth2-continuation', 'ann@contoso.com', accessToken, 'm1');
 * ```
 * @throws MultiPopError `CONFIG_INVALID` (an empty user name or one with control characters),
 *   `AUTH_MECHANISM_UNAVAILABLE`, `AUTH_FAILED` (with `saslError`), …
 */
export async function saslTokenLogin(
  client: Pop3ClientApi,
  form: OAuthSaslForm,
  user: string,
  accessToken: string,
  mailboxId: string,
): Promise<void> {
  // Validation refuses these in entries; an entry built by hand must not inject SASL fields.
  if (/[\u0000-\u001f\u007f]/.test(user) || user === '') {
    throw new MultiPopError(
      'CONFIG_INVALID',
      'The user name of an OAuth entry must be non-empty and must not contain control characters',
      { mailboxId, field: 'username' },
    );
  }
  const mechanism = saslMechanismOf(form);
  const caps = client.capabilities;
  if (caps.raw.length > 0 && !caps.sasl.includes(mechanism)) {
    throw new MultiPopError(
      'AUTH_MECHANISM_UNAVAILABLE',
      `The server does not offer SASL ${mechanism} (it offers: ${caps.sasl.join(' ') || 'no SASL'})`,
      { mailboxId, offered: caps.sasl },
    );
  }
  switch (form) {
    case 'xoauth2-initial-response':
      return client.authXOAuth2(user, accessToken, 'initial-response');
    case 'xoauth2-continuation':
      return client.authXOAuth2(user, accessToken, 'continuation');
    case 'oauthbearer':
      return client.authOAuthBearer(user, accessToken);
  }
}
