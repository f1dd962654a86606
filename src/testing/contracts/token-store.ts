import type { OAuthTokenSet, PendingGrant, TokenStore } from '../../ports/index.js';
import { expect } from './expect.js';
import { type ContractFactory, toHarness, useSubject } from './harness.js';
import { type Contract, defineContract, describe, it } from './suite.js';

const tokenSet = (suffix = ''): OAuthTokenSet => ({
  accessToken: `ya29.access-token${suffix}`,
  refreshToken: `1//refresh-token${suffix}`,
  expiresAt: 1_900_000_000_000,
  scope: 'https://mail.google.com/',
  tokenType: 'Bearer',
});

const grant = (state: string, overrides: Partial<PendingGrant> = {}): PendingGrant => ({
  state,
  codeVerifier: `verifier-${state}-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG`,
  userId: 'ann@example.com',
  mailboxId: 'gmail-ann',
  provider: 'gmail',
  redirectUri: 'https://mail.example.com/oauth/callback',
  expiresAt: Date.now() + 600_000,
  startedBy: { role: 'user', userId: 'ann@example.com' },
  ...overrides,
});

/**
 * The {@link TokenStore} contract: token sets per mailbox (get, set replaces, delete, delete
 * only while the refresh token is unchanged), pending grants that `findPendingGrant` reads
 * without using up and `takePendingGrant` hands out **once** — also to two concurrent callers —
 * and that `purgeExpiredGrants` removes, and refresh leases that one holder at a time gets.
 * An expired grant is still returned: the caller checks `expiresAt` (so it can report
 * "expired" rather than "unknown"). Values are copies both ways.
 *
 * @example
 * <!-- doc-context declare const VaultTokenStore: new (vault: unknown) => TokenStore; declare function testVault(): unknown; -->
 * ```ts
 * import { runTokenStoreContract } from 'multipop/testing/vitest';
 * runTokenStoreContract('vault token store', () => new VaultTokenStore(testVault()));
 * ```
 */
export function tokenStoreContract<S extends TokenStore>(
  name: string,
  factory: ContractFactory<S>,
): Contract {
  return defineContract(() => tokenStoreCases(name, factory));
}

function tokenStoreCases<S extends TokenStore>(name: string, factory: ContractFactory<S>): void {
  const harness = toHarness(factory);

  describe(`TokenStore contract: ${name}`, () => {
    const store = useSubject(harness);

    it('returns undefined for a mailbox without tokens', async () => {
      expect(await store().getTokens('nobody')).toBeUndefined();
    });

    it('saves, replaces and deletes the token set of a mailbox', async () => {
      await store().setTokens('m1', tokenSet());
      expect(await store().getTokens('m1')).toEqual(tokenSet());
      const rotated = { accessToken: 'ya29.only-access' };
      await store().setTokens('m1', rotated);
      expect(await store().getTokens('m1')).toEqual(rotated);
      await store().deleteTokens('m1');
      expect(await store().getTokens('m1')).toBeUndefined();
      await store().deleteTokens('m1');
    });

    it('keeps mailboxes apart', async () => {
      await store().setTokens('m1', tokenSet('-1'));
      await store().setTokens('m2', tokenSet('-2'));
      await store().deleteTokens('m1');
      expect(await store().getTokens('m2')).toEqual(tokenSet('-2'));
    });

    it('copies token sets both ways', async () => {
      const tokens = tokenSet();
      await store().setTokens('m1', tokens);
      tokens.accessToken = 'changed';
      const loaded = await store().getTokens('m1');
      expect(loaded?.accessToken).toBe('ya29.access-token');
      loaded!.refreshToken = 'changed';
      expect((await store().getTokens('m1'))?.refreshToken).toBe('1//refresh-token');
    });

    it('hands out a pending grant once', async () => {
      await store().putPendingGrant(grant('state-1'));
      expect(await store().takePendingGrant('state-1')).toEqual(
        grant('state-1', { expiresAt: expect.any(Number) }),
      );
      expect(await store().takePendingGrant('state-1')).toBeUndefined();
    });

    it('returns the grant exactly as saved', async () => {
      const saved = grant('state-exact', { provider: 'microsoft', expiresAt: 1_234_567 });
      await store().putPendingGrant(saved);
      expect(await store().takePendingGrant('state-exact')).toEqual(saved);
    });

    it('returns undefined for an unknown state, and does not touch other grants', async () => {
      await store().putPendingGrant(grant('state-a'));
      expect(await store().takePendingGrant('state-unknown')).toBeUndefined();
      expect((await store().takePendingGrant('state-a'))?.state).toBe('state-a');
    });

    it('gives a grant to only one of two concurrent takers', async () => {
      await store().putPendingGrant(grant('state-race'));
      const results = await Promise.all([
        store().takePendingGrant('state-race'),
        store().takePendingGrant('state-race'),
      ]);
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    });

    it('still returns an expired grant (the caller checks expiresAt)', async () => {
      const expired = grant('state-old', { expiresAt: Date.now() - 60_000 });
      await store().putPendingGrant(expired);
      expect(await store().takePendingGrant('state-old')).toEqual(expired);
    });

    it('replaces a grant saved again under the same state', async () => {
      await store().putPendingGrant(grant('state-1', { mailboxId: 'first' }));
      await store().putPendingGrant(grant('state-1', { mailboxId: 'second' }));
      expect((await store().takePendingGrant('state-1'))?.mailboxId).toBe('second');
      expect(await store().takePendingGrant('state-1')).toBeUndefined();
    });

    it('copies grants in', async () => {
      const saved = grant('state-copy');
      await store().putPendingGrant(saved);
      saved.codeVerifier = 'changed';
      expect((await store().takePendingGrant('state-copy'))?.codeVerifier).toBe(
        grant('state-copy').codeVerifier,
      );
    });

    it('keeps who started a grant, a user or an administrator', async () => {
      const byAdmin = grant('state-admin', { startedBy: { role: 'admin', adminId: 'root' } });
      const byAnonymousAdmin = grant('state-admin-2', { startedBy: { role: 'admin' } });
      await store().putPendingGrant(byAdmin);
      await store().putPendingGrant(byAnonymousAdmin);
      expect(await store().takePendingGrant('state-admin')).toEqual(byAdmin);
      expect(await store().takePendingGrant('state-admin-2')).toEqual(byAnonymousAdmin);
    });

    it('reads a pending grant without using it up', async () => {
      const saved = grant('state-peek');
      await store().putPendingGrant(saved);
      expect(await store().findPendingGrant('state-peek')).toEqual(saved);
      expect(await store().findPendingGrant('state-peek')).toEqual(saved);
      expect(await store().findPendingGrant('state-other')).toBeUndefined();
      expect(await store().takePendingGrant('state-peek')).toEqual(saved);
      expect(await store().findPendingGrant('state-peek')).toBeUndefined();
    });

    it('purges the grants that expired before now, and only those', async () => {
      const now = 1_700_000_000_000;
      await store().putPendingGrant(grant('state-old-1', { expiresAt: now - 1 }));
      await store().putPendingGrant(grant('state-old-2', { expiresAt: now - 60_000 }));
      await store().putPendingGrant(grant('state-live', { expiresAt: now + 60_000 }));
      await store().putPendingGrant(grant('state-edge', { expiresAt: now }));
      expect(await store().purgeExpiredGrants(now)).toBe(2);
      expect(await store().findPendingGrant('state-old-1')).toBeUndefined();
      expect(await store().findPendingGrant('state-old-2')).toBeUndefined();
      expect((await store().findPendingGrant('state-live'))?.state).toBe('state-live');
      expect((await store().findPendingGrant('state-edge'))?.state).toBe('state-edge');
      expect(await store().purgeExpiredGrants(now)).toBe(0);
    });

    it('deletes tokens conditionally: only while the refresh token is the one given', async () => {
      await store().setTokens('m1', tokenSet('-old'));
      expect(await store().deleteTokensIfRefreshToken('m1', '1//someone-else')).toBe(false);
      expect(await store().getTokens('m1')).toEqual(tokenSet('-old'));
      // Another process stored a new grant: the clean-up of the old one must leave it alone.
      await store().setTokens('m1', tokenSet('-new'));
      expect(await store().deleteTokensIfRefreshToken('m1', tokenSet('-old').refreshToken!)).toBe(false);
      expect(await store().getTokens('m1')).toEqual(tokenSet('-new'));
      expect(await store().deleteTokensIfRefreshToken('m1', tokenSet('-new').refreshToken!)).toBe(true);
      expect(await store().getTokens('m1')).toBeUndefined();
      expect(await store().deleteTokensIfRefreshToken('m1', tokenSet('-new').refreshToken!)).toBe(false);
      await store().setTokens('m2', { accessToken: 'ya29.no-refresh-token' });
      expect(await store().deleteTokensIfRefreshToken('m2', 'anything')).toBe(false);
      expect((await store().getTokens('m2'))?.accessToken).toBe('ya29.no-refresh-token');
    });

    it('gives the refresh lease of an entry to one holder at a time', async () => {
      const now = 1_700_000_000_000;
      expect(await store().acquireRefreshLease('m1', 'process-a', now, 30_000)).toBe(true);
      expect(await store().acquireRefreshLease('m1', 'process-b', now + 1, 30_000)).toBe(false);
      // Another entry has its own lease; the holder may renew its own.
      expect(await store().acquireRefreshLease('m2', 'process-b', now, 30_000)).toBe(true);
      expect(await store().acquireRefreshLease('m1', 'process-a', now + 2, 30_000)).toBe(true);
      // Only the holder can give it back.
      await store().releaseRefreshLease('m1', 'process-b');
      expect(await store().acquireRefreshLease('m1', 'process-b', now + 3, 30_000)).toBe(false);
      await store().releaseRefreshLease('m1', 'process-a');
      expect(await store().acquireRefreshLease('m1', 'process-b', now + 4, 30_000)).toBe(true);
    });

    it('lets a lease whose holder vanished be taken over once it expired', async () => {
      const now = 1_700_000_000_000;
      expect(await store().acquireRefreshLease('m1', 'crashed', now, 30_000)).toBe(true);
      expect(await store().acquireRefreshLease('m1', 'survivor', now + 29_999, 30_000)).toBe(false);
      expect(await store().acquireRefreshLease('m1', 'survivor', now + 30_001, 30_000)).toBe(true);
      // The late release of the vanished holder does not free the survivor's lease.
      await store().releaseRefreshLease('m1', 'crashed');
      expect(await store().acquireRefreshLease('m1', 'third', now + 30_002, 30_000)).toBe(false);
    });

    it('gives a lease to only one of two concurrent holders', async () => {
      const now = 1_700_000_000_000;
      const results = await Promise.all([
        store().acquireRefreshLease('m-race', 'process-a', now, 30_000),
        store().acquireRefreshLease('m-race', 'process-b', now, 30_000),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it.skipIf(!harness.reopen, 'needs harness.reopen (close and open the same data again)')(
      'keeps tokens and pending grants across a reopen',
      async () => {
        const pending = grant('state-persist');
        await store().setTokens('m1', tokenSet());
        await store().putPendingGrant(pending);
        const reopened = await store.reopen!();
        expect(await reopened.getTokens('m1')).toEqual(tokenSet());
        expect(await reopened.takePendingGrant('state-persist')).toEqual(pending);
      },
    );
  });
}
