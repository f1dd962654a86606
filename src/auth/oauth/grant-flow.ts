import * as oauth from 'oauth4webapi';
import type { MailboxEntry } from '../../config/index.js';
import { MultiPopError } from '../../errors/index.js';
import type { Actor, OAuthTokenSet } from '../../ports/index.js';
import { type OAuthCallbackInput, type ParsedCallback, parseCallback } from './callback.js';
import { locateOAuthEntry, type OAuthContext, profileOf } from './context.js';
import { classifyOAuthError } from './errors.js';
import { consentingAccount, isSameAccount } from './identity.js';
import type { OAuthIdentityCheck, OAuthProfile } from './profiles.js';
import { type CodeExchangeResult, clientParts, exchangeCode } from './token-endpoint.js';

/** Default lifetime of a started "Grant permission": ten minutes to sign in and consent. */
export const DEFAULT_GRANT_TTL_MS = 10 * 60_000;

/** Input of `OAuthService.beginGrant`. */
export interface BeginGrantInput {
  /** The local user whose entry it is. */
  userId: string;
  /** Their OAuth mailbox entry. */
  mailboxId: string;
  /** The webmail domain the user is on; picks the redirect URI from the app's `redirectUris`. */
  domain: string;
  /**
   * Who clicked "Grant permission": only the same party may complete it (the callback must
   * arrive in that session).
   * @default { role: 'user', userId }
   */
  startedBy?: Actor;
}

/** Where to send the user's browser, and until when the grant may be completed. */
export interface BeginGrantResult {
  /** The provider's authorization URL (authorization code + PKCE S256 + state). */
  url: string;
  /** The opaque `state` of this grant (also inside `url`). */
  state: string;
  /** ms since epoch after which the callback is refused. */
  expiresAt: number;
}

/** Whose entry a completed grant was for, and which account consented (when verified). */
export interface CompleteGrantResult {
  userId: string;
  mailboxId: string;
  /** The account the ID token names; absent for a provider without an identity check. */
  account?: string;
}

/** Who completes a grant: a user by id (shorthand `{ userId }`), or an administrator. */
export type GrantCompleter = Actor | { userId: string };

/**
 * Starts "Grant permission": checks the entry and the app, picks the redirect URI for the
 * domain, creates PKCE and state, stores the pending grant bound to whoever started it, and
 * returns the authorization URL. Pending grants that expired are purged on the way.
 */
export async function beginGrant(
  ctx: OAuthContext,
  input: BeginGrantInput,
  ttlMs: number,
): Promise<BeginGrantResult> {
  const location = await locateOAuthEntry(ctx, input.mailboxId, input.userId);
  const profile = await profileOf(ctx, location.provider);
  if (location.entry.username === '' && profile.identity === undefined) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      `Mailbox entry "${location.entry.id}" has no user name, and the ${location.provider} app cannot tell which account consents: enter the user name first`,
      { mailboxId: location.entry.id, field: 'username' },
    );
  }
  const redirectUri = redirectUriFor(profile, input.domain);
  const { server } = await ctx.servers.resolve(profile);
  await purgeExpired(ctx);

  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const url = new URL(server.authorization_endpoint as string);
  // Extra parameters first, so that none of them can replace a parameter the flow depends on.
  for (const [name, value] of Object.entries(profile.authorizationParams)) url.searchParams.set(name, value);
  const hint = profile.loginHint ? loginHintOf(location.entry.username) : undefined;
  if (hint !== undefined && !url.searchParams.has('login_hint')) url.searchParams.set('login_hint', hint);
  url.searchParams.set('client_id', profile.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('scope', profile.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');

  const expiresAt = ctx.now() + ttlMs;
  const startedBy = input.startedBy ?? { role: 'user', userId: location.userId };
  await ctx.tokens.putPendingGrant({
    state,
    codeVerifier,
    userId: location.userId,
    mailboxId: location.entry.id,
    provider: location.provider,
    redirectUri,
    expiresAt,
    startedBy,
  });
  ctx.log.info(
    {
      userId: location.userId,
      mailboxId: location.entry.id,
      provider: location.provider,
      startedBy: startedBy.role,
    },
    'grant permission started',
  );
  return { url: url.href, state, expiresAt };
}

/**
 * Completes "Grant permission" from the provider's redirect: finds the pending grant by state,
 * checks that the session completing it is the one that started it (before using it up, so a
 * stranger holding a leaked state cannot burn it), takes it (once), exchanges the code,
 * verifies the consenting account against the entry's user name (filling in an empty one),
 * stores the tokens, enables the entry and reports `granted`. On any failure nothing is stored.
 */
export async function completeGrant(
  ctx: OAuthContext,
  callback: OAuthCallbackInput,
  completedBy: GrantCompleter,
  onGranted: (mailboxId: string) => void,
): Promise<CompleteGrantResult> {
  const by = partyOf(completedBy);
  const parsed = parseCallback(callback);
  const found = await ctx.tokens.findPendingGrant(parsed.state);
  if (!found) throw stateInvalid('The permission request is unknown or was already completed', 'unknown');
  if (!sameParty(found.startedBy, by)) {
    ctx.log.warn(
      { mailboxId: found.mailboxId, startedBy: found.startedBy.role, completedBy: by.role },
      'a grant was completed by another session than the one that started it',
    );
    throw stateInvalid(
      'The permission request was started by someone else: whoever clicked "Grant permission" must complete it',
      'other-session',
      found.mailboxId,
    );
  }
  const grant = await ctx.tokens.takePendingGrant(parsed.state);
  if (!grant) throw stateInvalid('The permission request is unknown or was already completed', 'unknown');
  ctx.secrets.add(grant.codeVerifier);
  try {
    if (ctx.now() > grant.expiresAt)
      throw stateInvalid('The permission request expired; start again', 'expired', grant.mailboxId);
    const { userId, mailboxId, provider } = grant;
    const context = { userId, mailboxId, provider };
    const location = await locateOAuthEntry(ctx, mailboxId, userId);
    if (location.provider !== provider) {
      throw stateInvalid(
        'The mailbox entry changed its OAuth provider since permission was requested',
        'entry-changed',
        mailboxId,
      );
    }
    if (parsed.error !== undefined) throw callbackError(parsed, context);

    const profile = await profileOf(ctx, provider);
    const resolved = await ctx.servers.resolve(profile);
    const parts = clientParts(profile, resolved);
    const params = new URLSearchParams(parsed.params);
    // Without a known issuer there is nothing to compare `iss` with (see OAuthProfile.issuer).
    if (!resolved.issuerKnown) params.delete('iss');
    let validated: URLSearchParams;
    try {
      validated = oauth.validateAuthResponse(parts.server, parts.client, params, grant.state);
    } catch (err) {
      throw new MultiPopError(
        'OAUTH_PROVIDER_ERROR',
        `The provider's redirect is not a valid authorization response: ${(err as Error).message}`,
        context,
      );
    }
    const code = validated.get('code');
    if (!code)
      throw new MultiPopError(
        'OAUTH_PROVIDER_ERROR',
        'The provider redirected back without an authorization code',
        context,
      );

    ctx.secrets.add(code);
    let exchanged: CodeExchangeResult;
    try {
      exchanged = await exchangeCode(
        parts,
        validated,
        grant.redirectUri,
        grant.codeVerifier,
        ctx.http,
        ctx.now(),
        profile.identity,
      );
    } catch (err) {
      const error = classifyOAuthError(err, 'code-exchange', context);
      ctx.log.warn(
        { ...context, code: error.code, status: error.context['status'] },
        'authorization code exchange failed',
      );
      throw error;
    } finally {
      ctx.secrets.delete(code);
    }
    const { tokens } = exchanged;
    ctx.secrets.add(tokens.accessToken);
    ctx.secrets.add(tokens.refreshToken);
    const account = verifiedAccount(ctx, location.entry, profile.identity, exchanged, context);
    if (tokens.refreshToken === undefined) {
      ctx.log.warn(
        context,
        'the provider issued no refresh token: collection stops when the access token expires',
      );
    }

    await storeGrant(ctx, location.userId, location.entry, tokens, account);
    onGranted(mailboxId);
    ctx.emit({ type: 'granted', userId, mailboxId });
    ctx.log.info(context, 'permission granted');
    return { userId, mailboxId, ...(account === undefined ? {} : { account }) };
  } finally {
    ctx.secrets.delete(grant.codeVerifier);
  }
}

/**
 * The account that consented, checked against the entry's user name: undefined without an
 * identity check; throws `OAUTH_ACCOUNT_MISMATCH` (nothing stored) when it is another account.
 */
function verifiedAccount(
  ctx: OAuthContext,
  entry: MailboxEntry,
  identity: OAuthIdentityCheck | undefined,
  exchanged: CodeExchangeResult,
  context: Record<string, string>,
): string | undefined {
  if (identity === undefined) return undefined;
  if (exchanged.idToken === undefined) {
    throw new MultiPopError('OAUTH_PROVIDER_ERROR', 'The provider returned no ID token', context);
  }
  const consenting = consentingAccount(exchanged.idToken, identity, context);
  if (entry.username === '' || isSameAccount(entry.username, consenting)) return consenting.account;
  ctx.log.warn({ ...context, signedInAs: consenting.account }, 'permission granted with another account');
  throw new MultiPopError(
    'OAUTH_ACCOUNT_MISMATCH',
    `Permission was granted by ${consenting.account}, but this mailbox entry is for ${entry.username}: nothing was stored. Grant permission again and sign in as ${entry.username}`,
    { ...context, signedInAs: consenting.account, expected: entry.username },
  );
}

/** Stores the tokens and enables the entry (filling in an empty user name); undone if that fails. */
async function storeGrant(
  ctx: OAuthContext,
  userId: string,
  entry: MailboxEntry,
  tokens: OAuthTokenSet,
  account: string | undefined,
): Promise<void> {
  const previous = await ctx.tokens.getTokens(entry.id);
  await ctx.tokens.setTokens(entry.id, tokens);
  const fillUsername = entry.username === '' && account !== undefined;
  if (entry.enabled && !fillUsername) return;
  try {
    await ctx.directory.putEntry(userId, {
      ...entry,
      enabled: true,
      ...(fillUsername ? { username: account } : {}),
    });
  } catch (err) {
    if (previous) await ctx.tokens.setTokens(entry.id, previous);
    else await ctx.tokens.deleteTokens(entry.id);
    throw new MultiPopError(
      'STORE_ERROR',
      'Could not update the mailbox entry after the grant; nothing was stored',
      {
        userId,
        mailboxId: entry.id,
      },
      { cause: err },
    );
  }
}

/**
 * The `error=` of a redirect back. Its `error_description` is written by whoever crafted the
 * redirect, so it never goes into the message: it is kept, cleaned of control characters, in
 * `context.untrustedErrorDescription` — for a log, never to render as markup.
 */
function callbackError(parsed: ParsedCallback, context: Record<string, string>): MultiPopError {
  // RFC 6749 limits error codes to printable ASCII without `"` and `\`.
  const oauthError = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(parsed.error ?? '')
    ? (parsed.error as string)
    : 'invalid_error_code';
  const untrusted =
    parsed.errorDescription === undefined
      ? {}
      : {
          untrustedErrorDescription: truncate(parsed.errorDescription.replace(/[\u0000-\u001f\u007f]/g, ' ')),
        };
  const note =
    parsed.errorDescription === undefined ? '' : ' (its description, untrusted text, is in the context)';
  if (oauthError === 'access_denied') {
    return new MultiPopError('OAUTH_ACCESS_DENIED', `Permission was not granted at the provider${note}`, {
      ...context,
      ...untrusted,
    });
  }
  return new MultiPopError('OAUTH_PROVIDER_ERROR', `The provider answered ${oauthError}${note}`, {
    ...context,
    oauthError,
    ...untrusted,
  });
}

/** Removes expired pending grants; a failure only costs a log line (the callback checks expiry). */
async function purgeExpired(ctx: OAuthContext): Promise<void> {
  try {
    const purged = await ctx.tokens.purgeExpiredGrants(ctx.now());
    if (purged > 0) ctx.log.debug({ purged }, 'expired pending grants purged');
  } catch (err) {
    ctx.log.warn({ err }, 'purging expired pending grants failed');
  }
}

function partyOf(completer: GrantCompleter): Actor {
  if (typeof completer !== 'object' || completer === null) {
    throw stateInvalid(
      'A grant can only be completed in a session: give the user or the administrator',
      'no-session',
    );
  }
  return 'role' in completer ? completer : { role: 'user', userId: completer.userId };
}

function sameParty(startedBy: Actor, by: Actor): boolean {
  if (startedBy.role === 'user') return by.role === 'user' && by.userId === startedBy.userId;
  return by.role === 'admin' && (startedBy.adminId === undefined || by.adminId === startedBy.adminId);
}

/**
 * The redirect URI registered for a webmail domain. Host names compare case-insensitively and
 * without a trailing dot or port.
 *
 * @throws MultiPopError `OAUTH_NOT_CONFIGURED` naming the domain
 */
export function redirectUriFor(
  profile: Pick<OAuthProfile, 'provider' | 'redirectUris'>,
  domain: string,
): string {
  const wanted = normalizeDomain(domain);
  for (const [key, uri] of Object.entries(profile.redirectUris)) {
    if (normalizeDomain(key) === wanted) return uri;
  }
  throw new MultiPopError(
    'OAUTH_NOT_CONFIGURED',
    `No redirect URI is configured for domain "${truncate(domain)}" in settings.oauth.${profile.provider}.redirectUris`,
    { provider: profile.provider, domain: truncate(domain), field: `oauth.${profile.provider}.redirectUris` },
  );
}

function normalizeDomain(domain: string): string {
  let host = domain.trim().toLowerCase();
  if (!host.startsWith('[')) host = host.replace(/:\d+$/, '');
  return host.replace(/\.$/, '');
}

/** The mailbox address as a login hint (`recent:` is Gmail's POP mode prefix, not part of the account). */
function loginHintOf(username: string): string | undefined {
  const address = username.replace(/^recent:/i, '');
  return /^[^@\s]+@[^@\s]+$/.test(address) ? address : undefined;
}

/**
 * Why a callback's state was refused (`context.reason`), so a host can word it: `unknown` (never
 * issued, or already used), `other-session` (started by another user or administrator),
 * `expired`, `entry-changed` (the entry's provider changed meanwhile), `no-session`; a callback
 * that cannot be read at all is `malformed` (see `parseCallback`).
 */
type StateRefusal = 'unknown' | 'other-session' | 'expired' | 'entry-changed' | 'no-session';

function stateInvalid(message: string, reason: StateRefusal, mailboxId?: string): MultiPopError {
  return new MultiPopError('OAUTH_STATE_INVALID', message, {
    reason,
    ...(mailboxId === undefined ? {} : { mailboxId }),
  });
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
