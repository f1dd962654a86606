import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthService } from '../../src/auth/index.js';
import { createLog, silentLogger } from '../../src/log/index.js';
import { failure } from '../support/multipop-failure.js';
import {
  addMicrosoftEntry,
  GMAIL_ACCOUNT,
  GMAIL_ENTRY,
  type OAuthFixture,
  startOAuthFixture,
  USER,
} from './support/oauth-fixture.js';
import { stubClient } from './support/stub-client.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

describe('token life cycle (oidc-provider, rotating refresh tokens)', () => {
  let fx: OAuthFixture;
  let service: OAuthService;
  let grantedAt: number;

  beforeAll(async () => {
    fx = await startOAuthFixture({ server: { rotateRefreshTokens: true } });
    service = fx.service;
  });
  afterAll(() => fx.stop());
  afterEach(() => fx.as.setTokenFault(undefined));

  const freshGrant = async () => {
    fx.clock.now = Date.now();
    grantedAt = fx.clock.now;
    await fx.grant(GMAIL_ENTRY, GMAIL_ACCOUNT);
    fx.events.length = 0;
    const stored = await fx.tokens.getTokens(GMAIL_ENTRY);
    if (!stored?.refreshToken) throw new Error('the grant gave no refresh token');
    return stored;
  };

  it('uses the stored token while it is valid beyond the skew', async () => {
    const stored = await freshGrant();
    const requests = fx.as.tokenRequests;
    fx.clock.now = grantedAt + HOUR - 6 * MINUTE;
    expect(await service.getAccessToken(GMAIL_ENTRY)).toBe(stored.accessToken);
    expect(fx.as.tokenRequests).toBe(requests);
  });

  it('refreshes ahead of expiry (inside the 5-minute skew) and stores the rotated refresh token', async () => {
    const stored = await freshGrant();
    const requests = fx.as.tokenRequests;
    fx.clock.now = grantedAt + HOUR - 4 * MINUTE;

    const token = await service.getAccessToken(GMAIL_ENTRY);

    expect(token).not.toBe(stored.accessToken);
    expect(fx.as.tokenRequests).toBe(requests + 1);
    const next = await fx.tokens.getTokens(GMAIL_ENTRY);
    expect(next?.accessToken).toBe(token);
    expect(next?.refreshToken).toBeTruthy();
    expect(next?.refreshToken).not.toBe(stored.refreshToken);
    expect(next?.expiresAt).toBe(fx.clock.now + HOUR);
    expect(fx.events).toEqual([
      { type: 'refreshed', userId: USER, mailboxId: GMAIL_ENTRY, expiresAt: fx.clock.now + HOUR },
    ]);

    // Only the rotated token works now: two more refreshes succeed because it was stored.
    const again = await service.getAccessToken(GMAIL_ENTRY, { forceRefresh: true });
    const third = await service.getAccessToken(GMAIL_ENTRY, { forceRefresh: true });
    expect(new Set([token, again, third]).size).toBe(3);
    expect((await fx.as.introspect(third)).active).toBe(true);
  });

  it('single flight: ten concurrent callers share one refresh', async () => {
    await freshGrant();
    const requests = fx.as.tokenRequests;
    fx.clock.now = grantedAt + 2 * HOUR;

    const tokens = await Promise.all(Array.from({ length: 10 }, () => service.getAccessToken(GMAIL_ENTRY)));

    expect(new Set(tokens).size).toBe(1);
    expect(fx.as.tokenRequests).toBe(requests + 1);
    expect(fx.events.filter((e) => e.type === 'refreshed')).toHaveLength(1);
  });

  it('single flight also across forced refreshes', async () => {
    await freshGrant();
    const requests = fx.as.tokenRequests;
    const tokens = await Promise.all(
      Array.from({ length: 5 }, () => service.getAccessToken(GMAIL_ENTRY, { forceRefresh: true })),
    );
    expect(new Set(tokens).size).toBe(1);
    expect(fx.as.tokenRequests).toBe(requests + 1);
  });

  it.each([
    ['HTTP 429', { kind: 'status', status: 429, body: '{"error":"rate_limited"}' } as const],
    ['HTTP 500', { kind: 'status', status: 500, body: '<h1>oops</h1>', contentType: 'text/html' } as const],
    [
      'HTTP 503 with an OAuth body',
      { kind: 'status', status: 503, body: '{"error":"temporarily_unavailable"}' } as const,
    ],
    ['a reset connection', { kind: 'reset' } as const],
  ])('%s → OAUTH_TRANSIENT, tokens kept, no re-consent asked', async (_label, fault) => {
    const stored = await freshGrant();
    fx.clock.now = grantedAt + 2 * HOUR;
    fx.as.setTokenFault(fault);

    const error = await failure(service.getAccessToken(GMAIL_ENTRY));

    expect(error.code).toBe('OAUTH_TRANSIENT');
    expect(error.context['mailboxId']).toBe(GMAIL_ENTRY);
    expect(fx.events.some((e) => e.type === 'needs-permission')).toBe(false);
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toEqual(stored);
    // Once the server recovers, the same grant works.
    fx.as.setTokenFault(undefined);
    expect(await service.getAccessToken(GMAIL_ENTRY)).not.toBe(stored.accessToken);
  });

  it('passes Retry-After seconds on when the server sends them', async () => {
    await freshGrant();
    fx.clock.now = grantedAt + 2 * HOUR;
    const throttled = fx.makeService({
      fetch: async () =>
        new Response('{"error":"rate_limited"}', {
          status: 429,
          headers: { 'content-type': 'application/json', 'retry-after': '120' },
        }),
    });
    const error = await failure(throttled.getAccessToken(GMAIL_ENTRY));
    expect(error.code).toBe('OAUTH_TRANSIENT');
    expect(error.context['retryAfterSeconds']).toBe(120);
  });

  it('a network failure (nothing listening) → OAUTH_TRANSIENT', async () => {
    await freshGrant();
    fx.clock.now = grantedAt + 2 * HOUR;
    const unreachable = fx.makeService({
      providers: {
        gmail: {
          authorizationEndpoint: 'http://127.0.0.1:9/auth',
          tokenEndpoint: 'http://127.0.0.1:9/token',
        },
      },
    });
    const error = await failure(unreachable.getAccessToken(GMAIL_ENTRY));
    expect(error.code).toBe('OAUTH_TRANSIENT');
  });

  it('a hanging token endpoint → OAUTH_TRANSIENT after the timeout', async () => {
    await freshGrant();
    fx.clock.now = grantedAt + 2 * HOUR;
    fx.as.setTokenFault({ kind: 'hang' });
    const error = await failure(fx.makeService({ requestTimeoutMs: 200 }).getAccessToken(GMAIL_ENTRY));
    expect(error.code).toBe('OAUTH_TRANSIENT');
  });

  it('garbage from the token endpoint → OAUTH_PROVIDER_ERROR (not a re-consent)', async () => {
    await freshGrant();
    fx.clock.now = grantedAt + 2 * HOUR;
    fx.as.setTokenFault({ kind: 'garbage' });
    const error = await failure(service.getAccessToken(GMAIL_ENTRY));
    expect(error.code).toBe('OAUTH_PROVIDER_ERROR');
    expect(fx.events.some((e) => e.type === 'needs-permission')).toBe(false);
  });

  it.each(['interaction_required', 'consent_required', 'login_required'])(
    'the token endpoint answers %s → needs permission, reported once, tokens forgotten',
    async (oauthError) => {
      await freshGrant();
      fx.clock.now = grantedAt + 2 * HOUR;
      fx.as.setTokenFault({
        kind: 'status',
        status: 400,
        body: JSON.stringify({ error: oauthError, error_description: 'AADSTS50076: MFA required' }),
      });

      const error = await failure(service.getAccessToken(GMAIL_ENTRY));
      expect(error.code).toBe('OAUTH_NEEDS_PERMISSION');
      expect(error.context['oauthError']).toBe(oauthError);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
      const requests = fx.as.tokenRequests;
      expect((await failure(service.getAccessToken(GMAIL_ENTRY))).context['reason']).toBe('no-grant');
      expect(fx.as.tokenRequests).toBe(requests);
      expect(fx.events.filter((e) => e.type === 'needs-permission')).toHaveLength(2);
      // The OAuth service reports each call; the fetcher's status flag turns it into one report
      // (see the fetcher tests); what matters here: the first one names the provider's reason.
      expect(
        (fx.events[0] as { error: { context: Record<string, unknown> } }).error.context['oauthError'],
      ).toBe(oauthError);
    },
  );

  it.each([
    ['invalid_client', 401],
    ['unauthorized_client', 400],
    ['invalid_scope', 400],
    ['invalid_request', 400],
  ])(
    'the token endpoint answers %s (HTTP %i) → OAUTH_APP_REJECTED with advice for the admin, grant kept',
    async (oauthError, status) => {
      const stored = await freshGrant();
      fx.clock.now = grantedAt + 2 * HOUR;
      fx.as.setTokenFault({ kind: 'status', status, body: JSON.stringify({ error: oauthError }) });

      const error = await failure(service.getAccessToken(GMAIL_ENTRY));

      expect(error.code).toBe('OAUTH_APP_REJECTED');
      expect(error.context['oauthError']).toBe(oauthError);
      expect(error.message).toContain('An administrator must check the OAuth app in settings.oauth.gmail');
      expect(fx.events.some((e) => e.type === 'needs-permission')).toBe(false);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toEqual(stored);
    },
  );

  it('a revoked grant (invalid_grant) → needs permission: event, tokens forgotten, no further token requests', async () => {
    await freshGrant();
    expect(await fx.as.revokeGrants(GMAIL_ACCOUNT)).toBeGreaterThan(0);
    fx.clock.now = grantedAt + 2 * HOUR;

    const error = await failure(service.getAccessToken(GMAIL_ENTRY));

    expect(error.code).toBe('OAUTH_NEEDS_PERMISSION');
    expect(error.context['oauthError']).toBe('invalid_grant');
    expect(fx.events).toEqual([{ type: 'needs-permission', userId: USER, mailboxId: GMAIL_ENTRY, error }]);
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();

    const requests = fx.as.tokenRequests;
    const again = await failure(service.getAccessToken(GMAIL_ENTRY));
    expect(again.code).toBe('OAUTH_NEEDS_PERMISSION');
    expect(again.context['reason']).toBe('no-grant');
    expect(fx.as.tokenRequests).toBe(requests);

    // Granting again clears the condition.
    await fx.grant(GMAIL_ENTRY, GMAIL_ACCOUNT);
    expect(fx.events.at(-1)).toEqual({ type: 'granted', userId: USER, mailboxId: GMAIL_ENTRY });
    expect(await service.getAccessToken(GMAIL_ENTRY)).toBeTruthy();
  });

  it('an expired token without a refresh token → needs permission', async () => {
    fx.clock.now = Date.now();
    await fx.tokens.setTokens(GMAIL_ENTRY, { accessToken: 'short-lived-token', expiresAt: fx.clock.now - 1 });
    fx.events.length = 0;
    const error = await failure(service.getAccessToken(GMAIL_ENTRY));
    expect(error.code).toBe('OAUTH_NEEDS_PERMISSION');
    expect(error.context['reason']).toBe('no-refresh-token');
    expect(fx.events.map((e) => e.type)).toEqual(['needs-permission']);
  });

  it('a token without an expiry is used until a server refuses it', async () => {
    await fx.tokens.setTokens(GMAIL_ENTRY, { accessToken: 'no-expiry-token', refreshToken: 'rt-unused' });
    const requests = fx.as.tokenRequests;
    expect(await service.getAccessToken(GMAIL_ENTRY)).toBe('no-expiry-token');
    expect(fx.as.tokenRequests).toBe(requests);
  });

  describe('the OAuth AuthProvider when the POP3 server refuses the token', () => {
    const request = async () => ({
      userId: USER,
      entry: (await fx.directory.getEntry(GMAIL_ENTRY))!.entry,
      log: createLog(silentLogger),
    });

    it('logs in with the stored token in the Gmail form', async () => {
      const stored = await freshGrant();
      const client = stubClient({ capa: ['USER', 'SASL PLAIN XOAUTH2 OAUTHBEARER'] });
      await service.authProviderFor((await request()).entry).authenticate(client, await request());
      expect(client.calls).toEqual([
        { method: 'authXOAuth2', user: GMAIL_ACCOUNT, secret: stored.accessToken, form: 'initial-response' },
      ]);
    });

    it('refreshes once and asks the session to reconnect (retryWithFreshToken); the fresh token then works', async () => {
      const stored = await freshGrant();
      const requests = fx.as.tokenRequests;
      const refused = stubClient({ capa: ['SASL XOAUTH2'], accept: (token) => token !== stored.accessToken });
      const auth = service.authProviderFor((await request()).entry);

      const error = await failure(auth.authenticate(refused, await request()));

      expect(error.code).toBe('AUTH_FAILED');
      expect(error.context['retryWithFreshToken']).toBe(true);
      expect(error.context['saslError']).toEqual({ status: '401', schemes: 'bearer' });
      expect(fx.as.tokenRequests).toBe(requests + 1);
      const fresh = (await fx.tokens.getTokens(GMAIL_ENTRY))!.accessToken;
      expect(fresh).not.toBe(stored.accessToken);

      // The session runner reconnects and authenticates once more.
      const reconnected = stubClient({ capa: ['SASL XOAUTH2'], accept: (token) => token === fresh });
      await auth.authenticate(reconnected, await request());
      expect(reconnected.calls.map((c) => c.secret)).toEqual([fresh]);
      expect(fx.as.tokenRequests).toBe(requests + 1);
    });

    it('a fresh token refused again → OAUTH_TOKEN_REFUSED: no grant loop, the grant is kept', async () => {
      await freshGrant();
      const auth = service.authProviderFor((await request()).entry);
      const refusesAll = () => stubClient({ capa: ['SASL XOAUTH2'], accept: () => false });

      const first = await failure(auth.authenticate(refusesAll(), await request()));
      expect(first.context['retryWithFreshToken']).toBe(true);
      const fresh = await fx.tokens.getTokens(GMAIL_ENTRY);
      const second = await failure(auth.authenticate(refusesAll(), await request()));

      expect(second.code).toBe('OAUTH_TOKEN_REFUSED');
      expect(second.message).toMatch(/POP is probably turned off/);
      expect(second.context).toMatchObject({ mailboxId: GMAIL_ENTRY, provider: 'gmail' });
      // Not "grant permission again": no event, and the grant (still valid) stays.
      expect(fx.events.filter((e) => e.type === 'needs-permission')).toEqual([]);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toEqual(fresh);
    });

    it('a refused token whose grant was revoked → OAUTH_NEEDS_PERMISSION at the forced refresh', async () => {
      await freshGrant();
      await fx.as.revokeGrants(GMAIL_ACCOUNT);
      const error = await failure(
        service
          .authProviderFor((await request()).entry)
          .authenticate(stubClient({ accept: () => false }), await request()),
      );
      expect(error.code).toBe('OAUTH_NEEDS_PERMISSION');
      expect(error.context['oauthError']).toBe('invalid_grant');
    });

    it('sends nothing when the server does not offer XOAUTH2, or the connection is not encrypted', async () => {
      await freshGrant();
      const noXoauth = stubClient({ capa: ['USER', 'SASL PLAIN'] });
      const error = await failure(
        service.authProviderFor((await request()).entry).authenticate(noXoauth, await request()),
      );
      expect(error.code).toBe('AUTH_MECHANISM_UNAVAILABLE');
      expect(noXoauth.calls).toEqual([]);

      const plain = stubClient({ capa: ['SASL XOAUTH2'], secure: false });
      const refused = await failure(
        service.authProviderFor((await request()).entry).authenticate(plain, await request()),
      );
      expect(refused.code).toBe('TLS_REQUIRED');
      expect(plain.calls).toEqual([]);
    });
  });
});

/**
 * Microsoft's token endpoint answers in its own shape: the OAuth `error`, a description that
 * starts with an AADSTS code, the codes again as numbers in `error_codes`, sometimes a
 * `suberror`. Microsoft documents the codes as subject to change and asks clients to act on
 * `error` alone — so the classification here follows `error`, and the codes are only passed on
 * for the administrator. The answers are injected at the test server's token endpoint
 * (oidc-provider answers in its own words); the refresh requests are real.
 */
describe('Microsoft’s token endpoint errors (answers in Microsoft’s shape)', () => {
  let fx: OAuthFixture;
  let service: OAuthService;
  const MS_ENTRY = 'ms-ann';

  beforeAll(async () => {
    fx = await startOAuthFixture();
    await addMicrosoftEntry(fx, { id: MS_ENTRY, username: 'ann@contoso.com' });
    service = fx.makeService({
      providers: {
        microsoft: { authorizationEndpoint: fx.as.authorizationEndpoint, tokenEndpoint: fx.as.tokenEndpoint },
      },
    });
  });
  afterAll(() => fx.stop());
  afterEach(() => fx.as.setTokenFault(undefined));

  const answer = (status: number, error: string, aadsts: number, description: string, suberror?: string) => ({
    kind: 'status' as const,
    status,
    body: JSON.stringify({
      error,
      error_description: `AADSTS${aadsts}: ${description}`,
      error_codes: [aadsts],
      ...(suberror === undefined ? {} : { suberror }),
      error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
    }),
  });

  it.each([
    [
      400,
      'invalid_grant',
      700082,
      'the refresh token expired after inactivity',
      undefined,
      'OAUTH_NEEDS_PERMISSION',
    ],
    [
      400,
      'invalid_grant',
      50173,
      'the grant ended when the password changed',
      undefined,
      'OAUTH_NEEDS_PERMISSION',
    ],
    [400, 'invalid_grant', 65001, 'consent is missing', 'consent_required', 'OAUTH_NEEDS_PERMISSION'],
    [
      400,
      'interaction_required',
      50076,
      'multi-factor authentication is now required',
      'basic_action',
      'OAUTH_NEEDS_PERMISSION',
    ],
    [401, 'invalid_client', 7000215, 'the client secret is wrong', undefined, 'OAUTH_APP_REJECTED'],
    [401, 'invalid_client', 7000222, 'the client secret has expired', undefined, 'OAUTH_APP_REJECTED'],
    [
      400,
      'unauthorized_client',
      700016,
      'no such application in the tenant',
      undefined,
      'OAUTH_APP_REJECTED',
    ],
    [400, 'invalid_request', 900144, 'the scope parameter is missing', undefined, 'OAUTH_APP_REJECTED'],
    [400, 'invalid_scope', 70011, 'the scope is not valid', undefined, 'OAUTH_APP_REJECTED'],
  ] as const)(
    'HTTP %i %s (AADSTS%i: %s, suberror %s) → %s, the AADSTS code kept for the administrator',
    async (status, error, aadsts, description, suberror, code) => {
      fx.events.length = 0;
      const stored = { accessToken: 'ms-access', refreshToken: 'ms-refresh', expiresAt: Date.now() - 1_000 };
      await fx.tokens.setTokens(MS_ENTRY, stored);
      fx.as.setTokenFault(answer(status, error, aadsts, description, suberror));

      const failed = await failure(service.getAccessToken(MS_ENTRY));

      expect(failed.code).toBe(code);
      expect(failed.context).toMatchObject({ oauthError: error, aadsts: [aadsts], provider: 'microsoft' });
      const needsPermission = fx.events.filter((e) => e.type === 'needs-permission');
      if (code === 'OAUTH_NEEDS_PERMISSION') {
        expect(needsPermission).toHaveLength(1);
        expect(await fx.tokens.getTokens(MS_ENTRY)).toBeUndefined();
      } else {
        // The grant is kept: only an administrator (or time) can help.
        expect(needsPermission).toEqual([]);
        expect(await fx.tokens.getTokens(MS_ENTRY)).toEqual(stored);
      }
      if (code === 'OAUTH_APP_REJECTED') {
        expect(failed.message).toContain(
          'An administrator must check the OAuth app in settings.oauth.microsoft',
        );
      }
      expect(JSON.stringify(failed.context)).not.toContain('ms-refresh');
      expect(fx.logger.text()).toContain(`"aadsts":[${aadsts}]`);
    },
  );
});
