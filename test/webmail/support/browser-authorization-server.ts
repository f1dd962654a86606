/**
 * An OAuth 2.0 authorization server a real browser can go through: oidc-provider 9 on
 * 127.0.0.1 (port 0) with HTML sign-in and consent pages — labelled fields and buttons, plain
 * form posts — standing in for Google's or Microsoft's screens in the webmail browser test.
 *
 * `test/helpers/oidc-provider.ts` answers its interaction routes with JSON for a browser-less
 * user agent; a browser needs forms, so this helper has its own interaction pages. The rest
 * matches that helper: a confidential client, PKCE (S256) required, refresh tokens, an
 * introspection endpoint and client for Dovecot's oauth2 passdb, and revoking an account's
 * grants (what a user does at myaccount.google.com).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

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

const INTERACTION = '/interaction/';

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
  const introspectionClient = { clientId: 'dovecot', clientSecret: randomBytes(24).toString('base64url') };
  const grants = new Map<string, Set<string>>();
  const sockets = new Set<Socket>();
  let failedLogins = 0;

  const server = createServer();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configuration: Configuration = {
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
      {
        client_id: introspectionClient.clientId,
        client_secret: introspectionClient.clientSecret,
        redirect_uris: [],
        grant_types: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    findAccount: (_ctx, id) =>
      Object.hasOwn(options.accounts, id) ? { accountId: id, claims: () => ({ sub: id }) } : undefined,
    scopes: ['openid', 'offline_access', ...(options.scopes ?? ['pop'])],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx, caller, token) =>
          caller.clientId === introspectionClient.clientId || caller.clientId === token.clientId,
      },
      revocation: { enabled: true },
    },
    issueRefreshToken: (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      Grant: 24 * 3600,
      Interaction: 600,
      RefreshToken: 24 * 3600,
      Session: 3600,
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION}${interaction.uid}` },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    renderError: (ctx, out) => {
      ctx.type = 'application/json';
      ctx.body = out;
    },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith(INTERACTION)) {
      interaction(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.setHeader('content-type', 'text/plain');
        res.end(String(err));
      });
      return;
    }
    callback(req, res);
  });

  // GET /interaction/:uid shows the page for the prompt; POST …/login, …/confirm, …/abort decide.
  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const [uid, action] = (req.url ?? '').slice(INTERACTION.length).split('?')[0]!.split('/');
    const base = `${INTERACTION}${uid}`;
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
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (action === 'abort') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user declined' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (action === 'confirm') {
      const accountId = details.session?.accountId;
      if (accountId === undefined) throw new Error('consent without a signed-in account');
      const clientId = String(details.params['client_id']);
      // A grant revoked in the meantime is gone: start a new one then.
      const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
      const grant = existing ?? new provider.Grant({ accountId, clientId });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      const known = grants.get(accountId) ?? new Set<string>();
      known.add(grantId);
      grants.set(accountId, known);
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    page(res, 404, '<p>Unknown step</p>');
  }

  return {
    issuer,
    introspectionEndpoint: String(provider.urlFor('introspection')),
    client,
    introspectionClient,
    get failedLogins() {
      return failedLogins;
    },
    async revokeGrants(account) {
      let destroyed = 0;
      for (const id of grants.get(account) ?? []) {
        const grant = await provider.Grant.find(id);
        if (grant) {
          await grant.destroy();
          destroyed += 1;
        }
      }
      grants.delete(account);
      return destroyed;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
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

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
