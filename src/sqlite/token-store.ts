import type { OAuthProviderName } from '../config/index.js';
import type { SecretBox } from '../crypto/index.js';
import type { OAuthTokenSet, PendingGrant, TokenStore } from '../ports/index.js';
import { hashGrantState as hashState, sealingContext } from '../stores/sealed-fields.js';
import type { SqliteDatabase } from './driver.js';
import { guarded } from './guard.js';

interface TokenRow {
  mailbox_id: string;
  access_token: string;
  refresh_token: string | null;
  expires_at: number | null;
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
  expires_at: number;
}

/**
 * The {@link TokenStore} over the store's `oauth_tokens` and `pending_grants` tables. Access and
 * refresh tokens and PKCE verifiers are sealed; a grant's `state` is stored only as a hash.
 * `takePendingGrant` is one `DELETE … RETURNING` in a transaction: a state works once, even
 * with two processes answering callbacks. Expired grants are returned too (the caller checks).
 */
export function sqliteTokenStore(db: SqliteDatabase, box: SecretBox): TokenStore {
  const statements = {
    get: db.prepare<[string], TokenRow>('SELECT * FROM oauth_tokens WHERE mailbox_id = ?'),
    set: db.prepare<[TokenRow]>(
      `INSERT OR REPLACE INTO oauth_tokens (mailbox_id, access_token, refresh_token, expires_at, scope, token_type)
       VALUES (@mailbox_id, @access_token, @refresh_token, @expires_at, @scope, @token_type)`,
    ),
    delete: db.prepare<[string]>('DELETE FROM oauth_tokens WHERE mailbox_id = ?'),
    putGrant: db.prepare<[GrantRow]>(
      `INSERT OR REPLACE INTO pending_grants (state_hash, code_verifier, user_id, mailbox_id, provider, redirect_uri, expires_at)
       VALUES (@state_hash, @code_verifier, @user_id, @mailbox_id, @provider, @redirect_uri, @expires_at)`,
    ),
    takeGrant: db.prepare<[string], GrantRow>('DELETE FROM pending_grants WHERE state_hash = ? RETURNING *'),
  };
  const take = db.transaction((stateHash: string) => statements.takeGrant.get(stateHash));

  return {
    getTokens: (mailboxId) =>
      guarded('reading OAuth tokens', () => {
        const row = statements.get.get(mailboxId);
        if (!row) return undefined;
        const tokens: OAuthTokenSet = {
          accessToken: box.open(row.access_token, tokenContext(mailboxId, 'access')),
        };
        if (row.refresh_token !== null)
          tokens.refreshToken = box.open(row.refresh_token, tokenContext(mailboxId, 'refresh'));
        if (row.expires_at !== null) tokens.expiresAt = row.expires_at;
        if (row.scope !== null) tokens.scope = row.scope;
        if (row.token_type !== null) tokens.tokenType = row.token_type;
        return tokens;
      }),
    setTokens: (mailboxId, tokens) =>
      guarded('saving OAuth tokens', () => {
        statements.set.run({
          mailbox_id: mailboxId,
          access_token: box.seal(tokens.accessToken, tokenContext(mailboxId, 'access')),
          refresh_token:
            tokens.refreshToken === undefined
              ? null
              : box.seal(tokens.refreshToken, tokenContext(mailboxId, 'refresh')),
          expires_at: tokens.expiresAt ?? null,
          scope: tokens.scope ?? null,
          token_type: tokens.tokenType ?? null,
        });
      }),
    deleteTokens: (mailboxId) =>
      guarded('deleting OAuth tokens', () => {
        statements.delete.run(mailboxId);
      }),
    putPendingGrant: (grant) =>
      guarded('saving a pending grant', () => {
        const stateHash = hashState(grant.state);
        statements.putGrant.run({
          state_hash: stateHash,
          code_verifier: box.seal(grant.codeVerifier, grantContext(stateHash)),
          user_id: grant.userId,
          mailbox_id: grant.mailboxId,
          provider: grant.provider,
          redirect_uri: grant.redirectUri,
          expires_at: grant.expiresAt,
        });
      }),
    takePendingGrant: (state) =>
      guarded('taking a pending grant', () => {
        const row = take.immediate(hashState(state));
        if (!row) return undefined;
        const grant: PendingGrant = {
          state,
          codeVerifier: box.open(row.code_verifier, grantContext(row.state_hash)),
          userId: row.user_id,
          mailboxId: row.mailbox_id,
          provider: row.provider as OAuthProviderName,
          redirectUri: row.redirect_uri,
          expiresAt: row.expires_at,
        };
        return grant;
      }),
  };
}

const tokenContext = sealingContext.token;
const grantContext = sealingContext.grantVerifier;
