/**
 * `multipop/postgres`: the store for a fleet of collectors (or a host that already runs
 * PostgreSQL) — directory, ledger and token store in one schema, secrets encrypted, group
 * commit, and mailbox leases with fencing tokens. Needs the optional peer dependency pg 8.
 *
 * @packageDocumentation
 * @module multipop/postgres
 */
export { generateStoreKey } from '../crypto/index.js';
export type { PostgresCounters } from './db.js';
export type { Fence, PostgresLedger } from './ledger.js';
export {
  openPostgresStore,
  PG_SCHEMA_VERSION,
  type PostgresStore,
  type PostgresStoreOptions,
} from './store.js';
