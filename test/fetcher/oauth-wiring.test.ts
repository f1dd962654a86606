import { describe, expect, it } from 'vitest';
import type { CollectorEvents } from '../../src/collect/events.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import type { Pop3ClientApi } from '../../src/pop3/api.js';
import { emptyMailboxStatus } from '../../src/ports/index.js';
import { result, setup } from './support.js';

const gmailApp = {
  clientId: 'client-id',
  clientSecret: 'client-secret-value',
  redirectUris: { 'example.com': 'https://mail.example.com/cb' },
};

/**
 * An ID token as Google's token endpoint returns it. Received straight from the token endpoint
 * over TLS, its claims are validated but its signature is not (OpenID Connect Core §3.1.3.7),
 * so a placeholder signature does here.
 */
function idToken(email: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'https://accounts.google.com',
    aud: gmailApp.clientId,
    sub: '1',
    email,
    email_verified: true,
    iat: now,
    exp: now + 3600,
  };
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

/** Google's token endpoint, answered in process: codes are exchanged, refreshes refused or granted. */
function fakeGoogle(refresh: 'ok' | 'invalid_grant') {
  const requests: string[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const body = new URLSearchParams(String(init?.body ?? ''));
    requests.push(`${url} ${body.get('grant_type')}`);
    if (body.get('grant_type') === 'refresh_token' && refresh === 'invalid_grant') {
      return Response.json(
        { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
        { status: 400 },
      );
    }
    return Response.json({
      access_token: 'ya29.access',
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: '1//refresh',
      ...(body.get('grant_type') === 'authorization_code' ? { id_token: idToken('ann@gmail.com') } : {}),
    });
  };
  return { fetch, requests };
}

const users = [
  {
    id: 'ann',
    entries: [{ id: 'g', server: 'pop.gmail.com:995', username: 'ann@gmail.com', auth: 'oauth' as const }],
  },
];

describe('the OAuth service the fetcher builds from options', () => {
  it('needs a token store', () => {
    const { directory, ledger, queue } = setup({});
    expect(() => new MultiPopFetcher({ directory, ledger, queue, oauth: {} })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        context: expect.objectContaining({ field: 'tokens' }),
      }),
    );
  });

  it('runs the grant flow over the fetcher’s directory and tokens, and a completed grant resumes collection', async () => {
    const google = fakeGoogle('ok');
    const t = setup({ settings: { oauth: { gmail: gmailApp } }, users }, { oauth: { fetch: google.fetch } });
    await t.ledger.saveStatus({ ...emptyMailboxStatus('g'), needsPermission: true });
    const ann = { role: 'user', userId: 'ann' } as const;

    const { url, state } = await t.fetcher.beginGrant(ann, { mailboxId: 'g', domain: 'example.com' });
    expect(new URL(url).origin).toBe('https://accounts.google.com');
    await expect(
      t.fetcher.completeGrant({ role: 'user', userId: 'eve' }, `?code=c&state=${state}`),
    ).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    expect(await t.fetcher.completeGrant(ann, `https://mail.example.com/cb?code=c&state=${state}`)).toEqual({
      userId: 'ann',
      mailboxId: 'g',
      account: 'ann@gmail.com',
    });
    expect((await t.tokens.getTokens('g'))?.refreshToken).toBe('1//refresh');
    expect((await t.ledger.loadStatus('g'))?.needsPermission).toBe(false);
    expect((await t.fetcher.collectNow())[0]?.ok).toBe(true);
  });

  it('a grant an administrator starts is bound to that administrator’s id', async () => {
    const google = fakeGoogle('ok');
    const t = setup({ settings: { oauth: { gmail: gmailApp } }, users }, { oauth: { fetch: google.fetch } });
    const root = { role: 'admin', adminId: 'root' } as const;
    const { state } = await t.fetcher.beginGrant(root, { mailboxId: 'g', domain: 'example.com' });
    const callback = `?code=c&state=${state}`;

    for (const stranger of [{ role: 'admin', adminId: 'helpdesk' }, { role: 'admin' }] as const) {
      await expect(t.fetcher.completeGrant(stranger, callback)).rejects.toMatchObject({
        code: 'OAUTH_STATE_INVALID',
      });
    }
    expect(google.requests.some((r) => r.endsWith('authorization_code'))).toBe(false);
    expect(await t.fetcher.completeGrant(root, callback)).toMatchObject({ mailboxId: 'g' });
    expect((await t.tokens.getTokens('g'))?.refreshToken).toBe('1//refresh');
  });

  it('maps a revoked grant to one mailbox:needs-permission event and pauses the entry', async () => {
    const google = fakeGoogle('invalid_grant');
    const t = setup({ settings: { oauth: { gmail: gmailApp } }, users }, { oauth: { fetch: google.fetch } });
    await t.tokens.setTokens('g', {
      accessToken: 'old',
      refreshToken: '1//revoked',
      expiresAt: Date.now() - 1000,
    });
    // The fake session authenticates like the real one does, with a client that is never reached.
    t.sessions.when('g', async (options) => {
      await options.auth.authenticate({ secure: true } as Pop3ClientApi, {
        userId: options.userId,
        entry: options.entry,
        log: options.log,
      });
      return result(1);
    });
    const events: CollectorEvents['mailbox:needs-permission'][] = [];
    t.fetcher.on('mailbox:needs-permission', (e) => events.push(e));

    const [summary] = await t.fetcher.collectNow();
    expect(summary?.error?.code).toBe('OAUTH_NEEDS_PERMISSION');
    await t.fetcher.stop(); // waits for the event handling to settle
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      userId: 'ann',
      mailboxId: 'g',
      host: 'pop.gmail.com',
      error: { code: 'OAUTH_NEEDS_PERMISSION' },
    });
    expect(await t.ledger.loadStatus('g')).toMatchObject({ needsPermission: true, consecutiveFailures: 0 });
    expect(google.requests.some((r) => r.endsWith('refresh_token'))).toBe(true);
  });
});
