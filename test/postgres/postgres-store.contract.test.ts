import { afterAll, beforeAll } from 'vitest';
import { runDirectoryContract, runLedgerContract, runTokenStoreContract } from '../../src/testing/vitest.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { postgresHarness } from './postgres-helpers.js';

describeWithPostgres('PostgreSQL store against a real PostgreSQL', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => server?.stop());
  const url = () => server.url;

  runLedgerContract(
    'PostgreSQL store: ledger',
    postgresHarness(url, (store) => store.ledger),
  );
  runDirectoryContract(
    'PostgreSQL store: directory',
    postgresHarness(url, (store) => store.directory),
  );
  runTokenStoreContract(
    'PostgreSQL store: tokens',
    postgresHarness(url, (store) => store.tokens),
  );
});
