/**
 * The directory's and token store's rows as both SQL stores keep them (the same columns in
 * SQLite and PostgreSQL), turned into the port's values and back — every secret sealed on the
 * way in and opened on the way out with its field's {@link sealingContext}.
 */
import type { MailboxEntry, OAuthProviderName, ServerSettings, UserSettings } from '../config/index.js';
import { serverSettingsSchema } from '../config/index.js';
import type { SecretBox } from '../crypto/index.js';
import type { OAuthTokenSet, PendingGrant, UserFlags } from '../ports/index.js';
import { parseGrantStarter } from './grant-starter.js';
import { hashGrantState, mapClientSecrets, sealingContext } from './sealed-fields.js';

/** A number as a driver returns it: a number (SQLite), or a decimal string for a `bigint` (pg). */
type SqlNumber = number | string;

/** A row of the `entries` table: the entry as JSON, its password sealed apart. */
export interface EntryRow {
  id: string;
  user_id: string;
  json: string;
  password: string | null;
}

/** A row of the `users` table: the user's flags as JSON. */
export interface UserRow {
  id: string;
  flags: string;
}

/** A row of the `oauth_tokens` table (without its `mailbox_id`). */
export interface TokenRow {
  access_token: string;
  refresh_token: string | null;
  expires_at: SqlNumber | null;
  scope: string | null;
  token_type: string | null;
}

/** A row of the `pending_grants` table: the grant under the hash of its state. */
export interface GrantRow {
  state_hash: string;
  code_verifier: string;
  user_id: string;
  mailbox_id: string;
  provider: string;
  redirect_uri: string;
  expires_at: SqlNumber;
  started_by: string | null;
}

/**
 * The row codecs of one store, over its secret box.
 *
 * @example
 * ```ts
 * const rows = sealedRows(box);
 * const { json, password } = rows.entryColumns(entry); // password sealed for this entry id
 * rows.entryFromRow({ id: entry.id, user_id: 'ann', json, password }); // the entry again
 * ```
 */
export function sealedRows(box: SecretBox) {
  const entryFromRow = (row: EntryRow): MailboxEntry => {
    const entry = JSON.parse(row.json) as MailboxEntry;
    if (row.password !== null) entry.password = box.open(row.password, sealingContext.entryPassword(row.id));
    return entry;
  };
  const userFromRow = (row: Pick<UserRow, 'flags'>, entries: MailboxEntry[]): UserSettings => ({
    ...(JSON.parse(row.flags) as UserFlags),
    entries,
  });

  return {
    /** The stored settings (client secrets opened), or the defaults when none are stored. */
    settingsFromJson: (json: string | undefined): ServerSettings =>
      json === undefined
        ? serverSettingsSchema.parse({})
        : mapClientSecrets(JSON.parse(json) as ServerSettings, (secret, at) => box.open(secret, at)),
    /** The settings as stored: JSON, the OAuth client secrets sealed. */
    settingsToJson: (settings: ServerSettings): string =>
      JSON.stringify(mapClientSecrets(structuredClone(settings), (secret, at) => box.seal(secret, at))),

    entryFromRow,
    /** An entry's columns: everything but the password as JSON, the password sealed (or NULL). */
    entryColumns: (entry: MailboxEntry): { json: string; password: string | null } => {
      const { password, ...plain } = entry;
      return {
        json: JSON.stringify(plain),
        password: password === undefined ? null : box.seal(password, sealingContext.entryPassword(entry.id)),
      };
    },
    userFromRow,
    /** A user's flags as stored (its entries live in their own table). */
    userFlagsJson: (user: UserFlags): string => {
      const { entries: _ignored, ...flags } = user as UserFlags & { entries?: unknown };
      return JSON.stringify(flags);
    },
    /** Every user with its entries, both in stored order. */
    usersWithEntries: (users: readonly UserRow[], entryRows: readonly EntryRow[]): UserSettings[] => {
      const entries = new Map<string, MailboxEntry[]>();
      for (const row of entryRows) {
        const list = entries.get(row.user_id) ?? [];
        list.push(entryFromRow(row));
        entries.set(row.user_id, list);
      }
      return users.map((row) => userFromRow(row, entries.get(row.id) ?? []));
    },

    /** A mailbox's tokens from their row; columns that are NULL stay absent. */
    tokensFromRow: (mailboxId: string, row: TokenRow): OAuthTokenSet => {
      const tokens: OAuthTokenSet = {
        accessToken: box.open(row.access_token, sealingContext.token(mailboxId, 'access')),
      };
      if (row.refresh_token !== null)
        tokens.refreshToken = box.open(row.refresh_token, sealingContext.token(mailboxId, 'refresh'));
      if (row.expires_at !== null) tokens.expiresAt = Number(row.expires_at);
      if (row.scope !== null) tokens.scope = row.scope;
      if (row.token_type !== null) tokens.tokenType = row.token_type;
      return tokens;
    },
    /** A mailbox's tokens as stored: both tokens sealed, absent fields NULL, in column order. */
    tokensToRow: (mailboxId: string, tokens: OAuthTokenSet): TokenRow => ({
      access_token: box.seal(tokens.accessToken, sealingContext.token(mailboxId, 'access')),
      refresh_token:
        tokens.refreshToken === undefined
          ? null
          : box.seal(tokens.refreshToken, sealingContext.token(mailboxId, 'refresh')),
      expires_at: tokens.expiresAt ?? null,
      scope: tokens.scope ?? null,
      token_type: tokens.tokenType ?? null,
    }),
    /** Whether a sealed refresh token is this one (sealed with a random nonce: opened, then compared). */
    isRefreshToken: (mailboxId: string, sealed: string | null | undefined, refreshToken: string): boolean =>
      sealed != null && box.open(sealed, sealingContext.token(mailboxId, 'refresh')) === refreshToken,

    /** A pending grant from its row (the caller has the state the row is stored under). */
    grantFromRow: (state: string, row: GrantRow): PendingGrant => ({
      state,
      codeVerifier: box.open(row.code_verifier, sealingContext.grantVerifier(row.state_hash)),
      userId: row.user_id,
      mailboxId: row.mailbox_id,
      provider: row.provider as OAuthProviderName,
      redirectUri: row.redirect_uri,
      expiresAt: Number(row.expires_at),
      startedBy: parseGrantStarter(row.started_by, row.user_id),
    }),
    /** A pending grant as stored: under the hash of its state, the PKCE verifier sealed, in column order. */
    grantToRow: (grant: PendingGrant): GrantRow => {
      const stateHash = hashGrantState(grant.state);
      return {
        state_hash: stateHash,
        code_verifier: box.seal(grant.codeVerifier, sealingContext.grantVerifier(stateHash)),
        user_id: grant.userId,
        mailbox_id: grant.mailboxId,
        provider: grant.provider,
        redirect_uri: grant.redirectUri,
        expires_at: grant.expiresAt,
        started_by: JSON.stringify(grant.startedBy),
      };
    },
  };
}
