import { writeFileSync } from 'node:fs';
import { generateStoreKey } from '../../crypto/index.js';
import { MultiPopError } from '../../errors/index.js';
import { ExitCode } from '../exit-codes.js';
import type { ProgressOutput } from '../progress.js';

/**
 * `multipop keygen`: a new store key in the one key format (`store.keyFile`, `MULTIPOP_KEY`,
 * `openSqliteStore({ key })` and `openPostgresStore({ key })` all read it). Printed, or written
 * to `--out` with mode 0600 — never over an existing file: replacing a store's key makes its
 * secrets unreadable.
 */
export function keygenCommand(options: { out?: string; stdout: ProgressOutput }): number {
  const key = generateStoreKey();
  if (!options.out) {
    options.stdout.write(`${key}\n`);
    return ExitCode.OK;
  }
  try {
    writeFileSync(options.out, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new MultiPopError(
      'CONFIG_INVALID',
      exists
        ? `${options.out} exists; multipop keygen never replaces a key (the store's secrets would be lost)`
        : `Cannot write ${options.out}: ${(err as Error).message}`,
      { field: 'out' },
      { cause: err },
    );
  }
  options.stdout.write(`Wrote a new store key to ${options.out} (mode 0600).\n`);
  return ExitCode.OK;
}
