/**
 * An OAuth 2.0 authorization server a real browser can go through: oidc-provider 9 on
 * 127.0.0.1 (port 0) with HTML sign-in and consent pages — labelled fields and buttons, plain
 * form posts — standing in for Google's or Microsoft's screens in the webmail browser test.
 *
 * `test/helpers/oidc-provider.ts` answers its interaction routes with JSON for a browser-less
 * user agent; a browser needs forms, so this helper has its own interaction pages. The rest
 * is shared with that helper (`test/support/local-oidc-provider.ts`): a confidential client, PKCE
 * (S256) required, refresh tokens, an introspection endpoint and client for Dovecot's oauth2
 * passdb, and revoking an account's grants (what a user does at myaccount.google.com).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  INTERACTION_PREFIX,
  type LocalOidcProvider,
  readBody,
  startLocalOidcProvider,
} from '../../support/local-oidc-provider.js';

/** Options of {@link startBrowserAuthorizationServer}. */
export interface BrowserAuthorizationServerOptions {
  /** Account → password; the account is the token's `sub` (use the POP3 user name). */
  accounts: Record<string, string>;
  /** The webmail's redirect URI(s). */
  redirectUris: string[];
  /** Scopes besides openid and offline_access. @default ['pop'] */
  scopes?: string[];
}

/** A running server. */
export interface BrowserAuthorizationServer {
  /** `http://127.0.0.1:<port>` (also the base of discovery). */
  issuer: string;
  introspectionEndpoint: string;
  /** The webmail's OAuth app (client_secret_post). */
  client: { clientId: string; clientSecret: string };
  /** For Dovecot (client_secret_basic; may introspect every token). */
  introspectionClient: { clientId: string; clientSecret: string };
  /** Sign-in attempts with a wrong password so far. */
  readonly failedLogins: number;
  /** Destroys every grant of the account: its access tokens stop introspecting as active, its refresh tokens fail. */
  revokeGrants(account: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the server.
 *
 * @example
 * ```ts
 * const as = await startBrowserAuthorizationServer({ accounts: { ann: 'pw' }, redirectUris: [`${webmail.url}/oauth/callback`] });
 * await as.revokeGrants('ann');
 * await as.stop();
 * ```
 */
export async function startBrowserAuthorizationServer(
  options: BrowserAuthorizationServerOptions,
): Promise<BrowserAuthorizationServer> {
  const client = { clientId: 'webmail-app', clientSecret: randomBytes(24).toString('base64url') };
  let failedLogins = 0;

  // GET /interaction/:uid shows the page for the prompt; POST …/login, …/confirm, …/abort decide.
  async function interaction(
    req: IncomingMessage,
    res: ServerResponse,
    oidc: LocalOidcProvider,
  ): Promise<void> {
    const details = await oidc.provider.interactionDetails(req, res);
    const [uid, action] = (req.url ?? '').slice(INTERACTION_PREFIX.length).split('?')[0]!.split('/');
    const base = `${INTERACTION_PREFIX}${uid}`;
    if (req.method === 'GET' && action === undefined) {
      const clientId = String(details.params['client_id']);
      const scopes = String(details.params['scope'] ?? '')
        .split(' ')
        .filter(Boolean);
      if (details.prompt.name === 'login')
        return page(res, 200, loginPage(base, details.params['login_hint']));
      return page(res, 200, consentPage(base, clientId, scopes, details.session?.accountId ?? ''));
    }
    if (req.method !== 'POST') return page(res, 405, '<p>Not allowed</p>');
    const form = new URLSearchParams(await readBody(req));
    if (action === 'login') {
      const account = form.get('login') ?? '';
      if (!Object.hasOwn(options.accounts, account) || options.accounts[account] !== form.get('password')) {
        failedLogins += 1;
        return page(res, 401, loginPage(base, account, 'Wrong account or password.'));
      }
      return oidc.finishLogin(req, res, account);
    }
    if (action === 'abort') return oidc.finishDenied(req, res, 'The user declined');
    if (action === 'confirm') return oidc.finishConsent(req, res, details);
    page(res, 404, '<p>Unknown step</p>');
  }

  const oidc = await startLocalOidcProvider({
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        client_name: 'Example Webmail',
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    hasAccount: (id) => Object.hasOwn(options.accounts, id),
    scopes: options.scopes ?? ['pop'],
    accessTokenTtlSeconds: 3600,
    grantTtlSeconds: 24 * 3600,
    handleInteraction: interaction,
  });

  return {
    issuer: oidc.issuer,
    introspectionEndpoint: String(oidc.provider.urlFor('introspection')),
    client,
    introspectionClient: oidc.introspectionClient,
    get failedLogins() {
      return failedLogins;
    },
    revokeGrants: oidc.revokeGrants,
    stop: oidc.stop,
  };
}

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are',
  offline_access: 'Keep access while you are not signed in',
  pop: 'Read and delete your mail over POP3',
};

function loginPage(base: string, hint: unknown, error?: string): string {
  const value = typeof hint === 'string' ? hint : '';
  return frame(
    'Sign in',
    `<h1>Sign in</h1>
    ${error ? `<p role="alert" class="error">${escapeText(error)}</p>` : ''}
    <form method="post" action="${base}/login">
      <p><label for="login">Email or user name</label><br>
        <input id="login" name="login" value="${escapeText(value)}" autocomplete="username" required></p>
      <p><label for="password">Password</label><br>
        <input id="password" name="password" type="password" autocomplete="current-password" required></p>
      <button type="submit">Sign in</button>
    </form>`,
  );
}

function consentPage(base: string, clientId: string, scopes: string[], account: string): string {
  const items = scopes.map((s) => `<li>${escapeText(SCOPE_TEXT[s] ?? s)}</li>`).join('');
  return frame(
    'Allow access?',
    `<h1>Allow access?</h1>
    <p>Signed in as <strong>${escapeText(account)}</strong>. The app <strong>${escapeText(clientId)}</strong> wants to:</p>
    <ul>${items}</ul>
    <form method="post" action="${base}/confirm"><button type="submit">Allow</button></form>
    <form method="post" action="${base}/abort"><button type="submit">Deny</button></form>`,
  );
}

function frame(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeText(title)} – Test Accounts</title>
  <style>body{font:15px system-ui,sans-serif;max-width:28rem;margin:3rem auto}form{display:inline-block;margin-right:.5rem}
  .error{color:#a4262c}</style></head><body>${body}</body></html>`;
}

function page(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
