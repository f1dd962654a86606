/**
 * The database password of `store.url` against a PostgreSQL that checks it (scram-sha-256): the
 * right one opens the store, a wrong one is a clear STORE_ERROR that shows neither, and a URL
 * without a password takes it from PGPASSWORD, as docs/operations.md says.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { cli } from '../support/run-cli.js';

const RIGHT = 'Right-pw-4Kq9-secret';
const WRONG = 'Wrong-pw-7Zt1-secret';

describeWithPostgres('the database password of store.url', () => {
  let server: PostgresServer;
  let work: string;
  const outputs: string[] = [];

  beforeAll(async () => {
    server = await startPostgres({ passwordAuth: true });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE mp_user LOGIN PASSWORD '${RIGHT}'`);
      await admin.query('CREATE DATABASE mail OWNER mp_user');
    } finally {
      await admin.end();
    }
    work = await mkdtemp(join(tmpdir(), 'multipop-cli-pg-password-'));
    await writeFile(join(work, 'store.key'), Buffer.alloc(32, 3).toString('base64'));
  });
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const run = async (password: string | undefined, command: string, env: Record<string, string> = {}) => {
    const auth = password === undefined ? 'mp_user' : `mp_user:${password}`;
    const file = join(work, 'multipop.json');
    await writeFile(
      file,
      JSON.stringify({
        store: {
          type: 'postgres',
          url: `postgres://${auth}@127.0.0.1:${server.port}/mail`,
          keyFile: './store.key',
        },
        queue: { type: 'maildir', root: './mail' },
        users: [],
      }),
    );
    const result = await cli([command, '--config', file], env);
    outputs.push(result.stdout, result.stderr);
    return result;
  };

  it('opens the store with the right password, and status reads it', async () => {
    const collected = await run(RIGHT, 'collect');
    expect(collected.code, collected.stderr).toBe(0);
    const status = await run(RIGHT, 'status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('(no mailbox has been collected yet)');
  });

  it('a wrong password is a STORE_ERROR that names the user and place, not the password', async () => {
    for (const command of ['collect', 'status']) {
      const refused = await run(WRONG, command);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^multipop: STORE_ERROR: .*password authentication failed for user "mp_user"/m,
      );
      expect(refused.stderr).toContain(
        `(store: postgres://mp_user@127.0.0.1:${server.port}/mail, schema multipop)`,
      );
    }
  });

  it('a URL without a password takes it from PGPASSWORD', async () => {
    const withEnv = await run(undefined, 'status', { PGPASSWORD: RIGHT });
    expect(withEnv.code, withEnv.stderr).toBe(0);
    const wrongEnv = await run(undefined, 'status', { PGPASSWORD: WRONG });
    expect(wrongEnv.stderr).toMatch(/^multipop: STORE_ERROR: .*password authentication failed/m);
  });

  it('never shows either password', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(12);
    for (const text of outputs) {
      expect(text).not.toContain(RIGHT);
      expect(text).not.toContain(WRONG);
    }
  });
});
