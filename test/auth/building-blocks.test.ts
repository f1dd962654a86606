/**
 * The pure and small parts of src/auth: provider profiles, redirect URI choice, callback
 * parsing, password mechanism choice, error classification, discovery failures, single flight.
 */
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import {
  choosePasswordMechanism,
  classifyOAuthError,
  genericOAuth,
  gmailOAuth,
  microsoftOAuth,
  OAuthService,
  redirectUriFor,
} from '../../src/auth/index.js';
import { parseCallback } from '../../src/auth/oauth/callback.js';
import { SingleFlight } from '../../src/auth/oauth/single-flight.js';
import { parseConfig } from '../../src/config/index.js';
import { memoryDirectory } from '../../src/stores/memory/directory.js';
import { memoryTokenStore } from '../../src/stores/memory/token-store.js';
import { failure } from '../support/multipop-failure.js';
import { capabilities } from './support/stub-client.js';

const app = {
  clientId: 'id',
  clientSecret: 'secret-value',
  redirectUris: { 'example.com': 'https://mail.example.com/cb' },
};

describe('provider profiles', () => {
  it('Gmail: Google endpoints, the mail scope, offline access with consent, one-line XOAUTH2', () => {
    const p = gmailOAuth(app);
    expect(p).toMatchObject({
      provider: 'gmail',
      issuer: 'https://accounts.google.com',
      authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenEndpoint: 'https://oauth2.googleapis.com/token',
      scopes: ['https://mail.google.com/', 'openid', 'email'],
      authorizationParams: { access_type: 'offline', prompt: 'consent' },
      clientAuthMethod: 'client_secret_post',
      sasl: 'xoauth2-initial-response',
      refreshWithScope: false,
      identity: { claims: ['email'] },
    });
  });

  it('Microsoft: tenant endpoints, POP scope and offline_access, two-line XOAUTH2, no issuer check', () => {
    const p = microsoftOAuth({ ...app, tenant: 'contoso.onmicrosoft.com' });
    expect(p.authorizationEndpoint).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize',
    );
    expect(p.tokenEndpoint).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    );
    expect(p.scopes).toEqual([
      'https://outlook.office.com/POP.AccessAsUser.All',
      'offline_access',
      'openid',
      'profile',
      'email',
    ]);
    expect(p.sasl).toBe('xoauth2-continuation');
    expect(p.issuer).toBeUndefined();
    // Required by the v2.0 endpoint on refreshes (AADSTS900144 without it).
    expect(p.refreshWithScope).toBe(true);
    expect(p.identity).toEqual({
      claims: ['preferred_username', 'email'],
      issuer: 'https://login.microsoftonline.com/{tid}/v2.0',
      tenant: 'contoso.onmicrosoft.com',
    });
  });

  it('generic: the consenting account is checked only with an identityClaim (then openid is asked for)', () => {
    const base = {
      ...app,
      issuer: 'https://id.example.net',
      scopes: ['pop'],
      sasl: 'xoauth2' as const,
      extraAuthorizationParams: {},
    };
    expect(genericOAuth(base).identity).toBeUndefined();
    const checked = genericOAuth({ ...base, identityClaim: 'email' });
    expect(checked.identity).toEqual({ claims: ['email'] });
    expect(checked.scopes).toEqual(['pop', 'openid']);
  });

  it('generic: discovery or endpoints, scopes, OAUTHBEARER, Basic client authentication as an option', () => {
    const p = genericOAuth({
      ...app,
      issuer: 'https://id.example.net',
      scopes: ['pop', 'offline_access'],
      sasl: 'oauthbearer',
      extraAuthorizationParams: { audience: 'pop' },
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    expect(p).toMatchObject({
      issuer: 'https://id.example.net',
      scopes: ['pop', 'offline_access'],
      sasl: 'oauthbearer',
      authorizationParams: { audience: 'pop' },
      clientAuthMethod: 'client_secret_basic',
    });
    expect(p.tokenEndpoint).toBeUndefined();
  });

  it('overrides replace and, given as undefined, remove', () => {
    const p = gmailOAuth(app, {
      tokenEndpoint: 'http://127.0.0.1:1/token',
      authorizationEndpoint: undefined,
    });
    expect(p.tokenEndpoint).toBe('http://127.0.0.1:1/token');
    expect(p.authorizationEndpoint).toBeUndefined();
    expect(p.scopes).toEqual(['https://mail.google.com/', 'openid', 'email']);
  });
});

describe('redirectUriFor', () => {
  const profile = {
    provider: 'gmail' as const,
    redirectUris: { 'Example.com': 'https://a/cb', 'other.org': 'https://b/cb' },
  };
  it('matches the domain case-insensitively, ignoring a port and a trailing dot', () => {
    expect(redirectUriFor(profile, 'example.COM')).toBe('https://a/cb');
    expect(redirectUriFor(profile, 'example.com:8443')).toBe('https://a/cb');
    expect(redirectUriFor(profile, 'other.org.')).toBe('https://b/cb');
  });
  it('names an unknown domain', () => {
    expect(() => redirectUriFor(profile, 'evil.test')).toThrow(/evil\.test/);
  });
});

describe('parseCallback', () => {
  it('reads a URL, a query string and parameters alike', () => {
    expect(parseCallback('https://x/cb?code=c1&state=s1').state).toBe('s1');
    expect(parseCallback('?code=c1&state=s2').state).toBe('s2');
    expect(parseCallback(new URLSearchParams({ state: 's3', error: 'access_denied' }))).toMatchObject({
      state: 's3',
      error: 'access_denied',
    });
  });
  it('refuses a missing state and a parameter given twice', () => {
    expect(() => parseCallback('?code=c1')).toThrow(expect.objectContaining({ code: 'OAUTH_STATE_INVALID' }));
    expect(() => parseCallback('?code=c1&code=c2&state=s')).toThrow(
      expect.objectContaining({ code: 'OAUTH_STATE_INVALID' }),
    );
    expect(() => parseCallback(`?state=${'x'.repeat(600)}`)).toThrow(
      expect.objectContaining({ code: 'OAUTH_STATE_INVALID' }),
    );
  });
});

describe('choosePasswordMechanism', () => {
  it.each([
    [[], 'user', 'USER'],
    [['USER', 'SASL PLAIN'], 'user', 'USER'],
    [['USER', 'SASL PLAIN'], 'sasl-plain', 'SASL-PLAIN'],
    [['SASL PLAIN'], 'user', 'SASL-PLAIN'],
    [['USER', 'SASL XOAUTH2'], 'sasl-plain', 'USER'],
    [['TOP', 'SASL XOAUTH2'], 'user', undefined],
  ] as const)('CAPA %j, prefer %s → %s', (lines, prefer, expected) => {
    expect(choosePasswordMechanism(capabilities([...lines]), prefer)).toBe(expected);
  });
});

describe('classifyOAuthError', () => {
  const bodyError = (status: number, error: string) => {
    const response = new Response(JSON.stringify({ error }), { status });
    return new oauth.ResponseBodyError('server responded with an error in the response body', {
      cause: { error },
      response,
    });
  };

  it('invalid_grant means "needs permission" on a refresh, a provider error on a code exchange', () => {
    expect(classifyOAuthError(bodyError(400, 'invalid_grant'), 'refresh').code).toBe(
      'OAUTH_NEEDS_PERMISSION',
    );
    expect(classifyOAuthError(bodyError(400, 'invalid_grant'), 'code-exchange').code).toBe(
      'OAUTH_PROVIDER_ERROR',
    );
  });
  it('429, 5xx, temporarily_unavailable, timeouts and fetch failures are transient', () => {
    expect(classifyOAuthError(bodyError(429, 'slow_down'), 'refresh').code).toBe('OAUTH_TRANSIENT');
    expect(classifyOAuthError(bodyError(502, 'bad_gateway'), 'refresh').code).toBe('OAUTH_TRANSIENT');
    expect(classifyOAuthError(bodyError(400, 'temporarily_unavailable'), 'refresh').code).toBe(
      'OAUTH_TRANSIENT',
    );
    expect(classifyOAuthError(new DOMException('timed out', 'TimeoutError'), 'refresh').code).toBe(
      'OAUTH_TRANSIENT',
    );
    expect(classifyOAuthError(new TypeError('fetch failed'), 'refresh').code).toBe('OAUTH_TRANSIENT');
  });
  it('keeps no response body in the cause', () => {
    const err = new oauth.OperationProcessingError('bad', {
      code: oauth.INVALID_RESPONSE,
      cause: { body: { access_token: 'leaky-token-value' } },
    });
    const classified = classifyOAuthError(err, 'refresh');
    expect(classified.code).toBe('OAUTH_PROVIDER_ERROR');
    expect(JSON.stringify(classified.toJSON())).not.toContain('leaky-token-value');
    expect((classified.cause as Error & { cause?: unknown }).cause).toBeUndefined();
  });
});

describe('issuer discovery failures (generic app)', () => {
  const config = parseConfig({
    settings: {
      oauth: {
        generic: { ...app, issuer: 'https://id.example.net', scopes: ['pop'] },
      },
    },
    users: [
      {
        id: 'ann',
        entries: [
          {
            id: 'g',
            server: 'pop.example.net:995',
            username: 'ann',
            auth: 'oauth',
            oauthProvider: 'generic',
          },
        ],
      },
    ],
  });
  const serviceWith = (fetch: (url: string) => Promise<Response>) =>
    new OAuthService({ tokens: memoryTokenStore(), directory: memoryDirectory(config), fetch });

  it('no metadata at either well-known location → OAUTH_PROVIDER_ERROR, both tried', async () => {
    const asked: string[] = [];
    const service = serviceWith(async (url) => {
      asked.push(url);
      return new Response('not found', { status: 404 });
    });
    const error = await failure(service.beginGrant({ userId: 'ann', mailboxId: 'g', domain: 'example.com' }));
    expect(error.code).toBe('OAUTH_PROVIDER_ERROR');
    expect(asked).toEqual([
      'https://id.example.net/.well-known/openid-configuration',
      'https://id.example.net/.well-known/oauth-authorization-server',
    ]);
  });

  it('an unreachable issuer → OAUTH_TRANSIENT, and the failure is not cached', async () => {
    let calls = 0;
    const service = serviceWith(async () => {
      calls += 1;
      throw new TypeError('fetch failed');
    });
    const input = { userId: 'ann', mailboxId: 'g', domain: 'example.com' };
    expect((await failure(service.beginGrant(input))).code).toBe('OAUTH_TRANSIENT');
    expect((await failure(service.beginGrant(input))).code).toBe('OAUTH_TRANSIENT');
    expect(calls).toBe(2);
  });

  it('discovered metadata is cached per issuer', async () => {
    let calls = 0;
    const service = serviceWith(async () => {
      calls += 1;
      return Response.json({
        issuer: 'https://id.example.net',
        authorization_endpoint: 'https://id.example.net/authorize',
        token_endpoint: 'https://id.example.net/token',
      });
    });
    const input = { userId: 'ann', mailboxId: 'g', domain: 'example.com' };
    const first = await service.beginGrant(input);
    await service.beginGrant(input);
    expect(first.url.startsWith('https://id.example.net/authorize?')).toBe(true);
    expect(calls).toBe(1);
  });
});

describe('SingleFlight', () => {
  it('shares a running task per key and starts afresh once it settled', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const task = async () => {
      runs += 1;
      const mine = runs;
      await new Promise((resolve) => setImmediate(resolve));
      return mine;
    };
    const [a, b, c] = await Promise.all([
      flights.run('k', task),
      flights.run('k', task),
      flights.run('other', task),
    ]);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(runs).toBe(2);
    await flights.run('k', task);
    expect(runs).toBe(3);
  });

  it('a failure reaches every waiting caller and is not kept', async () => {
    const flights = new SingleFlight<string>();
    const failing = () => Promise.reject(new Error('boom'));
    const results = await Promise.allSettled([flights.run('k', failing), flights.run('k', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(flights.has('k')).toBe(false);
    expect(await flights.run('k', async () => 'ok')).toBe('ok');
  });
});
