import {
  entryOAuthProvider,
  type MailboxEntry,
  type OAuthProviderName,
  type ServerSettings,
} from '../../config/index.js';
import { oauthUrlProblem } from '../../config/loopback.js';
import { MultiPopError } from '../../errors/index.js';
import type { Log, SecretRegistry } from '../../log/index.js';
import type { MailboxDirectory, TokenStore } from '../../ports/index.js';
import type { AuthorizationServerCache } from './authorization-server.js';
import type { OAuthEvent } from './events.js';
import type { OAuthHttpOptions } from './http.js';
import {
  genericOAuth,
  gmailOAuth,
  microsoftOAuth,
  type OAuthProfile,
  type OAuthProfileOverrides,
} from './profiles.js';

/** What the parts of the OAuth service share (built once by `OAuthService`). */
export interface OAuthContext {
  tokens: TokenStore;
  directory: MailboxDirectory;
  settings: () => ServerSettings | Promise<ServerSettings>;
  overrides: Partial<Record<OAuthProviderName, OAuthProfileOverrides>>;
  now: () => number;
  log: Log;
  secrets: SecretRegistry;
  emit: (event: OAuthEvent) => void;
  http: OAuthHttpOptions;
  servers: AuthorizationServerCache;
}

/** A mailbox entry that uses OAuth, with its owner and provider. */
export interface OAuthEntryLocation {
  userId: string;
  entry: MailboxEntry;
  provider: OAuthProviderName;
}

/**
 * The profile of a provider from the current settings (re-read every time, so an
 * administrator's change applies at once). Registers the client secret with the log's secrets.
 *
 * @throws MultiPopError `OAUTH_NOT_CONFIGURED`
 */
export async function profileOf(ctx: OAuthContext, provider: OAuthProviderName): Promise<OAuthProfile> {
  const settings = await ctx.settings();
  const overrides = ctx.overrides[provider] ?? {};
  let profile: OAuthProfile | undefined;
  if (provider === 'gmail' && settings.oauth.gmail) profile = gmailOAuth(settings.oauth.gmail, overrides);
  if (provider === 'microsoft' && settings.oauth.microsoft)
    profile = microsoftOAuth(settings.oauth.microsoft, overrides);
  if (provider === 'generic' && settings.oauth.generic)
    profile = genericOAuth(settings.oauth.generic, overrides);
  if (!profile) {
    throw new MultiPopError(
      'OAUTH_NOT_CONFIGURED',
      `No ${provider} OAuth app is configured (settings.oauth.${provider}): an administrator must enter its client id, secret and redirect URIs`,
      { provider, field: `oauth.${provider}` },
    );
  }
  ctx.secrets.add(profile.clientSecret);
  assertSafeUrls(profile);
  return profile;
}

/**
 * Settings are validated, but overrides and hand-made directories are not: no endpoint or
 * redirect URI on plain HTTP except on a loopback host, whatever the source.
 */
function assertSafeUrls(profile: OAuthProfile): void {
  const urls: Array<[string, string | undefined]> = [
    ['issuer', profile.issuer],
    ['authorizationEndpoint', profile.authorizationEndpoint],
    ['tokenEndpoint', profile.tokenEndpoint],
    ...Object.entries(profile.redirectUris).map(([domain, uri]): [string, string] => [
      `redirectUris.${domain}`,
      uri,
    ]),
  ];
  for (const [field, url] of urls) {
    const problem = url === undefined ? undefined : oauthUrlProblem(url);
    if (problem === undefined) continue;
    throw new MultiPopError(
      'OAUTH_NOT_CONFIGURED',
      `The ${profile.provider} OAuth app's ${field} ${problem}`,
      {
        provider: profile.provider,
        field: `oauth.${profile.provider}.${field}`,
      },
    );
  }
}

/**
 * Finds an OAuth entry by id.
 *
 * @throws MultiPopError `NOT_FOUND` (no such entry, or it belongs to another user than `userId`),
 *   `CONFIG_INVALID` (the entry does not use OAuth)
 */
export async function locateOAuthEntry(
  ctx: OAuthContext,
  mailboxId: string,
  userId?: string,
): Promise<OAuthEntryLocation> {
  const found = await ctx.directory.getEntry(mailboxId);
  // Another user's entry is reported exactly like a missing one: nothing to learn by probing.
  if (!found || (userId !== undefined && found.userId !== userId)) {
    throw new MultiPopError(
      'NOT_FOUND',
      `There is no mailbox entry "${mailboxId}"${userId === undefined ? '' : ` for user ${userId}`}`,
      {
        mailboxId,
      },
    );
  }
  const provider = entryOAuthProvider(found.entry);
  if (provider === undefined) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      `Mailbox entry "${mailboxId}" does not use OAuth (auth is "${found.entry.auth}")`,
      {
        mailboxId,
        field: 'auth',
      },
    );
  }
  return { userId: found.userId, entry: found.entry, provider };
}

/** Calls the host's listener; a throwing listener must not break a grant or a refresh. */
export function safeEmitter(
  listener: ((event: OAuthEvent) => void) | undefined,
  log: Log,
): (event: OAuthEvent) => void {
  return (event) => {
    if (!listener) return;
    try {
      listener(event);
    } catch (err) {
      log.warn({ err, event: event.type }, 'OAuth event listener threw');
    }
  };
}
