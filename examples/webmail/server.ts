/**
 * A small webmail "Mailboxes" page on `node:http` for MultiPOP: list, add, edit, enable and
 * disable, remove remote mailboxes; "Grant permission" for OAuth mailboxes through the real
 * authorization-code flow; "Collect now". Each action is one `MultiPopFetcher` operation with
 * the signed-in user as the actor, so the library's permission rules (`settings.enabled`,
 * `user.enabled`, `user.mayEditSettings`) decide.
 *
 * The host keeps what is its own: who is signed in (`currentUser`), which domain a request came
 * through (`domain`, for the redirect URI), and `mayEditSettings` for rendering (`mayEdit`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestContext, WebmailConfig, WebmailFetcher } from './context.js';
import { DEFAULT_PROVIDERS, type ProviderChoice } from './entry-form.js';
import { HttpError, readForm, redirect, sendHtml, sendText } from './http.js';
import { messagePage } from './pages/entry-pages.js';
import { STYLESHEET, STYLESHEET_PATH } from './pages/layout.js';
import * as routes from './routes.js';
import { SessionStore } from './session.js';

/** Options of {@link startWebmail}. */
export interface WebmailOptions {
  /** The fetcher whose entries the page shows and changes. */
  fetcher: WebmailFetcher;
  /**
   * The webmail domain: `beginGrant` uses the OAuth app's redirect URI registered for it.
   * A function when one webmail serves several domains (e.g. by the Host header).
   * @example 'example.com'
   */
  domain: string | ((req: IncomingMessage) => string);
  /**
   * Who is signed in, by the host's own login (cookie, header, TLS client certificate, …);
   * `undefined` answers 401.
   * @example (req) => mySessions.userOf(req)
   */
  currentUser: (req: IncomingMessage) => string | undefined | Promise<string | undefined>;
  /**
   * Whether the user may edit MultiPOP settings (`user.mayEditSettings`), to hide the add form and edit
   * buttons. Rendering only: the fetcher refuses edits without it whatever this says.
   * @default () => true (buttons shown; a refused edit answers 403)
   * @example async (userId) => (await directory.getUser(userId))?.mayEditSettings === true
   */
  mayEdit?: (userId: string) => boolean | Promise<boolean>;
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * The path of the OAuth redirect URI; register `https://<webmail host><callbackPath>` per
   * domain in the OAuth app (`redirectUris`).
   * @default '/oauth/callback'
   */
  callbackPath?: string;
  /** The OAuth providers offered in the add form. @default Gmail and Microsoft 365 */
  oauthProviders?: readonly ProviderChoice[];
  /** Mark the session cookie `Secure` (when served over HTTPS). @default false */
  secureCookies?: boolean;
  /** Called with errors the pages could not explain (the user sees a generic message). */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

/** A running webmail. */
export interface Webmail {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  server: Server;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

type Handler = (ctx: RequestContext) => Promise<void>;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handler: Handler;
}

/**
 * Starts the webmail app.
 *
 * @example
 * ```ts
 * const webmail = await startWebmail({
 *   fetcher,
 *   domain: 'example.com',
 *   currentUser: (req) => sessions.userOf(req),
 *   mayEdit: async (id) => (await directory.getUser(id))?.mayEditSettings === true,
 *   port: 8080,
 * });
 * console.log(`open ${webmail.url}/mailboxes`);
 * await webmail.close();
 * ```
 */
export async function startWebmail(options: WebmailOptions): Promise<Webmail> {
  const mayEdit = options.mayEdit ?? (() => true);
  const config: WebmailConfig = {
    fetcher: options.fetcher,
    currentUser: options.currentUser,
    domainOf: typeof options.domain === 'function' ? options.domain : () => options.domain as string,
    mayEdit: async (userId) => (await mayEdit(userId)) === true,
    providers: options.oauthProviders ?? DEFAULT_PROVIDERS,
    callbackPath: options.callbackPath ?? '/oauth/callback',
    sessions: new SessionStore({ secureCookie: options.secureCookies ?? false }),
  };
  const id = '([A-Za-z0-9][A-Za-z0-9._-]{0,127})';
  const table: Route[] = [
    { method: 'GET', pattern: /^\/mailboxes$/, handler: (ctx) => routes.showMailboxes(ctx) },
    { method: 'POST', pattern: /^\/mailboxes$/, handler: routes.addMailbox },
    { method: 'POST', pattern: /^\/collect$/, handler: routes.collectAll },
    { method: 'GET', pattern: new RegExp(`^/mailboxes/${id}/edit$`), handler: routes.showEdit },
    { method: 'POST', pattern: new RegExp(`^/mailboxes/${id}$`), handler: routes.saveEdit },
    { method: 'POST', pattern: new RegExp(`^/mailboxes/${id}/enabled$`), handler: routes.setEnabled },
    { method: 'GET', pattern: new RegExp(`^/mailboxes/${id}/remove$`), handler: routes.confirmRemove },
    { method: 'POST', pattern: new RegExp(`^/mailboxes/${id}/remove$`), handler: routes.removeMailbox },
    { method: 'POST', pattern: new RegExp(`^/mailboxes/${id}/grant$`), handler: routes.beginGrant },
    { method: 'POST', pattern: new RegExp(`^/mailboxes/${id}/collect$`), handler: routes.collectOne },
    {
      method: 'GET',
      pattern: new RegExp(`^${escapeRegExp(config.callbackPath)}$`),
      handler: routes.completeGrant,
    },
  ];

  const server = createServer((req, res) => {
    handle(req, res, config, table).catch((err: unknown) => {
      options.onError?.(err, req);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err instanceof HttpError ? err.status : 500;
      const text = err instanceof HttpError ? err.message : 'Something went wrong. Please try again later.';
      sendHtml(res, status, messagePage({ title: 'Error', text }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, config: WebmailConfig, table: Route[]) {
  const path = new URL(req.url ?? '/', 'http://webmail.invalid').pathname;
  if (req.method === 'GET' && path === STYLESHEET_PATH) return sendText(res, 'text/css', STYLESHEET);
  if (req.method === 'GET' && path === '/') return redirect(res, '/mailboxes');

  const matches = table.filter((r) => r.pattern.test(path));
  if (matches.length === 0) {
    req.resume();
    return sendHtml(res, 404, messagePage({ title: 'Not found', text: 'There is no such page.' }));
  }
  const route = matches.find((r) => r.method === req.method);
  if (!route) {
    req.resume();
    res.setHeader('allow', [...new Set(matches.map((r) => r.method))].join(', '));
    return sendHtml(
      res,
      405,
      messagePage({ title: 'Not allowed', text: 'That request is not allowed here.' }),
    );
  }

  const userId = await config.currentUser(req);
  if (!userId) {
    req.resume();
    return sendHtml(res, 401, messagePage({ title: 'Please sign in', text: 'Sign in to webmail first.' }));
  }
  const session = config.sessions.open(req, res, userId);
  let form = new URLSearchParams();
  if (req.method === 'POST') {
    form = await readForm(req);
    // Every POST carries the session's token: another site can make the browser post, but
    // cannot read our pages to learn the token.
    if (!config.sessions.checkCsrf(session, form.get('_csrf'))) {
      return sendHtml(
        res,
        403,
        messagePage({
          title: 'Form expired',
          text: 'This form has expired or did not come from this page. Please go back and try again.',
          userId,
        }),
      );
    }
  }
  const entryId = route.pattern.exec(path)?.[1];
  await route.handler({
    req,
    res,
    userId,
    actor: { role: 'user', userId },
    session,
    form,
    ...(entryId === undefined ? {} : { entryId }),
    config,
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
