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
  ...overrides,
});

/**
 * The {@link TokenStore} contract: token sets per mailbox (get, set replaces, delete), and
 * pending grants that `takePendingGrant` hands out **once** — also to two concurrent callers.
 * An expired grant is still returned: the caller checks `expiresAt` (so it can report
 * "expired" rather than "unknown"). Values are copies both ways.
 *
 * @example
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
