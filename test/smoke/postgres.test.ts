import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';

describeWithPostgres('the private PostgreSQL harness', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    pool.on('error', () => undefined); // terminateConnections ends this pool's idle connections
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('runs as a non-root user on its own loopback port', async () => {
    const { rows } = await pool.query(
      "SELECT current_setting('listen_addresses') AS listen, current_user AS role",
    );
    expect(rows[0]).toEqual({ listen: '127.0.0.1', role: 'postgres' });
  });

  it('creates databases, and cuts every client connection on request', async () => {
    const url = await server.createDatabase('second');
    const other = new pg.Client({ connectionString: url });
    // `on`, not `once`: a cut connection reports the server's FATAL and then the closed socket.
    const ended = new Promise<Error>((resolve) => other.on('error', resolve));
    await other.connect();
    expect((await other.query('SELECT current_database() AS db')).rows[0].db).toBe('second');
    expect(await server.terminateConnections()).toBeGreaterThanOrEqual(1);
    expect(String(await ended)).toMatch(/terminat/i);
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1); // the pool reconnects
  });
});
