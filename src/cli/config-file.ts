import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { multipopConfigSchema } from '../config/schemas.js';
import { parseWith } from '../config/validate.js';
import { MultiPopError } from '../errors/index.js';
import { jobsConfigSchema } from './jobs-config.js';
import { resolveStorePaths, storeConfigSchema } from './store-config.js';

/** The CLI's default concurrency (the library's own default is `{ global: 8, perHost: 2 }`). */
export const CLI_CONCURRENCY = { global: 32, perHost: 8 } as const;

/**
 * The CLI's configuration file (`multipop.json`): the installation (settings + users) and where
 * the state lives (`store`: the embedded SQLite file by default, or PostgreSQL — see
 * `store-config.ts`). Relative paths are relative to the file.
 *
 * @example
 * ```json
 * {
 *   "store": { "path": "./state/multipop.sqlite", "keyFile": "./state/store.key" },
 *   "queue": { "type": "maildir", "root": "./mail" },
 *   "concurrency": { "global": 32, "perHost": 8 },
 *   "settings": { "schedule": { "mode": "interval", "minutes": 5 } },
 *   "users": [{ "id": "ann", "entries": [{ "id": "ann-gmx", "server": "pop.gmx.net:995", "username": "ann", "password": "…" }] }]
 * }
 * ```
 */
export const cliConfigSchema = z.strictObject({
  /** Where the state lives: SQLite (default) or PostgreSQL, and the store key. */
  store: storeConfigSchema,
  queue: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('maildir'),
      root: z.string().min(1),
      single: z.boolean().default(false),
    }),
    z.strictObject({
      type: z.enum(['lmtp', 'smtp']),
      host: z.string().min(1),
      port: z.int().min(1).max(65535),
      caFile: z.string().optional(),
    }),
  ]),
  /** PEM CA file to trust for remote POP3 servers (private test servers). */
  caFile: z.string().optional(),
  /**
   * Allow an OAuth authorization server on plain `http://` — for a private test server on
   * loopback only; never for a real provider.
   */
  oauthAllowInsecureHttp: z.boolean().default(false),
  /**
   * Sessions at once, over all remote servers and per remote host. The defaults suit a mail
   * server collecting thousands of mailboxes in one process: enough sessions to keep the disk's
   * group commit fed and the network busy, few enough per provider that it does not refuse
   * connections from one address; each session holds a bounded window of message data, so
   * memory grows with `global`, not with the number of mailboxes (docs/performance.md).
   */
  concurrency: z
    .strictObject({
      global: z.int().min(1).max(1024).default(CLI_CONCURRENCY.global),
      perHost: z.int().min(1).max(1024).default(CLI_CONCURRENCY.perHost),
    })
    .default(CLI_CONCURRENCY),
  /** Seconds per network step. */
  timeoutSeconds: z.number().positive().max(3600).optional(),
  /** Collection as jobs on BullMQ (`multipop worker` / `multipop scheduler`); see jobs-config.ts. */
  jobs: jobsConfigSchema.optional(),
  settings: multipopConfigSchema.shape.settings,
  users: multipopConfigSchema.shape.users,
});

export type CliConfig = z.output<typeof cliConfigSchema>;

/** Reads and validates the config file; paths come back absolute. @throws `CONFIG_INVALID` naming the field. */
export function loadCliConfig(file: string): CliConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    // V8's JSON errors may quote a few characters of the text — which may be a password.
    const why =
      err instanceof SyntaxError
        ? `not valid JSON${/ at position \d+/.exec(err.message)?.[0] ?? ''}`
        : (err as Error).message;
    throw new MultiPopError(
      'CONFIG_INVALID',
      `Cannot read ${file}: ${why}`,
      { field: 'file' },
      { cause: err },
    );
  }
  const config = parseWith(cliConfigSchema, raw, `configuration file ${file}`);
  // The cross-checks of the installation (unique ids, OAuth apps configured).
  parseWith(
    multipopConfigSchema,
    { settings: config.settings, users: config.users },
    `configuration file ${file}`,
  );
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  config.store = resolveStorePaths(config.store, abs);
  if (config.queue.type === 'maildir') config.queue.root = abs(config.queue.root);
  else if (config.queue.caFile) config.queue.caFile = abs(config.queue.caFile);
  if (config.caFile) config.caFile = abs(config.caFile);
  return config;
}
