import type { OAuthTokenSet, PendingGrant, TokenStore } from '../../ports/index.js';

/**
 * An in-memory {@link TokenStore}: for tests and short-lived embeds (tokens are lost on
 * restart, so every user must grant permission again). `takePendingGrant` returns a grant once;
 * an expired grant is still returned — the caller checks `expiresAt`, so it can tell "expired"
 * from "unknown" in its error. Values are copied in and out.
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
    async putPendingGrant(grant) {
      grants.set(grant.state, { ...grant });
    },
    async takePendingGrant(state) {
      // Read and delete in one synchronous step: two callbacks with the same state cannot both win.
      const grant = grants.get(state);
      grants.delete(state);
      return grant ? { ...grant } : undefined;
    },
  };
}
