import type { SecretBox } from '../crypto/index.js';
import type { TokenStore } from '../ports/index.js';
import { hashGrantState } from '../stores/sealed-fields.js';
import { type GrantRow, sealedRows, type TokenRow } from '../stores/sealed-rows.js';
import type { Db } from './db.js';
import { guarded } from './guard.js';
import type { Tables } from './tables.js';

/**
 * The {@link TokenStore} over the `oauth_tokens`, `pending_grants` and `oauth_refresh_leases`
 * tables, sealed exactly as in the SQLite store: access and refresh tokens and PKCE verifiers
 * encrypted, a grant's `state` stored only as a hash. `takePendingGrant` is one
 * `DELETE … RETURNING`: a state works once, whichever worker answers the callback; a refresh
 * lease is one conditional upsert; the conditional delete locks the row it compares.
 */
export function postgresTokenStore(db: Db, t: Tables, box: SecretBox): TokenStore {
  const rows = sealedRows(box);
  return {
    getTokens: (mailboxId) =>
      guarded('reading OAuth tokens', async () => {
        const found = await db.query<TokenRow>(`SELECT * FROM ${t.tokens} WHERE mailbox_id = $1`, [
          mailboxId,
        ]);
        const row = found.rows[0];
        return row ? rows.tokensFromRow(mailboxId, row) : undefined;
      }),
    setTokens: (mailboxId, tokens) =>
      guarded('saving OAuth tokens', async () => {
        await db.query(
          `INSERT INTO ${t.tokens} (mailbox_id, access_token, refresh_token, expires_at, scope, token_type)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (mailbox_id) DO UPDATE SET access_token = excluded.access_token,
             refresh_token = excluded.refresh_token, expires_at = excluded.expires_at,
             scope = excluded.scope, token_type = excluded.token_type`,
          [mailboxId, ...Object.values(rows.tokensToRow(mailboxId, tokens))],
        );
      }),
    deleteTokens: (mailboxId) =>
      guarded('deleting OAuth tokens', async () => {
        await db.query(`DELETE FROM ${t.tokens} WHERE mailbox_id = $1`, [mailboxId]);
      }),
    putPendingGrant: (grant) =>
      guarded('saving a pending grant', async () => {
        await db.query(
          `INSERT INTO ${t.grants} (state_hash, code_verifier, user_id, mailbox_id, provider, redirect_uri, expires_at, started_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (state_hash) DO UPDATE SET code_verifier = excluded.code_verifier, user_id = excluded.user_id,
             mailbox_id = excluded.mailbox_id, provider = excluded.provider, redirect_uri = excluded.redirect_uri,
             expires_at = excluded.expires_at, started_by = excluded.started_by`,
          Object.values(rows.grantToRow(grant)),
        );
      }),
    takePendingGrant: (state) =>
      guarded('taking a pending grant', async () => {
        const taken = await db.query<GrantRow>(`DELETE FROM ${t.grants} WHERE state_hash = $1 RETURNING *`, [
          hashGrantState(state),
        ]);
        const row = taken.rows[0];
        return row ? rows.grantFromRow(state, row) : undefined;
      }),
    findPendingGrant: (state) =>
      guarded('reading a pending grant', async () => {
        const found = await db.query<GrantRow>(`SELECT * FROM ${t.grants} WHERE state_hash = $1`, [
          hashGrantState(state),
        ]);
        const row = found.rows[0];
        return row ? rows.grantFromRow(state, row) : undefined;
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
          const locked = await query<{ refresh_token: string | null }>(
            `SELECT refresh_token FROM ${t.tokens} WHERE mailbox_id = $1 FOR UPDATE`,
            [mailboxId],
          );
          if (!rows.isRefreshToken(mailboxId, locked.rows[0]?.refresh_token, refreshToken)) return false;
          await query(`DELETE FROM ${t.tokens} WHERE mailbox_id = $1`, [mailboxId]);
          return true;
        }),
      ),
    acquireRefreshLease: (mailboxId, holder, now, ttlMs) =>
      guarded('taking a refresh lease', async () => {
        const taken = await db.query(
          `INSERT INTO ${t.refreshLeases} AS held (mailbox_id, holder, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (mailbox_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE held.holder = excluded.holder OR held.expires_at <= $4
           RETURNING holder`,
          [mailboxId, holder, now + ttlMs, now],
        );
        return taken.rows.length > 0;
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
