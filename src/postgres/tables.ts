import { MultiPopError } from '../errors/index.js';

/** The store's tables, each qualified with the (quoted) schema name, ready for SQL text. */
export interface Tables {
  readonly schema: string;
  readonly meta: string;
  readonly schemaVersion: string;
  readonly settings: string;
  readonly users: string;
  readonly entries: string;
  readonly ledger: string;
  readonly status: string;
  readonly tokens: string;
  readonly grants: string;
  readonly leases: string;
  readonly refreshLeases: string;
}

/**
 * Table names in `schema`. The schema name becomes part of the SQL text (identifiers cannot be
 * parameters), so it is restricted to a plain identifier and then quoted.
 *
 * @throws MultiPopError `CONFIG_INVALID` for any other schema name.
 */
export function tablesIn(schema: string): Tables {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      'The PostgreSQL schema name must be a lower-case identifier (a–z, 0–9, _; up to 63 characters)',
      { field: 'schema' },
    );
  }
  const q = (table: string) => `"${schema}".${table}`;
  return {
    schema: `"${schema}"`,
    meta: q('meta'),
    schemaVersion: q('schema_version'),
    settings: q('settings'),
    users: q('users'),
    entries: q('entries'),
    ledger: q('ledger'),
    status: q('mailbox_status'),
    tokens: q('oauth_tokens'),
    grants: q('pending_grants'),
    leases: q('mailbox_leases'),
    refreshLeases: q('oauth_refresh_leases'),
  };
}
