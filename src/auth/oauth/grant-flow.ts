import * as oauth from 'oauth4webapi';
import { MultiPopError } from '../../errors/index.js';
import type { OAuthTokenSet } from '../../ports/index.js';
import { type OAuthCallbackInput, parseCallback } from './callback.js';
import { locateOAuthEntry, type OAuthContext, profileOf } from './context.js';
import { classifyOAuthError } from './errors.js';
import type { OAuthProfile } from './profiles.js';
import { clientParts, exchangeCode } from './token-endpoint.js';

/** Default lifetime of a started "Grant permission": ten minutes to sign in and consent. */
export const DEFAULT_GRANT_TTL_MS = 10 * 60_000;

/** Input of `OAuthService.beginGrant`. */
export interface BeginGrantInput {
  /** The local user who clicked "Grant permission". */
  userId: string;
  /** Their OAuth mailbox entry. */
  mailboxId: string;
  /** The webmail domain the user is on; picks the redirect URI from the app's `redirectUris`. */
  domain: string;
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

/** Whose entry a completed grant was for. */
export interface CompleteGrantResult {
  userId: string;
  mailboxId: string;
}

/**
 * Starts "Grant permission": checks the entry and the app, picks the redirect URI for the
 * domain, creates PKCE and state, stores the pending grant, and returns the authorization URL.
 */
export async function beginGrant(
  ctx: OAuthContext,
  input: BeginGrantInput,
  ttlMs: number,
): Promise<BeginGrantResult> {
  const location = await locateOAuthEntry(ctx, input.mailboxId, input.userId);
  const profile = await profileOf(ctx, location.provider);
  const redirectUri = redirectUriFor(profile, input.domain);
  const { server } = await ctx.servers.resolve(profile);

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
  await ctx.tokens.putPendingGrant({
    state,
    codeVerifier,
    userId: location.userId,
    mailboxId: location.entry.id,
    provider: location.provider,
    redirectUri,
    expiresAt,
  });
  ctx.log.info(
    { userId: location.userId, mailboxId: location.entry.id, provider: location.provider },
    'grant permission started',
  );
  return { url: url.href, state, expiresAt };
}

/**
 * Completes "Grant permission" from the provider's redirect: takes the pending grant by state
 * (once), checks it, exchanges the code, stores the tokens, enables the entry and reports
 * `granted`. On any failure nothing is stored (the pending grant is used up all the same).
 */
export async function completeGrant(
  ctx: OAuthContext,
  callback: OAuthCallbackInput,
  options: { userId?: string },
  onGranted: (mailboxId: string) => void,
): Promise<CompleteGrantResult> {
  const parsed = parseCallback(callback);
  const grant = await ctx.tokens.takePendingGrant(parsed.state);
  if (!grant) throw stateInvalid('The permission request is unknown or was already completed');
  ctx.secrets.add(grant.codeVerifier);
  try {
    if (ctx.now() > grant.expiresAt)
      throw stateInvalid('The permission request expired; start again', grant.mailboxId);
    if (options.userId !== undefined && options.userId !== grant.userId) {
      throw stateInvalid('The permission request was started by another user', grant.mailboxId);
    }
    const { userId, mailboxId, provider } = grant;
    const context = { userId, mailboxId, provider };
    const location = await locateOAuthEntry(ctx, mailboxId, userId);
    if (location.provider !== provider) {
      throw stateInvalid(
        'The mailbox entry changed its OAuth provider since permission was requested',
        mailboxId,
      );
    }
    if (parsed.error !== undefined) {
      const detail = parsed.errorDescription ? `: ${truncate(parsed.errorDescription)}` : '';
      if (parsed.error === 'access_denied') {
        throw new MultiPopError(
          'OAUTH_ACCESS_DENIED',
          `Permission was not granted at the provider${detail}`,
          context,
        );
      }
      throw new MultiPopError(
        'OAUTH_PROVIDER_ERROR',
        `The provider answered ${truncate(parsed.error)}${detail}`,
        {
          ...context,
          oauthError: parsed.error,
        },
      );
    }

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
    let tokens: OAuthTokenSet;
    try {
      tokens = await exchangeCode(
        parts,
        validated,
        grant.redirectUri,
        grant.codeVerifier,
        ctx.http,
        ctx.now(),
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
    ctx.secrets.add(tokens.accessToken);
    ctx.secrets.add(tokens.refreshToken);
    if (tokens.refreshToken === undefined) {
      ctx.log.warn(
        context,
        'the provider issued no refresh token: collection stops when the access token expires',
      );
    }

    await storeGrant(ctx, location.userId, location.entry, tokens);
    onGranted(mailboxId);
    ctx.emit({ type: 'granted', userId, mailboxId });
    ctx.log.info(context, 'permission granted');
    return { userId, mailboxId };
  } finally {
    ctx.secrets.delete(grant.codeVerifier);
  }
}

/** Stores the tokens and enables the entry; if enabling fails, the tokens stored before are put back. */
async function storeGrant(
  ctx: OAuthContext,
  userId: string,
  entry: Awaited<ReturnType<typeof locateOAuthEntry>>['entry'],
  tokens: OAuthTokenSet,
): Promise<void> {
  const previous = await ctx.tokens.getTokens(entry.id);
  await ctx.tokens.setTokens(entry.id, tokens);
  if (entry.enabled) return;
  try {
    await ctx.directory.putEntry(userId, { ...entry, enabled: true });
  } catch (err) {
    if (previous) await ctx.tokens.setTokens(entry.id, previous);
    else await ctx.tokens.deleteTokens(entry.id);
    throw new MultiPopError(
      'STORE_ERROR',
      'Could not enable the mailbox entry after the grant; nothing was stored',
      {
        userId,
        mailboxId: entry.id,
      },
      { cause: err },
    );
  }
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

function stateInvalid(message: string, mailboxId?: string): MultiPopError {
  return new MultiPopError('OAUTH_STATE_INVALID', message, mailboxId === undefined ? {} : { mailboxId });
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
