import type { SecretBox } from '../crypto/index.js';
import type { TokenStore } from '../ports/index.js';
import { hashGrantState as hashState } from '../stores/sealed-fields.js';
import { type GrantRow, sealedRows, type TokenRow } from '../stores/sealed-rows.js';
import type { SqliteDatabase } from './driver.js';
import { guarded } from './guard.js';

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
  const rows = sealedRows(box);
  const statements = {
    get: db.prepare<[string], TokenRow>('SELECT * FROM oauth_tokens WHERE mailbox_id = ?'),
    set: db.prepare<[TokenRow & { mailbox_id: string }]>(
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
    if (!rows.isRefreshToken(mailboxId, statements.get.get(mailboxId)?.refresh_token, refreshToken))
      return false;
    statements.delete.run(mailboxId);
    return true;
  });

  return {
    getTokens: (mailboxId) =>
      guarded('reading OAuth tokens', () => {
        const row = statements.get.get(mailboxId);
        return row ? rows.tokensFromRow(mailboxId, row) : undefined;
      }),
    setTokens: (mailboxId, tokens) =>
      guarded('saving OAuth tokens', () => {
        statements.set.run({ mailbox_id: mailboxId, ...rows.tokensToRow(mailboxId, tokens) });
      }),
    deleteTokens: (mailboxId) =>
      guarded('deleting OAuth tokens', () => {
        statements.delete.run(mailboxId);
      }),
    deleteTokensIfRefreshToken: (mailboxId, refreshToken) =>
      guarded('deleting OAuth tokens', () => deleteIf.immediate(mailboxId, refreshToken)),
    putPendingGrant: (grant) =>
      guarded('saving a pending grant', () => {
        statements.putGrant.run(rows.grantToRow(grant));
      }),
    findPendingGrant: (state) =>
      guarded('reading a pending grant', () => {
        const row = statements.findGrant.get(hashState(state));
        return row ? rows.grantFromRow(state, row) : undefined;
      }),
    takePendingGrant: (state) =>
      guarded('taking a pending grant', () => {
        const row = take.immediate(hashState(state));
        return row ? rows.grantFromRow(state, row) : undefined;
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
