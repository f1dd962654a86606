/**
 * A real OAuth 2.0 authorization server for tests: oidc-provider 9 on 127.0.0.1 (port 0), with a
 * confidential client, PKCE (S256) required, refresh tokens, real ID tokens with the account's
 * `email` (OpenID Connect), an introspection endpoint (for
 * Dovecot's oauth2 passdb), our own minimal login/consent routes, and a browser-less "user
 * agent" that drives them to the redirect back to the client, so a whole "Grant permission"
 * journey runs in a test without a browser.
 *
 * It can also revoke a user's grants (as a user would at myaccount.google.com) and make the
 * token endpoint misbehave (429, 5xx, garbage, hang, reset) for error tests.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientMetadata, Provider } from 'oidc-provider';
import {
  INTERACTION_PREFIX,
  type LocalOidcProvider,
  readBody,
  startLocalOidcProvider,
} from '../support/local-oidc-provider.js';

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
  /**
   * ID token claims of an account besides `sub` (`email`, `preferred_username`, `tid`).
   * @default an account id with `@` is its own verified `email` and `preferred_username`
   */
  accountClaims?: (accountId: string) => Record<string, unknown>;
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

/**
 * Token requests held back before the provider sees them, so a test can line up what several
 * clients (processes) do at the same moment. Released one at a time, in arrival order.
 */
export interface TokenRequestHold {
  /** Resolves once `count` requests have arrived while holding (released ones included). */
  arrived(count: number): Promise<void>;
  /** Passes the oldest held request to the provider; resolves once its answer has been sent. */
  releaseNext(): Promise<void>;
  /** Like `releaseNext`, for the request at `position` among those still held (0 = the oldest). */
  release(position: number): Promise<void>;
  /** Drops the held request at `position` unanswered (its connection is closed). */
  drop(position: number): void;
  /** Stops holding; requests still held go to the provider now. */
  end(): void;
}

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
  /** Asks the introspection endpoint about a token, as Dovecot does (with the introspection client). */
  introspect(token: string): Promise<TokenIntrospection>;
  /** Sets (or clears with `undefined`) a fault for the token endpoint. */
  setTokenFault(fault: TokenEndpointFault | undefined): void;
  /** Holds every token request from now on until released (one hold at a time). */
  holdTokenRequests(): TokenRequestHold;
  stop(): Promise<void>;
}

/** An introspection response (RFC 7662): `active`, and for an active token `sub`, `client_id`, `scope`, …. */
export type TokenIntrospection = { active: boolean; sub?: string } & Record<string, unknown>;

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
  let tokenFault: TokenEndpointFault | undefined;
  let tokenRequests = 0;
  let tokenPath: string | undefined;
  let hold: RequestHold | undefined;

  const toMetadata = (c: TestOAuthClient): ClientMetadata => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    redirect_uris: c.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_post',
  });

  const oidc = await startLocalOidcProvider({
    clients: [toMetadata(client), ...(options.extraClients ?? []).map(toMetadata)],
    hasAccount: (id) => accounts.has(id),
    ...(options.accountClaims ? { accountClaims: options.accountClaims } : {}),
    scopes: options.scopes ?? [],
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    grantTtlSeconds: 14 * 24 * 3600,
    rotateRefreshTokens: options.rotateRefreshTokens === true,
    handleInteraction,
    intercept: (req, res, { provider }) => {
      tokenPath ??= new URL(String(provider.urlFor('token'))).pathname;
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method !== 'POST' || path !== tokenPath) return false;
      tokenRequests += 1;
      if (hold?.take(req, res)) return true;
      if (tokenFault === undefined) return false;
      injectFault(tokenFault, req, res);
      return true;
    },
  });
  const { issuer, provider, introspectionClient } = oidc;
  const introspectionEndpoint = String(provider.urlFor('introspection'));

  async function introspect(token: string): Promise<TokenIntrospection> {
    const { clientId, clientSecret } = introspectionClient;
    const response = await fetch(introspectionEndpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }),
    });
    return (await response.json()) as TokenIntrospection;
  }

  /** Our own login/consent screens, reduced to the decisions (JSON in, redirects out). */
  async function handleInteraction(
    req: IncomingMessage,
    res: ServerResponse,
    screens: LocalOidcProvider,
  ): Promise<void> {
    const details = await screens.provider.interactionDetails(req, res);
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
      return screens.finishLogin(req, res, account);
    }
    if (action === 'abort') return screens.finishDenied(req, res, 'End-User aborted interaction');
    if (action === 'confirm') return screens.finishConsent(req, res, details);
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

  return {
    issuer,
    authorizationEndpoint: String(provider.urlFor('authorization')),
    tokenEndpoint: String(provider.urlFor('token')),
    introspectionEndpoint,
    revocationEndpoint: String(provider.urlFor('revocation')),
    client,
    introspectionClient,
    provider,
    get tokenRequests() {
      return tokenRequests;
    },
    authorize,
    revokeGrants: oidc.revokeGrants,
    introspect,
    setTokenFault: (fault) => {
      tokenFault = fault;
    },
    holdTokenRequests: () => {
      if (hold?.active) throw new Error('token requests are already held');
      hold = new RequestHold(oidc.forward);
      return hold;
    },
    stop: oidc.stop,
  };
}

/** The requests a {@link TokenRequestHold} keeps, and who waits for how many to arrive. */
class RequestHold implements TokenRequestHold {
  active = true;
  readonly #forward: (req: IncomingMessage, res: ServerResponse) => void;
  readonly #held: Array<{ req: IncomingMessage; res: ServerResponse }> = [];
  readonly #waiters: Array<{ count: number; resolve: () => void }> = [];
  #arrivals = 0;

  constructor(forward: (req: IncomingMessage, res: ServerResponse) => void) {
    this.#forward = forward;
  }

  /** Keeps the request if holding (its body stays unread until it is forwarded). */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.active) return false;
    this.#held.push({ req, res });
    this.#arrivals += 1;
    for (const waiter of this.#waiters.filter((w) => w.count <= this.#arrivals)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    return true;
  }

  arrived(count: number): Promise<void> {
    if (this.#arrivals >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  releaseNext(): Promise<void> {
    return this.release(0);
  }

  release(position: number): Promise<void> {
    const [next] = this.#held.splice(position, 1);
    if (next === undefined) return Promise.reject(new Error(`no token request is held at ${position}`));
    // Answered, or the client gave up on it.
    const sent = new Promise<void>((resolve) => {
      next.res.once('finish', resolve);
      next.res.once('close', resolve);
    });
    this.#forward(next.req, next.res);
    return sent;
  }

  drop(position: number): void {
    const [dropped] = this.#held.splice(position, 1);
    if (dropped === undefined) throw new Error(`no token request is held at ${position}`);
    dropped.req.socket.destroy();
  }

  end(): void {
    this.active = false;
    for (const { req, res } of this.#held.splice(0)) this.#forward(req, res);
  }
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
