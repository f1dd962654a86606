/**
 * The little HTTP plumbing the webmail pages need on top of `node:http`: a bounded form
 * reader, responses with safe default headers, and redirects.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SafeHtml } from './html.js';

/** A form body larger than this is refused: the forms here are a few hundred bytes. */
export const MAX_FORM_BYTES = 16 * 1024;

/** A request the app refuses with a status (413, 415, …) before any handler runs. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads an `application/x-www-form-urlencoded` body, at most {@link MAX_FORM_BYTES}.
 *
 * @example
 * ```ts
 * const form = await readForm(req);
 * form.get('server');
 * ```
 * @throws HttpError 415 for another content type, 413 for a body that is too large
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new HttpError(415, 'Forms must be sent as application/x-www-form-urlencoded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) {
      req.resume();
      throw new HttpError(413, 'The form is too large');
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Headers every response carries: pages are per user (never cached), may not be framed
 * (clickjacking of the buttons), load nothing from elsewhere, and leak no URL in Referer —
 * the OAuth callback URL carries a code.
 *
 * No `form-action` directive: the "Grant permission" form posts here and is then redirected
 * to the provider, and browsers check `form-action` on that redirect too.
 */
function secureHeaders(res: ServerResponse): void {
  res.setHeader('cache-control', 'no-store');
  res.setHeader(
    'content-security-policy',
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
}

/**
 * Sends an HTML page.
 *
 * @example
 * ```ts
 * sendHtml(res, 200, page);
 * ```
 */
export function sendHtml(res: ServerResponse, status: number, body: SafeHtml): void {
  secureHeaders(res);
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(`<!doctype html>\n${body.toString()}`);
}

/**
 * Sends a static text asset (the stylesheet).
 *
 * @example
 * ```ts
 * sendText(res, 'text/css', css);
 * ```
 */
export function sendText(res: ServerResponse, contentType: string, body: string): void {
  res.statusCode = 200;
  res.setHeader('content-type', `${contentType}; charset=utf-8`);
  res.setHeader('cache-control', 'public, max-age=3600');
  res.setHeader('x-content-type-options', 'nosniff');
  res.end(body);
}

/**
 * Redirects with 303 (after a POST the browser then GETs the target).
 *
 * @example
 * ```ts
 * redirect(res, '/mailboxes');
 * ```
 */
export function redirect(res: ServerResponse, location: string): void {
  secureHeaders(res);
  res.statusCode = 303;
  res.setHeader('location', location);
  res.end();
}
