import * as oauth from 'oauth4webapi';
import { type ErrorContext, isMultiPopError, MultiPopError } from '../../errors/index.js';

/** Which call to the authorization server failed; decides what `invalid_grant` means. */
export type OAuthOperation = 'discovery' | 'code-exchange' | 'refresh';

/**
 * Turns anything an authorization-server call threw into a typed {@link MultiPopError}:
 * - network errors, timeouts, HTTP 429 and 5xx, `temporarily_unavailable` → `OAUTH_TRANSIENT`
 *   (retry later; never ask the user again for these);
 * - `invalid_grant` on a refresh → `OAUTH_NEEDS_PERMISSION` (revoked, expired, password changed);
 * - any other OAuth error, an invalid or non-JSON answer → `OAUTH_PROVIDER_ERROR`.
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
    const ctx = { ...context, operation, status: err.status, oauthError: err.error };
    const detail = err.error_description ? ` (${truncate(err.error_description)})` : '';
    if (isTransientStatus(err.status) || err.error === 'temporarily_unavailable') {
      return new MultiPopError(
        'OAUTH_TRANSIENT',
        `${what} failed temporarily: HTTP ${err.status} ${err.error}${detail}`,
        withRetryAfter(ctx, err.response),
        { cause },
      );
    }
    if (operation === 'refresh' && err.error === 'invalid_grant') {
      return new MultiPopError(
        'OAUTH_NEEDS_PERMISSION',
        `The authorization server no longer accepts the grant (invalid_grant${detail}): the user must grant permission again`,
        ctx,
        { cause },
      );
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
    return new MultiPopError(
      'OAUTH_PROVIDER_ERROR',
      `${what} was refused with HTTP ${err.status}: check the client id and secret`,
      ctx,
      { cause },
    );
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
