/**
 * The whole product path for an OAuth mailbox: oidc-provider as the provider, the "Grant
 * permission" journey through the fetcher's webmail operations, Dovecot checking every token at
 * the provider's introspection endpoint, and MultiPopFetcher collecting into a queue — then
 * token expiry (refresh), revocation (needs permission, paused), and a new grant (resumed).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CollectorEvents } from '../../src/collect/events.js';
import { parseMailboxEntry } from '../../src/config/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import {
  capturingLogger,
  DOMAIN,
  dovecotOAuth2,
  GENERIC_ACCOUNT,
  type OAuthFixture,
  startOAuthFixture,
  USER,
} from '../auth/support/oauth-fixture.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { seqOf, testMessage } from '../support/messages.js';

const ENTRY = 'corp-oauth';
const TTL_SECONDS = 2;

describeWithDovecot('MultiPopFetcher collecting an OAuth mailbox (oidc-provider + Dovecot)', () => {
  let fx: OAuthFixture;
  let dovecot: DovecotServer;
  let fetcher: MultiPopFetcher;
  const queue = memoryQueue();
  const ledger = memoryLedger();
  const logger = capturingLogger();
  const needsPermission: CollectorEvents['mailbox:needs-permission'][] = [];
  const user = { role: 'user', userId: USER } as const;

  async function grantThroughFetcher() {
    const { url } = await fetcher.beginGrant(user, { mailboxId: ENTRY, domain: DOMAIN });
    const callback = await fx.as.authorize(url, { account: GENERIC_ACCOUNT });
    return fetcher.completeGrant(user, callback);
  }

  beforeAll(async () => {
    fx = await startOAuthFixture({ server: { accessTokenTtlSeconds: TTL_SECONDS } });
    dovecot = await startDovecot({
      users: [{ name: GENERIC_ACCOUNT, password: 'not-used-with-oauth' }],
      oauth2: dovecotOAuth2(fx),
    });
    await fx.directory.putEntry(
      USER,
      parseMailboxEntry({
        id: ENTRY,
        server: `127.0.0.1:${dovecot.popsPort}`,
        tls: 'implicit',
        username: GENERIC_ACCOUNT,
        auth: 'oauth',
        oauthProvider: 'generic',
      }),
    );
    // The user may grant permission from webmail (S1 and U1 on).
    const ann = (await fx.directory.getUser(USER))!;
    await fx.directory.putUser({ id: ann.id, enabled: true, mayEditSettings: true });
    fetcher = new MultiPopFetcher({
      directory: fx.directory,
      ledger,
      queue,
      tokens: fx.tokens,
      logger,
      oauth: { allowInsecureRequests: true, refreshSkewMs: 0 },
      connection: { tlsOptions: { ca: dovecot.caPem } },
    });
    fetcher.on('mailbox:needs-permission', (e) => needsPermission.push(e));
  });
  afterAll(async () => {
    await fetcher?.stop();
    await dovecot?.stop();
    await fx?.stop();
  });

  it('grant → collect → expiry and refresh → revoke → needs permission → grant again → collect', async () => {
    // Before any grant there is no token: the entry cannot be collected.
    const [before] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(before?.ok).toBe(false);
    expect(needsPermission.map((e) => e.mailboxId)).toEqual([ENTRY]);
    needsPermission.length = 0;

    expect(await grantThroughFetcher()).toEqual({ userId: USER, mailboxId: ENTRY });
    await dovecot.seed(GENERIC_ACCOUNT, [testMessage(1), testMessage(2)]);
    const [first] = await fetcher.collectNow({ mailboxId: ENTRY, force: true });
    expect(first).toMatchObject({ ok: true, result: { collected: 2, deleted: 2 } });
    expect(queue.messages.map((m) => seqOf(m.content))).toEqual([1, 2]);
    expect(queue.messages[0]!.content.subarray(-testMessage(1).length).equals(testMessage(1))).toBe(true);

    // The access token lives two seconds; the next collection refreshes it.
    await sleep((TTL_SECONDS + 1) * 1000);
    await dovecot.seed(GENERIC_ACCOUNT, [testMessage(3)]);
    const requestsBefore = fx.as.tokenRequests;
    const [second] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(second).toMatchObject({ ok: true, result: { collected: 1 } });
    expect(fx.as.tokenRequests).toBeGreaterThan(requestsBefore);

    // The user revokes access at the provider: the entry needs permission again and pauses.
    await fx.as.revokeGrants(GENERIC_ACCOUNT);
    await sleep((TTL_SECONDS + 1) * 1000);
    await dovecot.seed(GENERIC_ACCOUNT, [testMessage(4)]);
    const [revoked] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(revoked?.error?.code).toBe('OAUTH_NEEDS_PERMISSION');
    expect(needsPermission.map((e) => e.mailboxId)).toEqual([ENTRY]);
    expect((await fetcher.statistics(ENTRY))?.needsPermission).toBe(true);
    const [paused] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(paused?.skipped).toBe('needs-permission');
    expect(await dovecot.messages(GENERIC_ACCOUNT)).toHaveLength(1);

    // A new grant resumes collection.
    await grantThroughFetcher();
    expect((await fetcher.statistics(ENTRY))?.needsPermission).toBe(false);
    const [resumed] = await fetcher.collectNow({ mailboxId: ENTRY });
    expect(resumed).toMatchObject({ ok: true, result: { collected: 1 } });
    expect(queue.messages.map((m) => seqOf(m.content))).toEqual([1, 2, 3, 4]);
    expect(await dovecot.messages(GENERIC_ACCOUNT)).toHaveLength(0);

    // No token or client secret reached the log.
    const stored = await fx.tokens.getTokens(ENTRY);
    const text = logger.text();
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [stored!.accessToken, stored!.refreshToken!, 'corp-app-secret-0123456789']) {
      expect(text).not.toContain(secret);
    }
  });
});
