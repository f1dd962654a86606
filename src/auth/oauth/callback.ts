import { z } from 'zod';
import { MultiPopError } from '../../errors/index.js';

/** What the redirect back from the provider may carry: a URL, its query string, or the parameters. */
export type OAuthCallbackInput = URL | string | URLSearchParams;

const param = z.string().max(4096);
/** The callback parameters we read; anything else passes through to oauth4webapi untouched. */
const callbackSchema = z.object({
  state: z.string().min(1).max(512),
  code: param.optional(),
  error: z.string().max(256).optional(),
  error_description: param.optional(),
  iss: param.optional(),
});

/** The callback parameters, checked at the boundary. */
export interface ParsedCallback {
  state: string;
  params: URLSearchParams;
  error?: string;
  errorDescription?: string;
}

/**
 * Reads the provider's redirect back to us. A missing or malformed `state` cannot be bound to
 * any grant, so it is `OAUTH_STATE_INVALID` straight away; a parameter given twice is refused
 * (a classic way to smuggle a second code past a check).
 *
 * @example
 * ```ts
 * parseCallback('https://mail.example.com/oauth/callback?code=abc&state=xyz').state // 'xyz'
 * parseCallback('?error=access_denied&state=xyz').error                           // 'access_denied'
 * ```
 * @throws MultiPopError `OAUTH_STATE_INVALID`
 */
export function parseCallback(input: OAuthCallbackInput): ParsedCallback {
  const params = toParams(input);
  const single: Record<string, string> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    if (values.length > 1) throw invalid(`The callback carries "${truncate(key)}" more than once`);
    single[key] = values[0] ?? '';
  }
  const parsed = callbackSchema.safeParse(single);
  if (!parsed.success) throw invalid('The callback has no valid state parameter');
  const { state, error, error_description: errorDescription } = parsed.data;
  return { state, params, ...(error ? { error } : {}), ...(errorDescription ? { errorDescription } : {}) };
}

function toParams(input: OAuthCallbackInput): URLSearchParams {
  if (input instanceof URLSearchParams) return new URLSearchParams(input);
  if (input instanceof URL) return new URLSearchParams(input.search);
  const text = input.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    try {
      return new URLSearchParams(new URL(text).search);
    } catch {
      throw invalid('The callback URL cannot be parsed');
    }
  }
  return new URLSearchParams(text.startsWith('?') ? text.slice(1) : text);
}

function invalid(message: string): MultiPopError {
  return new MultiPopError('OAUTH_STATE_INVALID', message, { reason: 'malformed' });
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
