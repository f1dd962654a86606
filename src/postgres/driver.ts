import { createRequire } from 'node:module';
import type { Pool, PoolConfig } from 'pg';
import { MultiPopError } from '../errors/index.js';

type PoolConstructor = new (config?: PoolConfig) => Pool;

/**
 * Loads node-postgres on first use. It is an optional peer dependency, so a host that never
 * opens the PostgreSQL store never needs it; one that does without it installed gets a clear
 * error rather than a bare "cannot find module". pg is a CommonJS package, so both builds
 * `require` it with a `require` made for this file (as the SQLite driver does): a dynamic
 * `import()` fails in the CommonJS build under Jest and other CommonJS module loaders.
 */
export async function loadPgPool(
  load: (id: string) => unknown = createRequire(import.meta.url),
): Promise<PoolConstructor> {
  try {
    const loaded = load('pg') as { Pool?: PoolConstructor; default?: { Pool?: PoolConstructor } };
    const Pool = loaded.Pool ?? loaded.default?.Pool;
    if (typeof Pool !== 'function') throw new TypeError('pg exported no Pool');
    return Pool;
  } catch (err) {
    throw new MultiPopError(
      'STORE_ERROR',
      'multipop/postgres needs pg 8.x, an optional peer dependency: npm install pg@8',
      {},
      { cause: err },
    );
  }
}
