import { MultiPopError } from '../errors/index.js';

/**
 * Runs a store operation; our own errors pass through, anything else (a lost connection, a
 * constraint) becomes `STORE_ERROR` with the driver's error as cause. PostgreSQL's messages
 * name tables and constraints; values travel as parameters and never appear in them.
 */
export async function guarded<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof MultiPopError
      ? err
      : new MultiPopError('STORE_ERROR', `PostgreSQL store: ${what} failed`, {}, { cause: err });
  }
}
