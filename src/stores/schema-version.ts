import { MultiPopError } from '../errors/index.js';

/**
 * The schema-version judgement every shipped database store makes (SQLite, PostgreSQL): the
 * stores differ in where they keep the version, not in what a version means.
 */
export interface SchemaVersionCheck {
  /** How errors name the store: `SQLite`, `PostgreSQL`. */
  store: string;
  /** The version this version of the library writes. */
  current: number;
}

/** @throws MultiPopError `STORE_ERROR` when the store was written by a newer version. */
export function assertKnownSchemaVersion(check: SchemaVersionCheck, version: number): void {
  if (version > check.current) {
    throw new MultiPopError(
      'STORE_ERROR',
      `The ${check.store} store has schema version ${version}, newer than this version of multipop knows (${check.current}); upgrade multipop`,
      { schemaVersion: version },
    );
  }
}

/**
 * For read-only handles, which never migrate.
 * @throws MultiPopError `STORE_ERROR` when the store is empty, older or newer than `current`.
 */
export function assertCurrentSchemaVersion(check: SchemaVersionCheck, version: number): void {
  assertKnownSchemaVersion(check, version);
  if (version !== check.current) {
    throw new MultiPopError(
      'STORE_ERROR',
      version === 0
        ? `The ${check.store} store is empty: open it once read-write to create it`
        : `The ${check.store} store has schema version ${version}; open it once read-write to upgrade it to ${check.current}`,
      { schemaVersion: version },
    );
  }
}
