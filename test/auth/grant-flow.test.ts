import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../support/multipop-failure.js';
import {
  DOMAIN,
  GENERIC_ACCOUNT,
  GENERIC_ENTRY,
  GMAIL_ACCOUNT,
  GMAIL_ENTRY,
  type OAuthFixture,
  OTHER_USER,
  REDIRECT_URI,
  startOAuthFixture,
  USER,
} from './support/oauth-fixture.js';

describe('Grant permission against a real authorization server (oidc-provider)', () => {
  let fx: OAuthFixture;
  /** Every secret value seen in a test; none may appear in any log line or error. */
  const secrets = new Set<string>();

  beforeAll(async () => {
    fx = await startOAuthFixture({ genericAuthMethod: 'client_secret_basic' });
    secrets.add(fx.as.client.clientSecret);
    secrets.add('corp-app-secret-0123456789');
  });
  afterAll(async () => {
    // Checked once over everything the service logged in this file, at debug level.
    const logged = fx.logger.text();
    expect(fx.logger.lines.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(logged).not.toContain(secret);
    await fx.stop();
  });
  beforeEach(async () => {
    fx.as.setTokenFault(undefined);
    fx.events.length = 0;
    await fx.tokens.deleteTokens(GMAIL_ENTRY);
    await fx.tokens.deleteTokens(GENERIC_ENTRY);
  });

  const rememberTokens = async (mailboxId: string) => {
    const stored = await fx.tokens.getTokens(mailboxId);
    if (stored) {
      secrets.add(stored.accessToken);
      if (stored.refreshToken) secrets.add(stored.refreshToken);
    }
    return stored;
  };

  it('builds a Gmail-style authorization URL: PKCE S256, state, redirect URI of the domain, offline access', async () => {
    const { url, state, expiresAt } = await fx.service.beginGrant({
      userId: USER,
      mailboxId: GMAIL_ENTRY,
      domain: DOMAIN,
    });
    const params = new URL(url).searchParams;
    expect(url.startsWith(fx.as.authorizationEndpoint)).toBe(true);
    expect(params.get('client_id')).toBe(fx.as.client.clientId);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(params.get('scope')).toBe('https://mail.google.com/ openid email');
    expect(params.get('access_type')).toBe('offline');
    expect(params.get('prompt')).toBe('consent');
    expect(params.get('login_hint')).toBe(GMAIL_ACCOUNT);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toBe(state);
    expect(expiresAt).toBe(fx.clock.now + 10 * 60_000);
    const pending = await fx.tokens.takePendingGrant(state);
    expect(pending).toMatchObject({
      userId: USER,
      mailboxId: GMAIL_ENTRY,
      provider: 'gmail',
      redirectUri: REDIRECT_URI,
    });
    // The verifier stays with us; only its S256 hash travels.
    expect(await oauth.calculatePKCECodeChallenge(pending!.codeVerifier)).toBe(params.get('code_challenge'));
    expect(url).not.toContain(pending!.codeVerifier);
  });

  it('completes the journey: code exchanged with the verifier, tokens stored, entry enabled, "granted" emitted', async () => {
    const before = fx.as.tokenRequests;
    const { url } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
    expect(callback.searchParams.get('code')).toBeTruthy();

    const result = await fx.service.completeGrant(callback, { userId: USER });

    expect(result).toEqual({ userId: USER, mailboxId: GMAIL_ENTRY, account: GMAIL_ACCOUNT });
    expect(fx.as.tokenRequests - before).toBe(1);
    const stored = await rememberTokens(GMAIL_ENTRY);
    expect(stored?.accessToken).toBeTruthy();
    expect(stored?.refreshToken).toBeTruthy();
    expect(stored?.tokenType).toBe('bearer');
    expect(stored?.expiresAt).toBe(fx.clock.now + 3600 * 1000);
    expect((await fx.directory.getEntry(GMAIL_ENTRY))?.entry.enabled).toBe(true);
    expect(fx.events).toEqual([{ type: 'granted', userId: USER, mailboxId: GMAIL_ENTRY }]);

    // The token is real: the server's introspection endpoint knows it and whose it is.
    const introspection = await fx.as.introspect(stored!.accessToken);
    expect(introspection).toMatchObject({
      active: true,
      sub: GMAIL_ACCOUNT,
      client_id: fx.as.client.clientId,
    });
  });

  it('works with a generic provider found by discovery and client_secret_basic', async () => {
    const { url } = await fx.service.beginGrant({
      userId: USER,
      mailboxId: GENERIC_ENTRY,
      domain: 'EXAMPLE.COM.',
    });
    expect(new URL(url).searchParams.get('scope')).toBe('pop offline_access');
    expect(new URL(url).searchParams.has('login_hint')).toBe(false);
    const callback = await fx.as.authorize(url, { account: GENERIC_ACCOUNT });
    // oidc-provider sends RFC 9207 `iss`; with a discovered issuer it is checked.
    expect(callback.searchParams.get('iss')).toBe(fx.as.issuer);

    await fx.service.completeGrant(callback.href, { userId: USER });

    const stored = await rememberTokens(GENERIC_ENTRY);
    expect(stored?.refreshToken).toBeTruthy();
    expect(await fx.as.introspect(stored!.accessToken)).toMatchObject({
      active: true,
      sub: GENERIC_ACCOUNT,
      client_id: 'corp-app',
    });
  });

  it('accepts the callback as a query string or as parameters', async () => {
    const first = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(first.url, { account: GMAIL_ACCOUNT });
    await fx.service.completeGrant(callback.search, { userId: USER });
    expect(await rememberTokens(GMAIL_ENTRY)).toBeDefined();

    await fx.tokens.deleteTokens(GMAIL_ENTRY);
    const second = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const callback2 = await fx.as.authorize(second.url, { account: GMAIL_ACCOUNT });
    await fx.service.completeGrant(callback2.searchParams, { role: 'user', userId: USER });
    expect(await rememberTokens(GMAIL_ENTRY)).toBeDefined();
  });

  it('refuses a replayed callback: the state is one-shot', async () => {
    const { url } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
    await fx.service.completeGrant(callback, { userId: USER });
    const first = await rememberTokens(GMAIL_ENTRY);
    const requests = fx.as.tokenRequests;

    const error = await failure(fx.service.completeGrant(callback, { userId: USER }));

    expect(error.code).toBe('OAUTH_STATE_INVALID');
    expect(error.context['reason']).toBe('unknown');
    expect(fx.as.tokenRequests).toBe(requests);
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toEqual(first);
  });

  it('refuses a tampered state without touching the real pending grant', async () => {
    const { url, state } = await fx.service.beginGrant({
      userId: USER,
      mailboxId: GMAIL_ENTRY,
      domain: DOMAIN,
    });
    const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${state.slice(0, -2)}xx`);

    expect((await failure(fx.service.completeGrant(tampered, { userId: USER }))).code).toBe(
      'OAUTH_STATE_INVALID',
    );
    const noState = new URL(callback);
    noState.searchParams.delete('state');
    expect((await failure(fx.service.completeGrant(noState, { userId: USER }))).context).toMatchObject({
      reason: 'malformed',
    });
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();

    // The genuine callback still completes.
    await fx.service.completeGrant(callback, { userId: USER });
    expect(await rememberTokens(GMAIL_ENTRY)).toBeDefined();
  });

  it('refuses an expired grant and stores nothing', async () => {
    const { url } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
    const requests = fx.as.tokenRequests;
    const started = fx.clock.now;
    fx.clock.now = started + 10 * 60_000 + 1;
    try {
      const error = await failure(fx.service.completeGrant(callback, { userId: USER }));
      expect(error.code).toBe('OAUTH_STATE_INVALID');
      expect(error.message).toMatch(/expired/);
      expect(error.context['reason']).toBe('expired');
    } finally {
      fx.clock.now = started;
    }
    expect(fx.as.tokenRequests).toBe(requests);
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
  });

  it('refuses a callback completed by another local user', async () => {
    const { url } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
    const error = await failure(fx.service.completeGrant(callback, { userId: OTHER_USER }));
    expect(error.code).toBe('OAUTH_STATE_INVALID');
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
  });

  it('reports a declined consent as OAUTH_ACCESS_DENIED without calling the token endpoint', async () => {
    const { url } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT, decision: 'deny' });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const requests = fx.as.tokenRequests;

    const error = await failure(fx.service.completeGrant(callback, { userId: USER }));

    expect(error.code).toBe('OAUTH_ACCESS_DENIED');
    expect(fx.as.tokenRequests).toBe(requests);
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
    expect(fx.events).toEqual([]);
  });

  it('reports another error= in the callback as OAUTH_PROVIDER_ERROR', async () => {
    const { state } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const error = await failure(
      fx.service.completeGrant(`${REDIRECT_URI}?error=server_error&error_description=boom&state=${state}`, {
        userId: USER,
      }),
    );
    expect(error.code).toBe('OAUTH_PROVIDER_ERROR');
    expect(error.context['oauthError']).toBe('server_error');
  });

  it('refuses a code issued to another client (code injection): OAUTH_PROVIDER_ERROR, nothing stored', async () => {
    // The attacker's code: a complete journey of the other app at the same server.
    const verifier = oauth.generateRandomCodeVerifier();
    const foreign = new URL(fx.as.authorizationEndpoint);
    foreign.search = new URLSearchParams({
      client_id: 'corp-app',
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'https://mail.google.com/',
      state: 'attacker',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const foreignCallback = await fx.as.authorize(foreign.href, { account: GMAIL_ACCOUNT });
    // The victim's genuine state, with the attacker's code.
    const { state } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
    const injected = new URL(foreignCallback);
    injected.searchParams.set('state', state);

    const error = await failure(fx.service.completeGrant(injected, { userId: USER }));

    expect(error.code).toBe('OAUTH_PROVIDER_ERROR');
    expect(error.context['oauthError']).toBe('invalid_grant');
    expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
    expect(fx.events).toEqual([]);
  });

  it('names the domain when no redirect URI is configured for it', async () => {
    const error = await failure(
      fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: 'other.example' }),
    );
    expect(error.code).toBe('OAUTH_NOT_CONFIGURED');
    expect(error.message).toContain('other.example');
    expect(error.context['domain']).toBe('other.example');
  });

  it('reports a provider without an app as OAUTH_NOT_CONFIGURED', async () => {
    await fx.directory.putEntry(
      USER,
      (await import('../../src/config/index.js')).parseMailboxEntry({
        id: 'ms-ann',
        server: 'outlook.office365.com:995',
        username: 'ann@contoso.com',
        auth: 'oauth',
      }),
    );
    const error = await failure(fx.service.beginGrant({ userId: USER, mailboxId: 'ms-ann', domain: DOMAIN }));
    expect(error.code).toBe('OAUTH_NOT_CONFIGURED');
    expect(error.context['provider']).toBe('microsoft');
  });

  it("refuses another user's entry (as not found) and a password entry", async () => {
    expect(
      (await failure(fx.service.beginGrant({ userId: USER, mailboxId: 'gmail-bob', domain: DOMAIN }))).code,
    ).toBe('NOT_FOUND');
    expect(
      (await failure(fx.service.beginGrant({ userId: USER, mailboxId: 'nope', domain: DOMAIN }))).code,
    ).toBe('NOT_FOUND');
    expect(
      (await failure(fx.service.beginGrant({ userId: USER, mailboxId: 'plain-ann', domain: DOMAIN }))).code,
    ).toBe('CONFIG_INVALID');
  });

  describe('a misbehaving token endpoint during the code exchange', () => {
    const journey = async () => {
      const { url } = await fx.service.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
      return fx.as.authorize(url, { account: GMAIL_ACCOUNT });
    };

    it.each([
      ['garbage (HTML with 200)', { kind: 'garbage' } as const, 'OAUTH_PROVIDER_ERROR'],
      [
        'HTTP 503',
        { kind: 'status', status: 503, body: 'down', contentType: 'text/plain' } as const,
        'OAUTH_TRANSIENT',
      ],
      [
        'HTTP 429 with an OAuth error body',
        { kind: 'status', status: 429, body: '{"error":"slow_down"}' } as const,
        'OAUTH_TRANSIENT',
      ],
      ['a reset connection', { kind: 'reset' } as const, 'OAUTH_TRANSIENT'],
      [
        'HTTP 400 invalid_request',
        { kind: 'status', status: 400, body: '{"error":"invalid_request"}' } as const,
        'OAUTH_APP_REJECTED',
      ],
      [
        'HTTP 401 invalid_client',
        { kind: 'status', status: 401, body: '{"error":"invalid_client"}' } as const,
        'OAUTH_APP_REJECTED',
      ],
    ])('%s → %s, nothing stored', async (_label, fault, code) => {
      const callback = await journey();
      fx.as.setTokenFault(fault);
      const error = await failure(fx.service.completeGrant(callback, { userId: USER }));
      expect(error.code).toBe(code);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
      expect(fx.events).toEqual([]);
    });

    it('a hanging token endpoint → OAUTH_TRANSIENT after the request timeout, nothing stored', async () => {
      const quick = fx.makeService({ requestTimeoutMs: 300 });
      const { url } = await quick.beginGrant({ userId: USER, mailboxId: GMAIL_ENTRY, domain: DOMAIN });
      const callback = await fx.as.authorize(url, { account: GMAIL_ACCOUNT });
      fx.as.setTokenFault({ kind: 'hang' });
      const error = await failure(quick.completeGrant(callback, { userId: USER }));
      expect(error.code).toBe('OAUTH_TRANSIENT');
      expect(error.message).toMatch(/timed out/);
      expect(await fx.tokens.getTokens(GMAIL_ENTRY)).toBeUndefined();
    });

    it('error messages and contexts carry no secret', async () => {
      const callback = await journey();
      fx.as.setTokenFault({ kind: 'status', status: 400, body: '{"error":"invalid_grant"}' });
      const error = await failure(fx.service.completeGrant(callback, { userId: USER }));
      const shown = JSON.stringify(error.toJSON()) + String((error.cause as Error | undefined)?.message);
      expect(shown).not.toContain(callback.searchParams.get('code'));
      expect(shown).not.toContain(fx.as.client.clientSecret);
    });
  });
});
