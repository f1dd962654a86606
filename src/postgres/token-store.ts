import type { OAuthProviderName } from '../config/index.js';
import type { SecretBox } from '../crypto/index.js';
import type { OAuthTokenSet, PendingGrant, TokenStore } from '../ports/index.js';
import { parseGrantStarter } from '../stores/grant-starter.js';
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
  started_by: string | null;
}

/**
 * The {@link TokenStore} over the `oauth_tokens`, `pending_grants` and `oauth_refresh_leases`
 * tables, sealed exactly as in the SQLite store: access and refresh tokens and PKCE verifiers
 * encrypted, a grant's `state` stored only as a hash. `takePendingGrant` is one
 * `DELETE … RETURNING`: a state works once, whichever worker answers the callback; a refresh
 * lease is one conditional upsert; the conditional delete locks the row it compares.
 */
export function postgresTokenStore(db: Db, t: Tables, box: SecretBox): TokenStore {
  const toGrant = (state: string, row: GrantRow): PendingGrant => ({
    state,
    codeVerifier: box.open(row.code_verifier, sealingContext.grantVerifier(row.state_hash)),
    userId: row.user_id,
    mailboxId: row.mailbox_id,
    provider: row.provider as OAuthProviderName,
    redirectUri: row.redirect_uri,
    expiresAt: Number(row.expires_at),
    startedBy: parseGrantStarter(row.started_by, row.user_id),
  });
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
          `INSERT INTO ${t.grants} (state_hash, code_verifier, user_id, mailbox_id, provider, redirect_uri, expires_at, started_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (state_hash) DO UPDATE SET code_verifier = excluded.code_verifier, user_id = excluded.user_id,
             mailbox_id = excluded.mailbox_id, provider = excluded.provider, redirect_uri = excluded.redirect_uri,
             expires_at = excluded.expires_at, started_by = excluded.started_by`,
          [
            stateHash,
            box.seal(grant.codeVerifier, sealingContext.grantVerifier(stateHash)),
            grant.userId,
            grant.mailboxId,
            grant.provider,
            grant.redirectUri,
            grant.expiresAt,
            JSON.stringify(grant.startedBy),
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
        return row ? toGrant(state, row) : undefined;
      }),
    findPendingGrant: (state) =>
      guarded('reading a pending grant', async () => {
        const { rows } = await db.query<GrantRow>(`SELECT * FROM ${t.grants} WHERE state_hash = $1`, [
          hashGrantState(state),
        ]);
        const row = rows[0];
        return row ? toGrant(state, row) : undefined;
      }),
    purgeExpiredGrants: (now) =>
      guarded('purging expired pending grants', async () => {
        const { rowCount } = await db.query(`DELETE FROM ${t.grants} WHERE expires_at < $1`, [now]);
        return rowCount ?? 0;
      }),
    deleteTokensIfRefreshToken: (mailboxId, refreshToken) =>
      guarded('deleting OAuth tokens', () =>
        // The refresh token is sealed with a random nonce: compare the opened value, row locked.
        db.transaction(async (query) => {
          const { rows } = await query<{ refresh_token: string | null }>(
            `SELECT refresh_token FROM ${t.tokens} WHERE mailbox_id = $1 FOR UPDATE`,
            [mailboxId],
          );
          const sealed = rows[0]?.refresh_token;
          if (sealed == null) return false;
          if (box.open(sealed, sealingContext.token(mailboxId, 'refresh')) !== refreshToken) return false;
          await query(`DELETE FROM ${t.tokens} WHERE mailbox_id = $1`, [mailboxId]);
          return true;
        }),
      ),
    acquireRefreshLease: (mailboxId, holder, now, ttlMs) =>
      guarded('taking a refresh lease', async () => {
        const { rows } = await db.query(
          `INSERT INTO ${t.refreshLeases} AS held (mailbox_id, holder, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (mailbox_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE held.holder = excluded.holder OR held.expires_at <= $4
           RETURNING holder`,
          [mailboxId, holder, now + ttlMs, now],
        );
        return rows.length > 0;
      }),
    releaseRefreshLease: (mailboxId, holder) =>
      guarded('releasing a refresh lease', async () => {
        await db.query(`DELETE FROM ${t.refreshLeases} WHERE mailbox_id = $1 AND holder = $2`, [
          mailboxId,
          holder,
        ]);
      }),
  };
}
