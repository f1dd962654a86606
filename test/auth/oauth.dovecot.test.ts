/**
 * The whole OAuth chain with real servers: oidc-provider issues the tokens through the real
 * "Grant permission" journey, Dovecot's oauth2 passdb checks every token at oidc-provider's
 * introspection endpoint, and our POP3 client logs in with AUTH XOAUTH2 / OAUTHBEARER.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OAuthService } from '../../src/auth/index.js';
import { parseMailboxEntry } from '../../src/config/index.js';
import { createLog } from '../../src/log/index.js';
import { Pop3Client } from '../../src/pop3/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { failure } from '../support/multipop-failure.js';
import {
  capturingLogger,
  dovecotOAuth2,
  GENERIC_ACCOUNT,
  type OAuthFixture,
  startOAuthFixture,
  USER,
} from './support/oauth-fixture.js';

/** Dovecot's mailbox for the token's `sub`. */
const DOVECOT_ENTRY = 'dovecot-oauth';
const TTL_SECONDS = 2;
const MESSAGES = [
  Buffer.from('Subject: one\r\n\r\nfirst\r\n'),
  Buffer.from('Subject: two\r\n\r\n.dot-stuffed line\r\n\xe9 latin-1\r\n', 'latin1'),
];

describeWithDovecot('OAuth 2.0 logins against Dovecot with tokens from oidc-provider', () => {
  let fx: OAuthFixture;
  let dovecot: DovecotServer;
  let service: OAuthService;
  const sessionLogger = capturingLogger();
  const log = createLog(sessionLogger, { test: 'oauth-dovecot' });
  const clients: Pop3Client[] = [];

  beforeAll(async () => {
    fx = await startOAuthFixture({ server: { accessTokenTtlSeconds: TTL_SECONDS } });
    dovecot = await startDovecot({
      users: [{ name: GENERIC_ACCOUNT, password: 'not-used-with-oauth' }],
      oauth2: dovecotOAuth2(fx),
    });
    await dovecot.seed(GENERIC_ACCOUNT, MESSAGES);
    await fx.directory.putEntry(
      USER,
      parseMailboxEntry({
        id: DOVECOT_ENTRY,
        server: `127.0.0.1:${dovecot.popPort}`,
        username: GENERIC_ACCOUNT,
        auth: 'oauth',
        oauthProvider: 'generic',
      }),
    );
    // Real time, and no skew: the access tokens live only two seconds.
    service = fx.makeService({ now: Date.now, refreshSkewMs: 0 });
    fx.clock.now = Date.now();
    await fx.grant(DOVECOT_ENTRY, GENERIC_ACCOUNT, service);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await dovecot?.stop();
    await fx?.stop();
  });

  const connect = async () => {
    const client = await Pop3Client.connect({
      host: dovecot.host,
      port: dovecot.popPort,
      tls: 'starttls',
      tlsOptions: { ca: dovecot.caPem },
    });
    clients.push(client);
    return client;
  };
  const entry = async () => (await fx.directory.getEntry(DOVECOT_ENTRY))!.entry;
  const authenticate = async (client: Pop3Client, using: OAuthService = service) =>
    using.authProviderFor(await entry()).authenticate(client, { userId: USER, entry: await entry(), log });

  it('a token from the grant logs in with AUTH XOAUTH2 and the mail is there, byte for byte', async () => {
    const client = await connect();
    expect(client.capabilities.sasl).toContain('XOAUTH2');
    await authenticate(client);
    const list = await client.list();
    expect(list.map((l) => l.size)).toEqual(MESSAGES.map((m) => m.length));
    const chunks: Buffer[] = [];
    for await (const chunk of await client.retr(2)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(MESSAGES[1]!)).toBe(true);
    await client.quit();
  });

  it('OAUTHBEARER works too', async () => {
    const bearer = fx.makeService({
      now: Date.now,
      refreshSkewMs: 0,
      providers: { generic: { sasl: 'oauthbearer' } },
    });
    const client = await connect();
    await authenticate(client, bearer);
    expect((await client.stat()).count).toBe(MESSAGES.length);
    await client.quit();
  });

  it('after the access token expires, Dovecot refuses it; the service refreshes and the next login works', async () => {
    const before = (await fx.tokens.getTokens(DOVECOT_ENTRY))!;
    await sleep(before.expiresAt! - Date.now() + 1_000);

    // The old token, presented as it is, is now refused (with the JSON challenge).
    const stale = await connect();
    const refused = await failure(stale.authXOAuth2(GENERIC_ACCOUNT, before.accessToken, 'initial-response'));
    expect(refused.code).toBe('AUTH_FAILED');
    expect(refused.context['saslError']).toMatchObject({ status: expect.any(String) });
    stale.close();

    const requests = fx.as.tokenRequests;
    const client = await connect();
    await authenticate(client);
    expect(fx.as.tokenRequests).toBe(requests + 1);
    const after = (await fx.tokens.getTokens(DOVECOT_ENTRY))!;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect((await client.stat()).count).toBe(MESSAGES.length);
    await client.quit();
  });

  it('a token the server refuses although it looked valid: forced refresh, reconnect, login', async () => {
    // A service that believes tokens live an hour: it would not refresh on its own.
    const trusting = fx.makeService({ now: Date.now });
    const stored = (await fx.tokens.getTokens(DOVECOT_ENTRY))!;
    await sleep(Math.max(0, stored.expiresAt! - Date.now()) + 1_000);
    await fx.tokens.setTokens(DOVECOT_ENTRY, { ...stored, expiresAt: Date.now() + 3_600_000 });

    const first = await connect();
    const error = await failure(authenticate(first, trusting));
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.context['retryWithFreshToken']).toBe(true);
    first.close();

    // What the session runner does: one new connection, one more authenticate.
    const second = await connect();
    await authenticate(second, trusting);
    expect((await second.stat()).count).toBe(MESSAGES.length);
    await second.quit();
  });

  it('Dovecot refuses a valid, fresh token (granted by another account): OAUTH_TOKEN_REFUSED, no grant loop', async () => {
    // A generic app does not check who consents: ann's grant lands on an entry for "bob".
    await fx.directory.putEntry(
      USER,
      parseMailboxEntry({
        id: 'dovecot-bob',
        server: `127.0.0.1:${dovecot.popPort}`,
        username: 'bob',
        auth: 'oauth',
        oauthProvider: 'generic',
      }),
    );
    await fx.grant('dovecot-bob', GENERIC_ACCOUNT, service);
    fx.events.length = 0;
    const bob = (await fx.directory.getEntry('dovecot-bob'))!.entry;
    const login = async () => {
      const client = await connect();
      try {
        return await failure(
          service.authProviderFor(bob).authenticate(client, { userId: USER, entry: bob, log }),
        );
      } finally {
        client.close();
      }
    };

    const first = await login();
    expect(first.code).toBe('AUTH_FAILED');
    expect(first.context['retryWithFreshToken']).toBe(true);
    const refreshed = (await fx.tokens.getTokens('dovecot-bob'))!;
    expect((await fx.as.introspect(refreshed.accessToken)).active).toBe(true);
    // This server's tokens live two seconds: keep the keeper from refreshing again on a slow
    // machine, so the second login presents the very token that was just issued.
    const fresh = { ...refreshed, expiresAt: Date.now() + 3_600_000 };
    await fx.tokens.setTokens('dovecot-bob', fresh);
    const second = await login();

    expect(second.code).toBe('OAUTH_TOKEN_REFUSED');
    expect(fx.events.filter((e) => e.type === 'needs-permission')).toEqual([]);
    expect(await fx.tokens.getTokens('dovecot-bob')).toEqual(fresh);
  });

  it('after the grant is revoked at the server: needs permission, reported once, nothing crashes', async () => {
    fx.events.length = 0;
    expect(await fx.as.revokeGrants(GENERIC_ACCOUNT)).toBeGreaterThan(0);

    const client = await connect();
    const error = await failure(authenticate(client));
    expect(error.code).toBe('OAUTH_NEEDS_PERMISSION');
    expect(fx.events.filter((e) => e.type === 'needs-permission').map((e) => e.mailboxId)).toEqual([
      DOVECOT_ENTRY,
    ]);
    expect(await fx.tokens.getTokens(DOVECOT_ENTRY)).toBeUndefined();
    // The connection is still usable (still in AUTHORIZATION state) and closes cleanly.
    await client.quit();

    const again = await connect();
    expect((await failure(authenticate(again))).code).toBe('OAUTH_NEEDS_PERMISSION');
    again.close();

    // Granting again brings the mailbox back.
    await fx.grant(DOVECOT_ENTRY, GENERIC_ACCOUNT, service);
    const back = await connect();
    await authenticate(back);
    expect((await back.stat()).count).toBe(MESSAGES.length);
    await back.quit();
  });

  it('no token or secret in any log line', async () => {
    const text = sessionLogger.text() + fx.logger.text() + (await dovecot.logText());
    const stored = await fx.tokens.getTokens(DOVECOT_ENTRY);
    expect(text).not.toContain(fx.as.client.clientSecret);
    expect(text).not.toContain('corp-app-secret-0123456789');
    if (stored) {
      expect(sessionLogger.text() + fx.logger.text()).not.toContain(stored.accessToken);
      expect(text).not.toContain(stored.refreshToken);
    }
  });
});
