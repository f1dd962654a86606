import { MultiPopError } from '../errors/index.js';

/**
 * Runs a synchronous better-sqlite3 operation behind the ports' async interface. Our own errors
 * pass through; anything else becomes `STORE_ERROR` (the SQLite error as cause — its text names
 * tables and constraints, never values).
 */
export function guarded<T>(what: string, work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(storeError(what, err));
  }
}

/** The same for an operation that completes later (a group-committed write). */
export function guardedLater<T>(what: string, work: Promise<T>): Promise<T> {
  return work.catch((err: unknown) => Promise.reject(storeError(what, err)));
}

function storeError(what: string, err: unknown): MultiPopError {
  return err instanceof MultiPopError
    ? err
    : new MultiPopError('STORE_ERROR', `SQLite store: ${what} failed`, {}, { cause: err });
}
