/**
 * What both test authorization servers share — `test/helpers/oidc-provider.ts` (JSON screens for
 * a browser-less user agent) and `test/webmail/support/browser-authorization-server.ts` (HTML
 * forms for Chromium): oidc-provider 9 on 127.0.0.1 (port 0) with confidential clients, PKCE
 * (S256) required, refresh tokens, ID tokens carrying the account's `email` (and
 * `preferred_username`, `tid` for the Microsoft profile), its own signing key and storage (so
 * no development-mode warning), an introspection endpoint and a client for Dovecot's oauth2
 * passdb, the decisions that end a sign-in or consent screen, and revoking an account's grants.
 * Each server brings only its own interaction screens (and, for error tests, faults).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Provider, { type ClientMetadata, type Configuration, type JWK } from 'oidc-provider';
import { memoryOidcAdapter } from './oidc-memory-adapter.js';

/** Where the provider sends the browser for sign-in and consent: `/interaction/<uid>[/<action>]`. */
export const INTERACTION_PREFIX = '/interaction/';

/** The interaction as oidc-provider describes it (`provider.interactionDetails`). */
export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

/** Options of {@link startLocalOidcProvider}. */
export interface LocalOidcProviderOptions {
  /** The apps (confidential clients); the introspection client for Dovecot is added. */
  clients: ClientMetadata[];
  /** Whether an account id (a token's `sub`) exists. */
  hasAccount(accountId: string): boolean;
  /**
   * The claims of an account besides `sub`, for ID tokens (`email`, `email_verified`,
   * `preferred_username`, Microsoft's `tid`). Default: {@link defaultAccountClaims}.
   */
  accountClaims?(accountId: string): Record<string, unknown>;
  /** Scopes besides `openid` and `offline_access`. */
  scopes: string[];
  accessTokenTtlSeconds: number;
  /** Lifetime of grants and refresh tokens. */
  grantTtlSeconds: number;
  /** Rotate refresh tokens on every use; unset keeps oidc-provider's default policy. */
  rotateRefreshTokens?: boolean;
  /** Serves everything under {@link INTERACTION_PREFIX} (the sign-in and consent screens). */
  handleInteraction(req: IncomingMessage, res: ServerResponse, oidc: LocalOidcProvider): Promise<void>;
  /** Sees every other request first; returns true when it answered it itself (an injected fault). */
  intercept?(req: IncomingMessage, res: ServerResponse, oidc: LocalOidcProvider): boolean;
}

/** A running provider, with the steps an interaction screen ends in. */
export interface LocalOidcProvider {
  /** `http://127.0.0.1:<port>` — the issuer identifier and the base of discovery. */
  issuer: string;
  provider: Provider;
  /** For Dovecot (client_secret_basic; may introspect every token, nothing else). */
  introspectionClient: { clientId: string; clientSecret: string };
  /** Ends the sign-in screen: `accountId` is signed in. */
  finishLogin(req: IncomingMessage, res: ServerResponse, accountId: string): Promise<void>;
  /** Ends the consent screen with `access_denied` (the user declined). */
  finishDenied(req: IncomingMessage, res: ServerResponse, description: string): Promise<void>;
  /** Ends the consent screen with a grant of the missing scopes, remembered for {@link revokeGrants}. */
  finishConsent(req: IncomingMessage, res: ServerResponse, details: InteractionDetails): Promise<void>;
  /** Destroys every grant of the account (its refresh tokens then fail with `invalid_grant`). */
  revokeGrants(accountId: string): Promise<number>;
  /** Hands a request that `intercept` took to the provider after all (a request held back). */
  forward(req: IncomingMessage, res: ServerResponse): void;
  stop(): Promise<void>;
}

/**
 * Starts oidc-provider on a free local port.
 *
 * @example
 * ```ts
 * const oidc = await startLocalOidcProvider({
 *   clients: [{ client_id: 'app', client_secret: 's', redirect_uris: [callback] }],
 *   hasAccount: (id) => id === 'ann',
 *   scopes: [],
 *   accessTokenTtlSeconds: 3600,
 *   grantTtlSeconds: 86_400,
 *   handleInteraction: async (req, res, oidc) => oidc.finishLogin(req, res, 'ann'),
 * });
 * await oidc.stop();
 * ```
 */
export async function startLocalOidcProvider(options: LocalOidcProviderOptions): Promise<LocalOidcProvider> {
  const introspectionClient = { clientId: 'dovecot', clientSecret: randomBytes(24).toString('base64url') };
  const grantsByAccount = new Map<string, Set<string>>();
  const sockets = new Set<Socket>();

  const server: Server = createServer();
  // Tracked so stop() does not wait for a browser's or fetch's keep-alive connections.
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configuration: Configuration = {
    clients: [
      ...options.clients,
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
      options.hasAccount(id)
        ? {
            accountId: id,
            claims: () => ({ ...(options.accountClaims ?? defaultAccountClaims)(id), sub: id }),
          }
        : undefined,
    scopes: ['openid', 'offline_access', ...options.scopes],
    // Which claims each scope releases (Google: `email`; Microsoft: `profile` → preferred_username, tid).
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'tid'],
    },
    // Put the released claims in the ID token itself, as Google and Microsoft do for the code
    // flow (oidc-provider's default keeps them for the userinfo endpoint only).
    conformIdTokenClaims: false,
    // Our own signing key and storage: without them oidc-provider uses its quick-start ones
    // and prints development-mode warnings into the test output.
    jwks: { keys: [signingKey()] },
    adapter: memoryOidcAdapter(),
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
    ...(options.rotateRefreshTokens === undefined
      ? {}
      : { rotateRefreshToken: () => options.rotateRefreshTokens === true }),
    ttl: {
      AccessToken: options.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      Grant: options.grantTtlSeconds,
      // Set, so that oidc-provider does not print its "default ttl.IdToken" notice.
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: options.grantTtlSeconds,
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

  const oidc: LocalOidcProvider = {
    issuer,
    provider,
    introspectionClient,
    finishLogin: async (req, res, accountId) => {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId } },
        { mergeWithLastSubmission: false },
      );
    },
    finishDenied: async (req, res, description) => {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: description },
        { mergeWithLastSubmission: false },
      );
    },
    finishConsent: async (req, res, details) => {
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
      const known = grantsByAccount.get(accountId) ?? new Set<string>();
      known.add(grantId);
      grantsByAccount.set(accountId, known);
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    },
    revokeGrants: async (accountId) => {
      let destroyed = 0;
      for (const id of grantsByAccount.get(accountId) ?? []) {
        const grant = await provider.Grant.find(id);
        if (grant) {
          await grant.destroy();
          destroyed += 1;
        }
      }
      grantsByAccount.delete(accountId);
      return destroyed;
    },
    forward: (req, res) => providerHandler(req, res),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith(INTERACTION_PREFIX)) {
      options.handleInteraction(req, res, oidc).catch((err: unknown) => {
        res.statusCode = 500;
        res.setHeader('content-type', 'text/plain');
        res.end(String(err));
      });
      return;
    }
    if (options.intercept?.(req, res, oidc)) return;
    providerHandler(req, res);
  });
  return oidc;
}

/**
 * The ID token claims of an account by default: an id with `@` is its own verified address
 * and preferred user name (as at Google and Microsoft); others have neither.
 *
 * @example
 * ```ts
 * defaultAccountClaims('ann@gmail.com'); // { email: 'ann@gmail.com', email_verified: true, preferred_username: 'ann@gmail.com' }
 * ```
 */
export function defaultAccountClaims(accountId: string): Record<string, unknown> {
  if (!accountId.includes('@')) return {};
  return { email: accountId, email_verified: true, preferred_username: accountId };
}

/** A fresh RS256 key (the default ID token algorithm) as a private JWK. */
function signingKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...(privateKey.export({ format: 'jwk' }) as JWK),
    kid: randomBytes(8).toString('hex'),
    use: 'sig',
    alg: 'RS256',
  };
}

/**
 * The whole body of a request as text (the interaction screens' form posts).
 *
 * @example
 * ```ts
 * const form = new URLSearchParams(await readBody(req));
 * ```
 */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
