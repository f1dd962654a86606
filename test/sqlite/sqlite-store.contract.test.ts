import { runDirectoryContract, runLedgerContract, runTokenStoreContract } from '../../src/testing/vitest.js';
import { sqliteHarness } from './sqlite-helpers.js';

runLedgerContract(
  'SQLite store: ledger',
  sqliteHarness((store) => store.ledger),
);
runDirectoryContract(
  'SQLite store: directory',
  sqliteHarness((store) => store.directory),
);
runTokenStoreContract(
  'SQLite store: tokens',
  sqliteHarness((store) => store.tokens),
);
