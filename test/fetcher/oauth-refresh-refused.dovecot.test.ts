/**
 * What the whole fetcher does when the provider refuses a refresh — a Microsoft-profile entry
 * granted at oidc-provider, collected from Dovecot (which checks every token at the provider):
 *
 * - Microsoft's Conditional Access (or a new consent policy) wants the user back at the
 *   sign-in page and answers `interaction_required`: the host hears it once, however many
 *   cycles run, the entry pauses with no token request at all until the user grants again,
 *   and then collects. oidc-provider never answers a refresh with `interaction_required` by
 *   itself (no Conditional Access there), so that one answer is injected at the test server's
 *   token endpoint, in the shape Microsoft's identity platform documents (AADSTS code in
 *   `error_codes`, `suberror`); the grant, the other refreshes and every login are real.
 * - The app's client secret is wrong (rotated in the portal, not in the settings): oidc-provider
 *   itself answers `invalid_client`. An administrator must act: one `mailbox:error` with that
 *   advice, the grant kept, no "needs permission", and the entry retried only at the longest
 *   back-off instead of every cycle.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CollectorEvents } from '../../src/collect/events.js';
import { parseMailboxEntry, parseServerSettings } from '../../src/config/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import {
  addMicrosoftEntry,
  capturingLogger,
  DOMAIN,
  dovecotOAuth2,
  type OAuthFixture,
  startOAuthFixture,
  USER,
} from '../auth/support/oauth-fixture.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { defaultAccountClaims } from '../support/local-oidc-provider.js';
import { seqOf, testMessage } from '../support/messages.js';

const ENTRY = 'ms-ann';
const ACCOUNT = 'ann@contoso.com';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** What Microsoft's token endpoint answers when Conditional Access now requires MFA. */
const MFA_REQUIRED = {
  error: 'interaction_required',
  error_description:
    'AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.',
  error_codes: [50076],
  suberror: 'basic_action',
};

describeWithDovecot('the fetcher when the provider refuses a refresh (Microsoft profile)', () => {
  let fx: OAuthFixture;
  let dovecot: DovecotServer;
  let fetcher: MultiPopFetcher;
  const queue = memoryQueue();
  const ledger = memoryLedger();
  const logger = capturingLogger();
  const needsPermission: CollectorEvents['mailbox:needs-permission'][] = [];
  const failures: CollectorEvents['mailbox:error'][] = [];
  const user = { role: 'user', userId: USER } as const;

  async function grantThroughFetcher() {
    const { url } = await fetcher.beginGrant(user, { mailboxId: ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(url, { account: ACCOUNT });
    return fetcher.completeGrant(user, callback);
  }

  /** The stored access token has run out: the next session must refresh first. */
  async function expireAccessToken() {
    const tokens = await fx.tokens.getTokens(ENTRY);
    if (!tokens) throw new Error('no tokens stored');
    await fx.tokens.setTokens(ENTRY, { ...tokens, expiresAt: Date.now() - 1_000 });
  }

  beforeAll(async () => {
    fx = await startOAuthFixture({
      server: {
        accounts: [ACCOUNT],
        accountClaims: (id) => ({ ...defaultAccountClaims(id), tid: TENANT }),
        rotateRefreshTokens: true,
      },
    });
    dovecot = await startDovecot({
      users: [{ name: ACCOUNT, password: 'not-used-with-oauth' }],
      oauth2: dovecotOAuth2(fx),
    });
    await addMicrosoftEntry(fx, { id: ENTRY, username: ACCOUNT }, { tenant: 'organizations' });
    const { entry } = (await fx.directory.getEntry(ENTRY))!;
    await fx.directory.putEntry(
      USER,
      parseMailboxEntry({
        ...entry,
        server: `127.0.0.1:${dovecot.popsPort}`,
        tls: 'implicit',
        oauthProvider: 'microsoft',
      }),
    );
    const ann = (await fx.directory.getUser(USER))!;
    await fx.directory.putUser({ id: ann.id, enabled: true, mayEditSettings: true });
    fetcher = new MultiPopFetcher({
      directory: fx.directory,
      ledger,
      queue,
      tokens: fx.tokens,
      logger,
      oauth: {
        allowInsecureRequests: true,
        // The Microsoft profile (scopes, refresh scope, two-line XOAUTH2, identity check of a
        // work account) against the test server's endpoints.
        providers: {
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
      },
      connection: { tlsOptions: { ca: dovecot.caPem } },
    });
    fetcher.on('mailbox:needs-permission', (e) => needsPermission.push(e));
    fetcher.on('mailbox:error', (e) => failures.push(e));
  });
  afterAll(async () => {
    await fetcher?.stop();
    await dovecot?.stop();
    await fx?.stop();
  });

  it('interaction_required: reported once, collection paused without token requests, resumed by a new grant', async () => {
    await grantThroughFetcher();
    await dovecot.seed(ACCOUNT, [testMessage(1)]);
    // A real refresh first (the provider rotates the token). Microsoft requires `scope` on a
    // refresh: the provider saw the granted scopes in the request.
    const granted = (await fx.tokens.getTokens(ENTRY))!;
    const refreshScopes: unknown[] = [];
    const onGrant = (ctx: { oidc: { params?: Record<string, unknown> } }) => {
      if (ctx.oidc.params?.['grant_type'] === 'refresh_token') refreshScopes.push(ctx.oidc.params['scope']);
    };
    fx.as.provider.on('grant.success', onGrant);
    await expireAccessToken();
    const [first] = await fetcher.collectNow({ mailboxId: ENTRY, force: true });
    fx.as.provider.off('grant.success', onGrant);
    expect(first).toMatchObject({ ok: true, result: { collected: 1 } });
    expect(granted.scope).toContain('https://outlook.office.com/POP.AccessAsUser.All');
    expect(refreshScopes).toEqual([granted.scope]);

    // Conditional Access changed: the next refresh is refused with interaction_required.
    await expireAccessToken();
    await dovecot.seed(ACCOUNT, [testMessage(2)]);
    fx.as.setTokenFault({ kind: 'status', status: 400, body: JSON.stringify(MFA_REQUIRED) });
    const requests = fx.as.tokenRequests;
    const [refused] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(refused?.error).toMatchObject({
      code: 'OAUTH_NEEDS_PERMISSION',
      context: { oauthError: 'interaction_required' },
    });
    expect(fx.as.tokenRequests).toBe(requests + 1);
    expect(await fx.tokens.getTokens(ENTRY)).toBeUndefined();
    expect((await fetcher.statistics(ENTRY))?.needsPermission).toBe(true);

    // Cycle after cycle — scheduled, forced — the entry is skipped, nothing is asked of the
    // provider, and the host heard about it once.
    for (const force of [false, false, true]) {
      const [paused] = await fetcher.collectNow({ mailboxId: ENTRY, force });
      expect(paused?.skipped).toBe('needs-permission');
    }
    expect(fx.as.tokenRequests).toBe(requests + 1);
    expect(needsPermission).toHaveLength(1);
    expect(needsPermission[0]).toMatchObject({
      userId: USER,
      mailboxId: ENTRY,
      error: { code: 'OAUTH_NEEDS_PERMISSION', context: { oauthError: 'interaction_required' } },
    });
    expect(await dovecot.messages(ACCOUNT)).toHaveLength(1);

    // The user signs in again (with MFA, at Microsoft): collection resumes.
    fx.as.setTokenFault(undefined);
    await grantThroughFetcher();
    expect((await fetcher.statistics(ENTRY))?.needsPermission).toBe(false);
    const [resumed] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(resumed).toMatchObject({ ok: true, result: { collected: 1 } });
    expect(queue.messages.map((m) => seqOf(m.content))).toEqual([1, 2]);
    expect(needsPermission).toHaveLength(1);
    // The provider's text is kept for the operator, no token reached the log.
    const stored = await fx.tokens.getTokens(ENTRY);
    const text = logger.text();
    expect(text).toContain('interaction_required');
    for (const secret of [stored!.accessToken, stored!.refreshToken!, fx.as.client.clientSecret]) {
      expect(text).not.toContain(secret);
    }
  });

  it('a wrong client secret (invalid_client from oidc-provider): advice for the administrator, grant kept, longest back-off', async () => {
    const settings = await fx.directory.getSettings();
    const app = settings.oauth.microsoft!;
    await fx.directory.setSettings(
      parseServerSettings({
        ...settings,
        oauth: { ...settings.oauth, microsoft: { ...app, clientSecret: 'rotated-in-the-portal-only' } },
      }),
    );
    await expireAccessToken();
    const granted = await fx.tokens.getTokens(ENTRY);
    failures.length = 0;
    needsPermission.length = 0;
    const requests = fx.as.tokenRequests;

    const before = Date.now();
    const [refused] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(refused?.error).toMatchObject({
      code: 'OAUTH_APP_REJECTED',
      context: { oauthError: 'invalid_client' },
    });
    expect(refused?.error?.message).toContain(
      'An administrator must check the OAuth app in settings.oauth.microsoft',
    );
    expect(fx.as.tokenRequests).toBe(requests + 1);
    expect(failures.map((e) => [e.error.code, e.consecutiveFailures])).toEqual([['OAUTH_APP_REJECTED', 1]]);
    expect(needsPermission).toEqual([]);
    expect(await fx.tokens.getTokens(ENTRY)).toEqual(granted);
    // Retried at the longest delay (one hour by default, jittered over its upper half) from the
    // first failure on, not after a minute.
    const status = (await ledger.loadStatus(ENTRY))!;
    expect(status.needsPermission).toBe(false);
    expect(status.nextAttemptAt! - before).toBeGreaterThanOrEqual(30 * 60_000);
    expect(status.nextAttemptAt! - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    const [waiting] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(waiting?.skipped).toBe('backoff');
    expect(fx.as.tokenRequests).toBe(requests + 1);

    // The administrator puts the right secret in: the next forced collection works.
    await fx.directory.setSettings(settings);
    await dovecot.seed(ACCOUNT, [testMessage(3)]);
    const [fixed] = await fetcher.collectNow({ mailboxId: ENTRY, force: true });
    expect(fixed).toMatchObject({ ok: true, result: { collected: 1 } });
    expect(needsPermission).toEqual([]);
    expect(logger.text()).not.toContain(fx.as.client.clientSecret);
  });
});
