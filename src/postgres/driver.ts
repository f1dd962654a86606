import type { Pool, PoolConfig } from 'pg';
import { MultiPopError } from '../errors/index.js';

type PoolConstructor = new (config?: PoolConfig) => Pool;

/**
 * Loads node-postgres on first use. It is an optional peer dependency, so a host that never
 * opens the PostgreSQL store never needs it; one that does without it installed gets a clear
 * error rather than a bare "cannot find module".
 */
export async function loadPgPool(): Promise<PoolConstructor> {
  try {
    const loaded = (await import('pg')) as unknown as {
      default?: { Pool?: PoolConstructor };
      Pool?: PoolConstructor;
    };
    const Pool = loaded.default?.Pool ?? loaded.Pool;
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
