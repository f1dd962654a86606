import * as oauth from 'oauth4webapi';
import { type ErrorContext, isMultiPopError, MultiPopError } from '../../errors/index.js';

/** Which call to the authorization server failed; decides what `invalid_grant` means. */
export type OAuthOperation = 'discovery' | 'code-exchange' | 'refresh';

/**
 * OAuth errors of a refresh that mean the grant can no longer be used without the user:
 * `invalid_grant` (revoked, expired, password changed), and what Microsoft answers when
 * Conditional Access or a new consent policy wants the user back at the sign-in page.
 */
const GRANT_NEEDS_USER: ReadonlySet<string> = new Set([
  'invalid_grant',
  'interaction_required',
  'consent_required',
  'login_required',
]);

/**
 * Turns anything an authorization-server call threw into a typed {@link MultiPopError}:
 * - network errors, timeouts, HTTP 429 and 5xx, `temporarily_unavailable` → `OAUTH_TRANSIENT`
 *   (retry later; never ask the user again for these);
 * - on a refresh, `invalid_grant`, `interaction_required`, `consent_required`, `login_required`
 *   → `OAUTH_NEEDS_PERMISSION` (the user must grant again);
 * - any other 4xx answer of the token endpoint (`invalid_client`, `unauthorized_client`,
 *   `invalid_scope`, a 401 challenge, …) → `OAUTH_APP_REJECTED`: the app's configuration is
 *   wrong, and an administrator must fix it; retrying soon cannot help;
 * - `invalid_grant` on a code exchange (a code used, expired or issued to another client), an
 *   invalid or non-JSON answer → `OAUTH_PROVIDER_ERROR`.
 *
 * The original error is not attached as it is: oauth4webapi errors can carry the response body,
 * which on a half-valid answer holds tokens. The cause keeps only its name, code and message.
 *
 * @example
 * ```ts
 * try { ... } catch (err) { throw classifyOAuthError(err, 'refresh', { mailboxId }); }
 * ```
 */
export function classifyOAuthError(
  err: unknown,
  operation: OAuthOperation,
  context: ErrorContext = {},
): MultiPopError {
  if (isMultiPopError(err)) return err;
  const cause = sanitizedCause(err);
  const what = describe(operation);

  if (err instanceof oauth.ResponseBodyError) {
    const aadsts = microsoftErrorCodes(err.cause);
    const ctx = {
      ...context,
      operation,
      status: err.status,
      oauthError: err.error,
      ...(aadsts === undefined ? {} : { aadsts }),
    };
    const detail = err.error_description ? ` (${truncate(err.error_description)})` : '';
    if (isTransientStatus(err.status) || err.error === 'temporarily_unavailable') {
      return new MultiPopError(
        'OAUTH_TRANSIENT',
        `${what} failed temporarily: HTTP ${err.status} ${err.error}${detail}`,
        withRetryAfter(ctx, err.response),
        { cause },
      );
    }
    if (operation === 'refresh' && GRANT_NEEDS_USER.has(err.error)) {
      return new MultiPopError(
        'OAUTH_NEEDS_PERMISSION',
        `The authorization server no longer accepts the grant (${err.error}${detail}): the user must grant permission again`,
        ctx,
        { cause },
      );
    }
    if (operation !== 'discovery' && err.error !== 'invalid_grant' && isClientError(err.status)) {
      return appRejected(`${what} was refused: ${err.error}${detail}`, ctx, cause);
    }
    return new MultiPopError('OAUTH_PROVIDER_ERROR', `${what} was refused: ${err.error}${detail}`, ctx, {
      cause,
    });
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    // Its body was not read; release the connection.
    void err.response.body?.cancel().catch(() => {});
    const ctx = { ...context, operation, status: err.status };
    if (isTransientStatus(err.status)) {
      return new MultiPopError('OAUTH_TRANSIENT', `${what} failed temporarily: HTTP ${err.status}`, ctx, {
        cause,
      });
    }
    // A 401 challenge at the token endpoint means the client credentials are wrong.
    return appRejected(`${what} was refused with HTTP ${err.status}`, ctx, cause);
  }
  if (err instanceof oauth.OperationProcessingError) {
    const response = err.cause instanceof Response ? err.cause : undefined;
    const ctx = {
      ...context,
      operation,
      oauthCode: err.code,
      ...(response ? { status: response.status } : {}),
    };
    if (response && isTransientStatus(response.status)) {
      return new MultiPopError(
        'OAUTH_TRANSIENT',
        `${what} failed temporarily: HTTP ${response.status}`,
        withRetryAfter(ctx, response),
        { cause },
      );
    }
    // A 4xx without an OAuth error body: a wrong endpoint URL, or a proxy refusing us.
    if (response && operation !== 'discovery' && isClientError(response.status)) {
      return appRejected(`${what} was refused with HTTP ${response.status}`, ctx, cause);
    }
    return new MultiPopError(
      'OAUTH_PROVIDER_ERROR',
      `${what} returned an invalid response: ${err.message}`,
      ctx,
      { cause },
    );
  }
  if (isAbortOrTimeout(err)) {
    return new MultiPopError('OAUTH_TRANSIENT', `${what} timed out`, { ...context, operation }, { cause });
  }
  if (
    err instanceof TypeError &&
    !('code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_'))
  ) {
    // fetch() rejects with a TypeError ("fetch failed") for DNS, refused, reset, TLS problems.
    return new MultiPopError(
      'OAUTH_TRANSIENT',
      `${what} failed: the authorization server could not be reached`,
      { ...context, operation },
      { cause },
    );
  }
  if (err instanceof oauth.UnsupportedOperationError) {
    return new MultiPopError(
      'OAUTH_PROVIDER_ERROR',
      `${what} returned something unsupported: ${err.message}`,
      { ...context, operation },
      { cause },
    );
  }
  return new MultiPopError(
    'OAUTH_PROVIDER_ERROR',
    `${what} failed: ${err instanceof Error ? err.message : String(err)}`,
    { ...context, operation },
    { cause },
  );
}

/**
 * Microsoft's numeric AADSTS codes of an error answer (`error_codes`), for the administrator to
 * look up (https://login.microsoftonline.com/error?code=<n>). Only reported, never used to
 * decide: Microsoft documents them as subject to change, to be handled by the OAuth `error`.
 */
function microsoftErrorCodes(body: Record<string, unknown>): number[] | undefined {
  const codes = body['error_codes'];
  if (!Array.isArray(codes) || codes.length === 0) return undefined;
  const numbers = codes.filter((code): code is number => Number.isSafeInteger(code) && code > 0);
  return numbers.length === 0 ? undefined : numbers.slice(0, 5);
}

function describe(operation: OAuthOperation): string {
  switch (operation) {
    case 'discovery':
      return 'Reading the authorization server metadata';
    case 'code-exchange':
      return 'Exchanging the authorization code';
    case 'refresh':
      return 'Refreshing the access token';
  }
}

function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function isClientError(status: number): boolean {
  return status >= 400 && status < 500 && status !== 429;
}

/** The token endpoint refused the app itself: only an administrator can fix that. */
function appRejected(message: string, context: ErrorContext, cause: Error): MultiPopError {
  const provider = typeof context['provider'] === 'string' ? context['provider'] : undefined;
  const where = provider === undefined ? 'settings.oauth' : `settings.oauth.${provider}`;
  return new MultiPopError(
    'OAUTH_APP_REJECTED',
    `${message}. An administrator must check the OAuth app in ${where} — client id, client secret, redirect URIs, the scopes and APIs enabled for the app — against the provider's console`,
    context,
    { cause },
  );
}

function isAbortOrTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function withRetryAfter(context: ErrorContext, response: Response): ErrorContext {
  const header = response.headers.get('retry-after');
  const seconds = header !== null && /^\d+$/.test(header.trim()) ? Number(header.trim()) : undefined;
  return seconds === undefined ? context : { ...context, retryAfterSeconds: seconds };
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** An Error with the name, code and message of `err` and nothing else (no bodies, no responses). */
function sanitizedCause(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const copy = new Error(err.message);
  copy.name = err.name;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  // Keep the network-level reason of "fetch failed" (ECONNREFUSED, UND_ERR_SOCKET, …).
  const inner = err.cause;
  if (inner instanceof Error && !(inner instanceof Response)) {
    const innerCode = (inner as { code?: unknown }).code;
    Object.assign(copy, {
      cause: Object.assign(new Error(inner.message), {
        name: inner.name,
        ...(typeof innerCode === 'string' ? { code: innerCode } : {}),
      }),
    });
  }
  return copy;
}
