/**
 * A real OAuth 2.0 authorization server for tests: oidc-provider 9 on 127.0.0.1 (port 0), with a
 * confidential client, PKCE (S256) required, refresh tokens, an introspection endpoint (for
 * Dovecot's oauth2 passdb), our own minimal login/consent routes, and a browser-less "user
 * agent" that drives them to the redirect back to the client, so a whole "Grant permission"
 * journey runs in a test without a browser.
 *
 * It can also revoke a user's grants (as a user would at myaccount.google.com) and make the
 * token endpoint misbehave (429, 5xx, garbage, hang, reset) for error tests.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Provider, { type ClientMetadata, type Configuration } from 'oidc-provider';

/** A confidential client registered at the test server. */
export interface TestOAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** @default 'client_secret_post' */
  tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic';
}

export interface TestOAuthServerOptions {
  /** Account ids (the `sub` of tokens; use the mailbox user name so Dovecot maps it). */
  accounts: string[];
  /** The main client. Defaults: id `multipop-test`, a random secret, `https://mail.example.test/oauth/callback`. */
  client?: Partial<TestOAuthClient>;
  /** More clients (e.g. a second app, to obtain "a code for another client"). */
  extraClients?: TestOAuthClient[];
  /** Access token lifetime in seconds. @default 3600 */
  accessTokenTtlSeconds?: number;
  /** Rotate refresh tokens on every use (the old one then stops working). @default false */
  rotateRefreshTokens?: boolean;
  /** Extra scopes the server recognises (added to openid and offline_access). */
  scopes?: string[];
}

/** What the token endpoint does instead of answering properly. */
export type TokenEndpointFault =
  | { kind: 'status'; status: number; body?: string; contentType?: string }
  /** 200 with a body that is not a token response. */
  | { kind: 'garbage' }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Reset the TCP connection. */
  | { kind: 'reset' };

/** The user's decision on the consent screen. */
export type ConsentDecision = 'approve' | 'deny';

export interface TestOAuthServer {
  /** `http://127.0.0.1:<port>` — also the issuer identifier. */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  revocationEndpoint: string;
  client: Required<TestOAuthClient>;
  /** A client with `client_secret_basic` that may only introspect (give it to Dovecot). */
  introspectionClient: { clientId: string; clientSecret: string };
  provider: Provider;
  /** POST requests the token endpoint received (faulty ones included). */
  readonly tokenRequests: number;
  /**
   * Plays the user in a browser: opens the authorization URL, signs in as `account`, approves
   * or denies consent, and returns the URL the server redirects to at the client (with `code`
   * and `state`, or `error`). Never follows that last redirect.
   */
  authorize(authorizationUrl: string, options: { account: string; decision?: ConsentDecision }): Promise<URL>;
  /** Destroys every grant of the account (its refresh tokens then fail with `invalid_grant`). */
  revokeGrants(account: string): Promise<number>;
  /** Sets (or clears with `undefined`) a fault for the token endpoint. */
  setTokenFault(fault: TokenEndpointFault | undefined): void;
  stop(): Promise<void>;
}

const INTERACTION_PREFIX = '/interaction/';

/**
 * Starts the test authorization server.
 *
 * @example
 * ```ts
 * const as = await startOidcProvider({ accounts: ['ann'] });
 * const callback = await as.authorize(url, { account: 'ann' });
 * await as.stop();
 * ```
 */
export async function startOidcProvider(options: TestOAuthServerOptions): Promise<TestOAuthServer> {
  const accounts = new Set(options.accounts);
  const client: Required<TestOAuthClient> = {
    clientId: options.client?.clientId ?? 'multipop-test',
    clientSecret: options.client?.clientSecret ?? randomBytes(24).toString('base64url'),
    redirectUris: options.client?.redirectUris ?? ['https://mail.example.test/oauth/callback'],
    tokenEndpointAuthMethod: options.client?.tokenEndpointAuthMethod ?? 'client_secret_post',
  };
  const introspectionClient = { clientId: 'dovecot', clientSecret: randomBytes(24).toString('base64url') };
  const grantsByAccount = new Map<string, Set<string>>();
  const sockets = new Set<Socket>();
  let tokenFault: TokenEndpointFault | undefined;
  let tokenRequests = 0;

  const toMetadata = (c: TestOAuthClient): ClientMetadata => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    redirect_uris: c.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_post',
  });

  const server: Server = createServer();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const configuration: Configuration = {
    clients: [
      toMetadata(client),
      ...(options.extraClients ?? []).map(toMetadata),
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
      accounts.has(id) ? { accountId: id, claims: () => ({ sub: id }) } : undefined,
    scopes: ['openid', 'offline_access', ...(options.scopes ?? [])],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      // Dovecot's client may introspect any token; a client only its own.
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx, caller, token) =>
          caller.clientId === introspectionClient.clientId || caller.clientId === token.clientId,
      },
      revocation: { enabled: true },
    },
    // Real servers issue refresh tokens to this kind of app whenever consent was given.
    issueRefreshToken: (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => options.rotateRefreshTokens === true,
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 3600,
      AuthorizationCode: 60,
      Grant: 14 * 24 * 3600,
      Interaction: 600,
      RefreshToken: 14 * 24 * 3600,
      Session: 3600,
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    // Keep the test output quiet: errors reach the test through HTTP responses.
    renderError: (ctx, out) => {
      ctx.type = 'application/json';
      ctx.body = out;
    },
  };
  const provider = new Provider(issuer, configuration);
  const providerHandler = provider.callback();
  const paths = {
    token: new URL(String(provider.urlFor('token'))).pathname,
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'POST' && path === paths.token) {
      tokenRequests += 1;
      if (tokenFault !== undefined) {
        injectFault(tokenFault, req, res);
        return;
      }
    }
    if (path.startsWith(INTERACTION_PREFIX)) {
      handleInteraction(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    providerHandler(req, res);
  });

  /** Our own login/consent screens, reduced to the decisions (JSON in, redirects out). */
  async function handleInteraction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const action = (req.url ?? '').slice(INTERACTION_PREFIX.length).split('?')[0]?.split('/')[1];
    if (req.method === 'GET' && action === undefined) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name }));
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    if (action === 'login') {
      const account = form.get('login') ?? '';
      if (!accounts.has(account)) {
        res.statusCode = 403;
        res.end('unknown account');
        return;
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
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (action === 'confirm') {
      const accountId = details.session?.accountId;
      const clientId = String(details.params['client_id']);
      if (accountId === undefined) throw new Error('consent without a signed-in account');
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId });
      if (!grant) throw new Error('grant vanished during the interaction');
      const promptDetails = details.prompt.details as { missingOIDCScope?: string[] };
      if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
      const grantId = await grant.save();
      const known = grantsByAccount.get(accountId) ?? new Set<string>();
      known.add(grantId);
      grantsByAccount.set(accountId, known);
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    res.statusCode = 404;
    res.end('unknown interaction action');
  }

  function injectFault(fault: TokenEndpointFault, req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    switch (fault.kind) {
      case 'status':
        res.statusCode = fault.status;
        res.setHeader('content-type', fault.contentType ?? 'application/json');
        res.end(fault.body ?? JSON.stringify({ error: 'server_error' }));
        return;
      case 'garbage':
        res.statusCode = 200;
        res.setHeader('content-type', 'text/html');
        res.end('<html><body>Service temporarily overloaded</body></html>');
        return;
      case 'hang':
        return;
      case 'reset':
        req.socket.destroy();
        return;
    }
  }

  async function authorize(
    authorizationUrl: string,
    opts: { account: string; decision?: ConsentDecision },
  ): Promise<URL> {
    const jar = new CookieJar();
    let url = new URL(authorizationUrl);
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    for (let step = 0; step < 20; step++) {
      const res = await fetch(url, {
        method,
        redirect: 'manual',
        headers: {
          cookie: jar.header(url),
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        body,
      });
      jar.store(url, res.headers.getSetCookie());
      method = 'GET';
      body = undefined;
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const next = new URL(res.headers.get('location') ?? '', url);
        if (next.origin !== issuer) return next;
        url = next;
        continue;
      }
      const text = await res.text();
      if (res.status !== 200 || !url.pathname.startsWith(INTERACTION_PREFIX)) {
        throw new Error(`authorization server answered ${res.status} at ${url.pathname}: ${text}`);
      }
      const { uid, prompt } = JSON.parse(text) as { uid: string; prompt: string };
      if (prompt === 'login') {
        url = new URL(`${INTERACTION_PREFIX}${uid}/login`, issuer);
        body = new URLSearchParams({ login: opts.account }).toString();
      } else if (prompt === 'consent') {
        url = new URL(
          `${INTERACTION_PREFIX}${uid}/${opts.decision === 'deny' ? 'abort' : 'confirm'}`,
          issuer,
        );
        body = '';
      } else {
        throw new Error(`unexpected prompt ${prompt}`);
      }
      method = 'POST';
    }
    throw new Error('too many redirects in the authorization journey');
  }

  async function revokeGrants(account: string): Promise<number> {
    const ids = grantsByAccount.get(account) ?? new Set<string>();
    let destroyed = 0;
    for (const id of ids) {
      const grant = await provider.Grant.find(id);
      if (grant) {
        await grant.destroy();
        destroyed += 1;
      }
    }
    grantsByAccount.delete(account);
    return destroyed;
  }

  return {
    issuer,
    authorizationEndpoint: String(provider.urlFor('authorization')),
    tokenEndpoint: String(provider.urlFor('token')),
    introspectionEndpoint: String(provider.urlFor('introspection')),
    revocationEndpoint: String(provider.urlFor('revocation')),
    client,
    introspectionClient,
    provider,
    get tokenRequests() {
      return tokenRequests;
    },
    authorize,
    revokeGrants,
    setTokenFault: (fault) => {
      tokenFault = fault;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Just enough of a browser's cookie handling: name, path, expiry by Max-Age/Expires. */
class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', val = ''] = attribute.split('=');
        const k = key.toLowerCase();
        if (k === 'path') path = val || '/';
        if (k === 'max-age' && Number(val) <= 0) expired = true;
        if (k === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const id = `${name}\u0000${path}`;
      if (expired) this.#cookies.delete(id);
      else this.#cookies.set(id, { name, value, path });
    }
    void url;
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter(
        (c) =>
          url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}
