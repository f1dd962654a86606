import type { OAuthProviderName } from '../config/index.js';
import type { SecretBox } from '../crypto/index.js';
import type { OAuthTokenSet, PendingGrant, TokenStore } from '../ports/index.js';
import { parseGrantStarter } from '../stores/grant-starter.js';
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
  started_by: string | null;
}

interface LeaseRow {
  holder: string;
  expires_at: number;
}

/**
 * The {@link TokenStore} over the store's `oauth_tokens`, `pending_grants` and
 * `oauth_refresh_leases` tables. Access and refresh tokens and PKCE verifiers are sealed; a
 * grant's `state` is stored only as a hash. Every compare-and-set (taking a grant, a lease, the
 * conditional delete) is one `IMMEDIATE` transaction, so it holds across the processes that
 * share the file. Expired grants are returned too (the caller checks).
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
      `INSERT OR REPLACE INTO pending_grants (state_hash, code_verifier, user_id, mailbox_id, provider, redirect_uri, expires_at, started_by)
       VALUES (@state_hash, @code_verifier, @user_id, @mailbox_id, @provider, @redirect_uri, @expires_at, @started_by)`,
    ),
    findGrant: db.prepare<[string], GrantRow>('SELECT * FROM pending_grants WHERE state_hash = ?'),
    takeGrant: db.prepare<[string], GrantRow>('DELETE FROM pending_grants WHERE state_hash = ? RETURNING *'),
    purgeGrants: db.prepare<[number]>('DELETE FROM pending_grants WHERE expires_at < ?'),
    getLease: db.prepare<[string], LeaseRow>(
      'SELECT holder, expires_at FROM oauth_refresh_leases WHERE mailbox_id = ?',
    ),
    putLease: db.prepare<[string, string, number]>(
      'INSERT OR REPLACE INTO oauth_refresh_leases (mailbox_id, holder, expires_at) VALUES (?, ?, ?)',
    ),
    dropLease: db.prepare<[string, string]>(
      'DELETE FROM oauth_refresh_leases WHERE mailbox_id = ? AND holder = ?',
    ),
  };
  const take = db.transaction((stateHash: string) => statements.takeGrant.get(stateHash));
  const acquire = db.transaction((mailboxId: string, holder: string, now: number, ttlMs: number) => {
    const held = statements.getLease.get(mailboxId);
    if (held && held.holder !== holder && held.expires_at > now) return false;
    statements.putLease.run(mailboxId, holder, now + ttlMs);
    return true;
  });
  // The refresh token is sealed with a random nonce: compare the opened value, inside the lock.
  const deleteIf = db.transaction((mailboxId: string, refreshToken: string) => {
    const row = statements.get.get(mailboxId);
    if (row?.refresh_token == null) return false;
    if (box.open(row.refresh_token, tokenContext(mailboxId, 'refresh')) !== refreshToken) return false;
    statements.delete.run(mailboxId);
    return true;
  });

  const toGrant = (state: string, row: GrantRow): PendingGrant => ({
    state,
    codeVerifier: box.open(row.code_verifier, grantContext(row.state_hash)),
    userId: row.user_id,
    mailboxId: row.mailbox_id,
    provider: row.provider as OAuthProviderName,
    redirectUri: row.redirect_uri,
    expiresAt: row.expires_at,
    startedBy: parseGrantStarter(row.started_by, row.user_id),
  });

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
    deleteTokensIfRefreshToken: (mailboxId, refreshToken) =>
      guarded('deleting OAuth tokens', () => deleteIf.immediate(mailboxId, refreshToken)),
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
          started_by: JSON.stringify(grant.startedBy),
        });
      }),
    findPendingGrant: (state) =>
      guarded('reading a pending grant', () => {
        const row = statements.findGrant.get(hashState(state));
        return row ? toGrant(state, row) : undefined;
      }),
    takePendingGrant: (state) =>
      guarded('taking a pending grant', () => {
        const row = take.immediate(hashState(state));
        return row ? toGrant(state, row) : undefined;
      }),
    purgeExpiredGrants: (now) =>
      guarded('purging expired pending grants', () => statements.purgeGrants.run(now).changes),
    acquireRefreshLease: (mailboxId, holder, now, ttlMs) =>
      guarded('taking a refresh lease', () => acquire.immediate(mailboxId, holder, now, ttlMs)),
    releaseRefreshLease: (mailboxId, holder) =>
      guarded('releasing a refresh lease', () => {
        statements.dropLease.run(mailboxId, holder);
      }),
  };
}

const tokenContext = sealingContext.token;
const grantContext = sealingContext.grantVerifier;
