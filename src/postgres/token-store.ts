import type { OAuthProviderName } from '../config/index.js';
import type { SecretBox } from '../crypto/index.js';
import type { OAuthTokenSet, PendingGrant, TokenStore } from '../ports/index.js';
import { hashGrantState, sealingContext } from '../stores/sealed-fields.js';
import type { Db } from './db.js';
import { guarded } from './guard.js';
import type { Tables } from './tables.js';

interface TokenRow {
  access_token: string;
  refresh_token: string | null;
  expires_at: string | null;
  scope: string | null;
  token_type: string | null;
}

interface GrantRow {
  state_hash: string;
  code_verifier: string;
  user_id: string;
  mailbox_id: string;
  provider: string;
  redirect_uri: string;
  expires_at: string;
}

/**
 * The {@link TokenStore} over the `oauth_tokens` and `pending_grants` tables, sealed exactly as
 * in the SQLite store: access and refresh tokens and PKCE verifiers encrypted, a grant's
 * `state` stored only as a hash. `takePendingGrant` is one `DELETE … RETURNING`: a state works
 * once, whichever worker answers the callback.
 */
export function postgresTokenStore(db: Db, t: Tables, box: SecretBox): TokenStore {
  return {
    getTokens: (mailboxId) =>
      guarded('reading OAuth tokens', async () => {
        const { rows } = await db.query<TokenRow>(`SELECT * FROM ${t.tokens} WHERE mailbox_id = $1`, [
          mailboxId,
        ]);
        const row = rows[0];
        if (!row) return undefined;
        const tokens: OAuthTokenSet = {
          accessToken: box.open(row.access_token, sealingContext.token(mailboxId, 'access')),
        };
        if (row.refresh_token !== null)
          tokens.refreshToken = box.open(row.refresh_token, sealingContext.token(mailboxId, 'refresh'));
        if (row.expires_at !== null) tokens.expiresAt = Number(row.expires_at);
        if (row.scope !== null) tokens.scope = row.scope;
        if (row.token_type !== null) tokens.tokenType = row.token_type;
        return tokens;
      }),
    setTokens: (mailboxId, tokens) =>
      guarded('saving OAuth tokens', async () => {
        await db.query(
          `INSERT INTO ${t.tokens} (mailbox_id, access_token, refresh_token, expires_at, scope, token_type)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (mailbox_id) DO UPDATE SET access_token = excluded.access_token,
             refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
             scope = excluded.scope, token_type = excluded.token_type`,
          [
            mailboxId,
            box.seal(tokens.accessToken, sealingContext.token(mailboxId, 'access')),
            tokens.refreshToken === undefined
              ? null
              : box.seal(tokens.refreshToken, sealingContext.token(mailboxId, 'refresh')),
            tokens.expiresAt ?? null,
            tokens.scope ?? null,
            tokens.tokenType ?? null,
          ],
        );
      }),
    deleteTokens: (mailboxId) =>
      guarded('deleting OAuth tokens', async () => {
        await db.query(`DELETE FROM ${t.tokens} WHERE mailbox_id = $1`, [mailboxId]);
      }),
    putPendingGrant: (grant) =>
      guarded('saving a pending grant', async () => {
        const stateHash = hashGrantState(grant.state);
        await db.query(
          `INSERT INTO ${t.grants} (state_hash, code_verifier, user_id, mailbox_id, provider, redirect_uri, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (state_hash) DO UPDATE SET code_verifier = excluded.code_verifier, user_id = excluded.user_id,
             mailbox_id = excluded.mailbox_id, provider = excluded.provider, redirect_uri = excluded.redirect_uri,
             expires_at = excluded.expires_at`,
          [
            stateHash,
            box.seal(grant.codeVerifier, sealingContext.grantVerifier(stateHash)),
            grant.userId,
            grant.mailboxId,
            grant.provider,
            grant.redirectUri,
            grant.expiresAt,
          ],
        );
      }),
    takePendingGrant: (state) =>
      guarded('taking a pending grant', async () => {
        const { rows } = await db.query<GrantRow>(
          `DELETE FROM ${t.grants} WHERE state_hash = $1 RETURNING *`,
          [hashGrantState(state)],
        );
        const row = rows[0];
        if (!row) return undefined;
        const grant: PendingGrant = {
          state,
          codeVerifier: box.open(row.code_verifier, sealingContext.grantVerifier(row.state_hash)),
          userId: row.user_id,
          mailboxId: row.mailbox_id,
          provider: row.provider as OAuthProviderName,
          redirectUri: row.redirect_uri,
          expiresAt: Number(row.expires_at),
        };
        return grant;
      }),
  };
}
