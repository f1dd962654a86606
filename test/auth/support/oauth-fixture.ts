/**
 * A real "Grant permission" setting for OAuth tests: oidc-provider as the authorization server,
 * the in-memory directory and token store, an OAuthService pointed at the test server (as the
 * Gmail app, and as a generic app found by discovery), and a logger that keeps every line so
 * tests can prove no secret was written.
 */
import { type OAuthEvent, OAuthService, type OAuthServiceOptions } from '../../../src/auth/index.js';
import {
  type MailboxEntryInput,
  parseConfig,
  parseMailboxEntry,
  parseServerSettings,
} from '../../../src/config/index.js';
import type { MailboxDirectory, TokenStore } from '../../../src/ports/index.js';
import { memoryDirectory } from '../../../src/stores/memory/directory.js';
import { memoryTokenStore } from '../../../src/stores/memory/token-store.js';
import type { DovecotOptions } from '../../helpers/dovecot.js';
import {
  startOidcProvider,
  type TestOAuthClient,
  type TestOAuthServer,
  type TestOAuthServerOptions,
} from '../../helpers/oidc-provider.js';
import { capturingLogger } from './capturing-logger.js';

export const USER = 'ann@example.com';
export const OTHER_USER = 'bob@example.com';
export const DOMAIN = 'example.com';
export const REDIRECT_URI = 'https://mail.example.com/oauth/callback';
/** The Gmail-profile entry (its user name is the account at the test server). */
export const GMAIL_ENTRY = 'gmail-ann';
export const GMAIL_ACCOUNT = 'ann@gmail.com';
/** A generic-profile entry. */
export const GENERIC_ENTRY = 'corp-ann';
export const GENERIC_ACCOUNT = 'ann';

export { capturingLogger } from './capturing-logger.js';

export interface OAuthFixture {
  as: TestOAuthServer;
  tokens: TokenStore;
  directory: MailboxDirectory;
  service: OAuthService;
  events: OAuthEvent[];
  logger: ReturnType<typeof capturingLogger>;
  clock: { now: number };
  /** A new service over the same stores (other options). */
  makeService(options?: Partial<OAuthServiceOptions>): OAuthService;
  /** Runs the whole journey for an entry and returns the stored token set. */
  grant(mailboxId: string, account: string, service?: OAuthService): Promise<void>;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  server?: Partial<TestOAuthServerOptions>;
  service?: Partial<OAuthServiceOptions>;
  /** More entries for ann. */
  entries?: MailboxEntryInput[];
  /** Generic app: token endpoint client authentication. */
  genericAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  /**
   * Stores to use instead of in-memory ones (a SQLite file, a PostgreSQL schema that other
   * processes open too); the directory is filled with the fixture's settings, users and entries.
   */
  stores?: { tokens: TokenStore; directory: MailboxDirectory };
}

export async function startOAuthFixture(options: FixtureOptions = {}): Promise<OAuthFixture> {
  const genericClient: TestOAuthClient = {
    clientId: 'corp-app',
    clientSecret: 'corp-app-secret-0123456789',
    redirectUris: [REDIRECT_URI],
    tokenEndpointAuthMethod: options.genericAuthMethod ?? 'client_secret_post',
  };
  const as = await startOidcProvider({
    accounts: [GMAIL_ACCOUNT, GENERIC_ACCOUNT, 'bob@gmail.com'],
    client: { redirectUris: [REDIRECT_URI] },
    extraClients: [genericClient],
    scopes: ['https://mail.google.com/', 'https://outlook.office.com/POP.AccessAsUser.All', 'pop'],
    ...options.server,
  });
  const config = parseConfig({
    settings: {
      oauth: {
        gmail: {
          clientId: as.client.clientId,
          clientSecret: as.client.clientSecret,
          redirectUris: { [DOMAIN]: REDIRECT_URI },
        },
        generic: {
          clientId: genericClient.clientId,
          clientSecret: genericClient.clientSecret,
          redirectUris: { [DOMAIN]: REDIRECT_URI },
          issuer: as.issuer,
          scopes: ['pop', 'offline_access'],
          extraAuthorizationParams: { prompt: 'consent' },
          tokenEndpointAuthMethod: genericClient.tokenEndpointAuthMethod,
        },
      },
    },
    users: [
      {
        id: USER,
        entries: [
          {
            id: GMAIL_ENTRY,
            server: 'pop.gmail.com:995',
            username: GMAIL_ACCOUNT,
            auth: 'oauth',
            enabled: false,
          },
          {
            id: GENERIC_ENTRY,
            server: 'pop.corp.test:995',
            username: GENERIC_ACCOUNT,
            auth: 'oauth',
            oauthProvider: 'generic',
          },
          { id: 'plain-ann', server: 'pop.example.net:995', username: 'ann', password: 'hunter2-pw' },
          ...(options.entries ?? []),
        ],
      },
      {
        id: OTHER_USER,
        entries: [{ id: 'gmail-bob', server: 'pop.gmail.com:995', username: 'bob@gmail.com', auth: 'oauth' }],
      },
    ],
  });
  const tokens = options.stores?.tokens ?? memoryTokenStore();
  const directory = options.stores?.directory ?? memoryDirectory(config);
  if (options.stores) {
    await directory.setSettings(config.settings);
    for (const { entries, ...flags } of config.users) {
      await directory.putUser(flags);
      for (const entry of entries) await directory.putEntry(flags.id, entry);
    }
  }
  const events: OAuthEvent[] = [];
  const logger = capturingLogger();
  const clock = { now: Date.now() };
  const makeService = (extra: Partial<OAuthServiceOptions> = {}) =>
    new OAuthService({
      tokens,
      directory,
      now: () => clock.now,
      logger,
      onEvent: (event) => events.push(event),
      allowInsecureRequests: true,
      providers: {
        // The Gmail profile (scopes, parameters, client auth) against the test server's endpoints.
        gmail: {
          issuer: as.issuer,
          authorizationEndpoint: as.authorizationEndpoint,
          tokenEndpoint: as.tokenEndpoint,
        },
      },
      ...options.service,
      ...extra,
    });
  const service = makeService();
  return {
    as,
    tokens,
    directory,
    service,
    events,
    logger,
    clock,
    makeService,
    async grant(mailboxId, account, using = service) {
      const { url } = await using.beginGrant({ userId: USER, mailboxId, domain: DOMAIN });
      const callback = await as.authorize(url, { account });
      await using.completeGrant(callback, { userId: USER });
    },
    stop: () => as.stop(),
  };
}

/** Dovecot's oauth2 passdb pointed at the fixture's introspection endpoint (token `sub` = POP3 user). */
export function dovecotOAuth2(fx: OAuthFixture): NonNullable<DovecotOptions['oauth2']> {
  return {
    introspectionUrl: fx.as.introspectionEndpoint,
    usernameAttribute: 'sub',
    clientId: fx.as.introspectionClient.clientId,
    clientSecret: fx.as.introspectionClient.clientSecret,
  };
}

/**
 * Adds a Microsoft 365 app to the fixture's settings (by default the test server's main
 * client) and a Microsoft entry of ann's for `username`.
 */
export async function addMicrosoftEntry(
  fx: OAuthFixture,
  entry: { id: string; username: string },
  app: { clientId?: string; clientSecret?: string; tenant?: string } = {},
): Promise<void> {
  const settings = await fx.directory.getSettings();
  await fx.directory.setSettings(
    parseServerSettings({
      ...settings,
      oauth: {
        ...settings.oauth,
        microsoft: {
          clientId: app.clientId ?? fx.as.client.clientId,
          clientSecret: app.clientSecret ?? fx.as.client.clientSecret,
          redirectUris: { [DOMAIN]: REDIRECT_URI },
          ...(app.tenant === undefined ? {} : { tenant: app.tenant }),
        },
      },
    }),
  );
  await fx.directory.putEntry(
    USER,
    parseMailboxEntry({
      id: entry.id,
      server: 'outlook.office365.com:995',
      username: entry.username,
      auth: 'oauth',
    }),
  );
}
