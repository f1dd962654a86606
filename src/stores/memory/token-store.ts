import type { OAuthTokenSet, PendingGrant, TokenStore } from '../../ports/index.js';

/**
 * An in-memory {@link TokenStore}: for tests and short-lived embeds (tokens are lost on
 * restart, so every user must grant permission again). `takePendingGrant` returns a grant once;
 * an expired grant is still returned — the caller checks `expiresAt`, so it can tell "expired"
 * from "unknown" in its error. Values are copied in and out. Every method does its work in one
 * synchronous step, so the compare-and-set operations (leases, conditional delete) are atomic
 * within the process — the only one that can see this store.
 *
 * @example
 * ```ts
 * const tokens = memoryTokenStore();
 * await tokens.setTokens('gmail-ann', { accessToken: 'ya29…', refreshToken: '1//…', expiresAt: Date.now() + 3_600_000 });
 * ```
 */
export function memoryTokenStore(): TokenStore {
  const tokenSets = new Map<string, OAuthTokenSet>();
  const grants = new Map<string, PendingGrant>();
  const leases = new Map<string, { holder: string; until: number }>();
  const copyGrant = (grant: PendingGrant): PendingGrant => ({ ...grant, startedBy: { ...grant.startedBy } });

  return {
    async getTokens(mailboxId) {
      const tokens = tokenSets.get(mailboxId);
      return tokens ? { ...tokens } : undefined;
    },
    async setTokens(mailboxId, tokens) {
      tokenSets.set(mailboxId, { ...tokens });
    },
    async deleteTokens(mailboxId) {
      tokenSets.delete(mailboxId);
    },
    async deleteTokensIfRefreshToken(mailboxId, refreshToken) {
      if (tokenSets.get(mailboxId)?.refreshToken !== refreshToken) return false;
      tokenSets.delete(mailboxId);
      return true;
    },
    async putPendingGrant(grant) {
      grants.set(grant.state, copyGrant(grant));
    },
    async findPendingGrant(state) {
      const grant = grants.get(state);
      return grant ? copyGrant(grant) : undefined;
    },
    async takePendingGrant(state) {
      // Read and delete in one synchronous step: two callbacks with the same state cannot both win.
      const grant = grants.get(state);
      grants.delete(state);
      return grant ? copyGrant(grant) : undefined;
    },
    async purgeExpiredGrants(now) {
      let purged = 0;
      for (const [state, grant] of grants) {
        if (grant.expiresAt < now) {
          grants.delete(state);
          purged += 1;
        }
      }
      return purged;
    },
    async acquireRefreshLease(mailboxId, holder, now, ttlMs) {
      const held = leases.get(mailboxId);
      if (held && held.holder !== holder && held.until > now) return false;
      leases.set(mailboxId, { holder, until: now + ttlMs });
      return true;
    },
    async releaseRefreshLease(mailboxId, holder) {
      if (leases.get(mailboxId)?.holder === holder) leases.delete(mailboxId);
    },
  };
}
