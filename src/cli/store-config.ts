/**
 * The `store` section of the CLI's config file: where the state lives — the embedded SQLite
 * file (the default) or a PostgreSQL schema — and the store key, which both read in the one
 * format. The PostgreSQL connection string may carry a password: it is a secret like the
 * entries' passwords, so it never appears in output, logs or errors ({@link describeStore},
 * {@link scrubStoreSecrets}).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { readStoreKey } from '../crypto/index.js';
import { MultiPopError } from '../errors/index.js';
import { redact } from '../log/index.js';

/** The SQLite file when the config file names none (relative to the config file). */
export const DEFAULT_SQLITE_PATH = 'multipop.sqlite';

/** A file holding the store key (as `multipop keygen` prints it, or `passphrase:…`). Else `MULTIPOP_KEY`. */
const keyFile = z.string().min(1).optional();

const sqliteStoreSchema = z.strictObject({
  type: z.literal('sqlite'),
  /** The SQLite file (directory, ledger, encrypted tokens). */
  path: z.string().min(1).default(DEFAULT_SQLITE_PATH),
  keyFile,
});

const postgresStoreSchema = z.strictObject({
  type: z.literal('postgres'),
  /** `postgres://user[:password]@host[:port]/database` — the password is a secret. */
  url: z.string().refine(isPostgresUrl, {
    message:
      'must be a connection string postgres://user[:password]@host[:port]/database (special characters in the password percent-encoded)',
  }),
  /** The schema that holds multipop's tables (created when missing). */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier (a–z, 0–9, _; up to 63 characters)')
    .default('multipop'),
  keyFile,
  /** Connections the command keeps to the database at most. */
  maxConnections: z.int().min(1).max(1000).default(10),
  /** How long to wait for a connection before failing (an unreachable database). */
  connectTimeoutSeconds: z.number().positive().max(600).default(10),
});

/**
 * `store`: `{ type: "sqlite", path?, keyFile? }` (the default; a `store` without `type` is
 * SQLite, as config files written before PostgreSQL was possible have it) or
 * `{ type: "postgres", url, schema?, keyFile?, maxConnections?, connectTimeoutSeconds? }`.
 */
export const storeConfigSchema = z.preprocess(
  (value) => {
    if (value === undefined) return { type: 'sqlite' };
    if (value && typeof value === 'object' && !Array.isArray(value) && !('type' in value))
      return { type: 'sqlite', ...value };
    return value;
  },
  z.discriminatedUnion('type', [sqliteStoreSchema, postgresStoreSchema]),
);

export type StoreConfig = z.output<typeof storeConfigSchema>;
export type PostgresStoreConfig = Extract<StoreConfig, { type: 'postgres' }>;

function isPostgresUrl(text: string): boolean {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** The section with its file paths made absolute by `abs` (relative to the config file). */
export function resolveStorePaths(store: StoreConfig, abs: (path: string) => string): StoreConfig {
  const resolved = { ...store, ...(store.keyFile ? { keyFile: abs(store.keyFile) } : {}) };
  return resolved.type === 'sqlite' ? { ...resolved, path: abs(resolved.path) } : resolved;
}

/**
 * Where the state lives, for messages: the SQLite path, or the PostgreSQL server, database and
 * schema — never the password nor the connection string's parameters (they may hold one).
 */
export function describeStore(store: StoreConfig): string {
  if (store.type === 'sqlite') return store.path;
  const url = new URL(store.url);
  const user = url.username ? `${url.username}@` : '';
  return `${url.protocol}//${user}${url.host}${url.pathname}, schema ${store.schema}`;
}

/** The secrets of the connection string: its password, and any parameter named like one. */
function storeSecrets(store: StoreConfig): string[] {
  if (store.type === 'sqlite') return [];
  const url = new URL(store.url);
  const secrets = [url.password, decodeURIComponent(url.password)];
  for (const [name, value] of url.searchParams) if (/pass|secret|key/i.test(name)) secrets.push(value);
  return secrets.filter((s) => s !== '');
}

/** `text` with every secret of the store section replaced (for an error from the driver). */
export function scrubStoreSecrets(text: string, store: StoreConfig): string {
  return redact(text, storeSecrets(store)) as string;
}

/**
 * The store key text: from `store.keyFile`, else the `MULTIPOP_KEY` environment variable — both in
 * the one format both stores take (`multipop keygen` prints a key; `passphrase:…` for a
 * passphrase). Checked here so the refusal names where the key came from.
 * @throws `CONFIG_INVALID` when there is no key or it is not in that format.
 */
export function storeKey(store: StoreConfig): string {
  if (store.keyFile) {
    let text: string;
    try {
      text = readFileSync(store.keyFile, 'utf8');
    } catch (err) {
      throw new MultiPopError(
        'CONFIG_INVALID',
        `Cannot read the store key file ${store.keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        { field: 'store.keyFile' },
        { cause: err },
      );
    }
    readStoreKey(text, { field: 'store.keyFile', label: `The key in ${store.keyFile}` });
    return text;
  }
  const env = process.env['MULTIPOP_KEY'];
  if (!env) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      'No store key: set store.keyFile in the config or MULTIPOP_KEY (multipop keygen makes one)',
      { field: 'store.keyFile' },
    );
  }
  readStoreKey(env, { field: 'MULTIPOP_KEY', label: 'The key in MULTIPOP_KEY' });
  return env;
}
