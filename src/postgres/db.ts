import type { Pool, QueryResult, QueryResultRow } from 'pg';

/** Runs one SQL statement with parameters. */
export type Query = <R extends QueryResultRow = QueryResultRow>(
  text: string,
  params?: unknown[],
) => Promise<QueryResult<R>>;

/** How many statements and transactions a store sent (the cost per message in benchmarks). */
export interface PostgresCounters {
  /** Every statement, BEGIN and COMMIT included. */
  statements: number;
  /** Explicit transactions committed. */
  transactions: number;
  /** Ledger `apply` calls, and the transactions that carried them (group commit). */
  ledgerApplies: number;
  ledgerCommits: number;
}

/** The pool behind every store module: statements counted, transactions on one connection. */
export class Db {
  readonly pool: Pool;
  readonly counters: PostgresCounters = {
    statements: 0,
    transactions: 0,
    ledgerApplies: 0,
    ledgerCommits: 0,
  };

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /** One statement on any pooled connection (autocommit). */
  readonly query: Query = (text, params) => {
    this.counters.statements++;
    return this.pool.query(text, params);
  };

  /** BEGIN … COMMIT on one pooled connection; ROLLBACK (and the error) when `work` fails. */
  async transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const query: Query = (text, params) => {
      this.counters.statements++;
      return client.query(text, params);
    };
    let broken = false;
    // A connection cut while checked out (pg_terminate_backend, a failover) makes node-postgres
    // emit 'error' on the client; unheard, that event would end the process. The statement in
    // flight fails on its own; the client is not handed back.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await query('BEGIN');
      const result = await work(query);
      await query('COMMIT');
      this.counters.transactions++;
      return result;
    } catch (err) {
      try {
        await query('ROLLBACK');
      } catch {
        broken = true; // the connection itself failed: do not hand it back to the pool
      }
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
