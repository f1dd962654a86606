/**
 * Whose grant is it? Against a real authorization server (oidc-provider issuing real ID tokens
 * with an `email` claim): the state is bound to the session that started the grant and used
 * up only after that check; the account that consents must be the entry's user name (Gmail:
 * `email`; Microsoft: `preferred_username`/`email` and the tenant); hardening of the callback.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseMailboxEntry } from '../../src/config/index.js';
import { defaultAccountClaims } from '../support/local-oidc-provider.js';
import { failure } from '../support/multipop-failure.js';
import {
  addMicrosoftEntry,
  DOMAIN,
  GMAIL_ACCOUNT,
  GMAIL_ENTRY,
  type OAuthFixture,
  OTHER_USER,
  REDIRECT_URI,
  startOAuthFixture,
  USER,
} from './support/oauth-fixture.js';

const BOB = 'bob@gmail.com';
/** An account whose address the provider has not verified. */
const UNVERIFIED = 'eve@gmail.com';
const MS_ENTRY = 'ms-ann';
const MS_WORK = 'ann@contoso.com';
const MS_PERSONAL = 'ann@outlook.com';
const PERSONAL_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const CONTOSO_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

describe('a grant lands only on the right entry', () => {
  let fx: OAuthFixture;

  beforeAll(async () => {
    fx = await startOAuthFixture({
      server: {
        accounts: [GMAIL_ACCOUNT, BOB, UNVERIFIED, MS_WORK, MS_PERSONAL],
        accountClaims: (id) => {
          if (id === UNVERIFIED) return { email: id, email_verified: false };
          if (id === MS_WORK) return { ...defaultAccountClaims(id), tid: CONTOSO_TENANT };
          if (id === MS_PERSONAL) return { ...defaultAccountClaims(id), tid: PERSONAL_TENANT };
          return defaultAccountClaims(id);
        },
      },
    });
    // A Microsoft app for work and school accounts only, at the same test server.
    await addMicrosoftEntry(fx, { id: MS_ENTRY, username: MS_WORK }, { tenant: 'organizations' });
    fx.service = fx.makeService({
      providers: {
        gmail: {
          issuer: fx.as.issuer,
          authorizationEndpoint: fx.as.authorizationEndpoint,
          tokenEndpoint: fx.as.tokenEndpoint,
        },
        microsoft: {
          authorizationEndpoint: fx.as.authorizationEndpoint,
          tokenEndpoint: fx.as.tokenEndpoint,
          identity: {
            claims: ['preferred_username', 'email'],
            issuer: fx.as.issuer,
            tenant: 'organizations',
          },
        },
      },
    });
  });
  afterAll(() => fx.stop());
  beforeEach(async () => {
    fx.clock.now = Date.now();
    fx.events.length = 0;
    await fx.tokens.deleteTokens(GMAIL_ENTRY);
    await fx.tokens.deleteTokens(MS_ENTRY);
  });

  const begin = (mailboxId = GMAIL_ENTRY, extra: object = {}) =>
    fx.service.beginGrant({ userId: USER, mailboxId, domain: DOMAIN, ...extra });

  describe('the state is bound to the session that started the grant', () => {
    it('an administrator completing a grant a user started is refused; the user can still complete it', async () => {
      const { url } = await begin();
      const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
      const requests = fx.as.tokenRequests;

      const error = await failure(fx.service.completeGrant(callback, { role: 'admin' }));

      expect(error.code).toBe('OAUTH_STATE_INVALID');
      expect(error.message).toMatch(/started by someone else/);
      expect(error.context['reason']).toBe('other-session');
      expect(fx.as.tokenRequests).toBe(requests);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
      // Not used up by the refusal: the right session completes it.
      await fx.service.completeGrant(callback, { userId: USER });
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeDefined();
    });

    it('a stranger holding a leaked state cannot burn it', async () => {
      const { url } = await begin();
      const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
      expect((await failure(fx.service.completeGrant(callback, { userId: OTHER_USER }))).code).toBe(
        'OAUTH_STATE_INVALID',
      );
      await fx.service.completeGrant(callback, { userId: USER });
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeDefined();
    });

    it('a grant an administrator started is completed by that administrator only', async () => {
      const { url, state } = await begin(GMAIL_ENTRY, { startedBy: { role: 'admin', adminId: 'root' } });
      expect(await fx.tokens.findPendingGrant(state)).toMatchObject({
        userId: USER,
        startedBy: { role: 'admin', adminId: 'root' },
      });
      const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
      for (const stranger of [{ userId: USER }, { role: 'admin' as const, adminId: 'other-admin' }]) {
        expect((await failure(fx.service.completeGrant(callback, stranger))).code).toBe(
          'OAUTH_STATE_INVALID',
        );
      }
      expect(await fx.service.completeGrant(callback, { role: 'admin', adminId: 'root' })).toMatchObject({
        mailboxId: GMAIL_ENTRY,
        account: GMAIL_ACCOUNT,
      });
    });

    it('without a session to check against, nothing is looked up', async () => {
      const { url, state } = await begin();
      const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
      const error = await failure(fx.service.completeGrant(callback, undefined as never));
      expect(error.code).toBe('OAUTH_STATE_INVALID');
      expect(await fx.tokens.findPendingGrant(state)).toBeDefined();
    });
  });

  describe('the account that consents is the mailbox', () => {
    it('the wrong account consents → OAUTH_ACCOUNT_MISMATCH naming it; nothing stored, entry unchanged', async () => {
      const before = (await fx.directory.getEntry(GMAIL_ENTRY))!.entry;
      const { url } = await begin();
      const callback = await fx.as.authorize(url, { account: BOB });

      const error = await failure(fx.service.completeGrant(callback, { userId: USER }));

      expect(error.code).toBe('OAUTH_ACCOUNT_MISMATCH');
      expect(error.context).toMatchObject({
        signedInAs: BOB,
        expected: GMAIL_ACCOUNT,
        mailboxId: GMAIL_ENTRY,
      });
      expect(error.message).toContain(BOB);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
      expect((await fx.directory.getEntry(GMAIL_ENTRY))!.entry).toEqual(before);
      expect(fx.events).toEqual([]);
    });

    it('compares without case and without Gmail’s "recent:" prefix', async () => {
      await fx.directory.putEntry(
        USER,
        parseMailboxEntry({
          id: 'gmail-recent',
          server: 'pop.gmail.com:995',
          username: `recent:${GMAIL_ACCOUNT.toUpperCase()}`,
          auth: 'oauth',
        }),
      );
      await fx.grant('gmail-recent', GMAIL_ACCOUNT);
      expect(await fx.tokens.getTokens('gmail-recent')).toBeDefined();
    });

    it('an empty user name is filled in from the identity', async () => {
      await fx.directory.putEntry(
        USER,
        parseMailboxEntry({ id: 'gmail-new', server: 'pop.gmail.com:995', username: '', auth: 'oauth' }),
      );
      const { url } = await begin('gmail-new');
      expect(new URL(url).searchParams.has('login_hint')).toBe(false);
      const callback = await fx.as.authorize(url, { account: BOB });
      expect(await fx.service.completeGrant(callback, { userId: USER })).toMatchObject({ account: BOB });
      expect((await fx.directory.getEntry('gmail-new'))!.entry).toMatchObject({
        username: BOB,
        enabled: true,
      });
    });

    it('an address the provider has not verified does not identify anyone', async () => {
      const { url } = await begin();
      const callback = await fx.as.authorize(url, { account: UNVERIFIED });
      const error = await failure(fx.service.completeGrant(callback, { userId: USER }));
      expect(error.code).toBe('OAUTH_PROVIDER_ERROR');
      expect(error.message).toMatch(/names no account/);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
    });

    it('Microsoft: preferred_username of a work account is accepted', async () => {
      await fx.grant(MS_ENTRY, MS_WORK, fx.service);
      expect(await fx.tokens.getTokens(MS_ENTRY)).toBeDefined();
    });

    it('Microsoft with tenant "organizations": a personal account is refused, even with a matching name', async () => {
      await fx.directory.putEntry(
        USER,
        parseMailboxEntry({
          id: 'ms-personal',
          server: 'outlook.office365.com:995',
          username: MS_PERSONAL,
          auth: 'oauth',
        }),
      );
      const { url } = await begin('ms-personal');
      const callback = await fx.as.authorize(url, { account: MS_PERSONAL });
      const error = await failure(fx.service.completeGrant(callback, { userId: USER }));
      expect(error.code).toBe('OAUTH_ACCOUNT_MISMATCH');
      expect(error.context).toMatchObject({ signedInAs: MS_PERSONAL, reason: 'tenant' });
      expect(error.message).toMatch(/personal Microsoft account/);
      expect(await fx.tokens.getTokens('ms-personal')).toBeUndefined();
    });
  });

  describe('hardening', () => {
    it('the callback’s error_description is kept as untrusted text, never in the message', async () => {
      const { state } = await begin();
      const description = '<img src=x onerror=alert(1)>\u0001Call +1-555 support';
      const error = await failure(
        fx.service.completeGrant(
          `${REDIRECT_URI}?${new URLSearchParams({ error: 'access_denied', error_description: description, state })}`,
          { userId: USER },
        ),
      );
      expect(error.code).toBe('OAUTH_ACCESS_DENIED');
      expect(error.message).not.toContain('<img');
      expect(error.message).toMatch(/untrusted/);
      expect(error.context['untrustedErrorDescription']).toBe(
        '<img src=x onerror=alert(1)> Call +1-555 support',
      );
    });

    it('an error code outside the RFC 6749 character set is not passed on', async () => {
      const { state } = await begin();
      const error = await failure(
        fx.service.completeGrant(`?${new URLSearchParams({ error: 'x"<b>', state })}`, { userId: USER }),
      );
      expect(error.code).toBe('OAUTH_PROVIDER_ERROR');
      expect(error.context['oauthError']).toBe('invalid_error_code');
    });

    it('expired pending grants are purged when a grant starts', async () => {
      const old = await begin();
      fx.clock.now += 10 * 60_000 + 1;
      const fresh = await begin();
      expect(await fx.tokens.findPendingGrant(old.state)).toBeUndefined();
      expect(await fx.tokens.findPendingGrant(fresh.state)).toBeDefined();
    });

    it('an http:// endpoint on a host that is not loopback is refused, whatever its source', async () => {
      const insecure = fx.makeService({
        providers: {
          gmail: {
            authorizationEndpoint: 'http://id.example.net/auth',
            tokenEndpoint: 'http://id.example.net/token',
          },
        },
      });
      const error = await failure(
        insecure.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN }),
      );
      expect(error.code).toBe('OAUTH_NOT_CONFIGURED');
      expect(error.context['field']).toBe('oauth.gmail.authorizationEndpoint');
    });
  });
});

describe('a Microsoft-profile refresh carries scope (captured at a local token endpoint)', () => {
  let fx: OAuthFixture;
  const bodies: URLSearchParams[] = [];
  const endpoint = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ access_token: `at-${bodies.length}`, token_type: 'Bearer', expires_in: 3600 }),
      );
    });
  });
  let tokenEndpoint: string;

  beforeAll(async () => {
    fx = await startOAuthFixture();
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    tokenEndpoint = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/token`;
    await addMicrosoftEntry(
      fx,
      { id: MS_ENTRY, username: MS_WORK },
      { clientId: 'ms-app', clientSecret: 'ms-app-secret' },
    );
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => endpoint.close(() => resolve()));
    await fx.stop();
  });

  const expiredGrant = (scope?: string) => ({
    accessToken: 'at-old',
    refreshToken: 'rt-old',
    expiresAt: fx.clock.now - 1,
    ...(scope === undefined ? {} : { scope }),
  });

  it('sends the scope the grant named, else the profile’s scopes; Gmail sends none', async () => {
    const service = fx.makeService({
      providers: {
        microsoft: { authorizationEndpoint: `${tokenEndpoint}/auth`, tokenEndpoint },
        gmail: { authorizationEndpoint: `${tokenEndpoint}/auth`, tokenEndpoint },
      },
    });
    const granted = 'https://outlook.office.com/POP.AccessAsUser.All openid profile email offline_access';
    await fx.tokens.setTokens(MS_ENTRY, expiredGrant(granted));
    expect(await service.getAccessToken(MS_ENTRY)).toBe('at-1');
    await fx.tokens.setTokens(MS_ENTRY, expiredGrant());
    await service.getAccessToken(MS_ENTRY);
    await fx.tokens.setTokens(GMAIL_ENTRY, expiredGrant());
    await service.getAccessToken(GMAIL_ENTRY);

    expect(bodies.map((b) => [b.get('grant_type'), b.get('refresh_token'), b.get('scope')])).toEqual([
      ['refresh_token', 'rt-old', granted],
      [
        'refresh_token',
        'rt-old',
        'https://outlook.office.com/POP.AccessAsUser.All offline_access openid profile email',
      ],
      ['refresh_token', 'rt-old', null],
    ]);
  });
});
