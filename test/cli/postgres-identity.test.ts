/**
 * `multipop resolve-identity` with the state in PostgreSQL: a mailbox whose server renumbered
 * every UIDL and cannot confirm them (no TOP) pauses with IDENTITY_UNCERTAIN — kept in the
 * database, so every later run and `status` see it — until the administrator resolves it. The
 * mass UIDL change comes from the fake POP3 server: a real server does not make it on demand.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakePop3Server, startFakePop3Server } from '../../src/testing/fake-pop3/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { testMessage } from '../support/messages.js';
import { cli } from '../support/run-cli.js';

describeWithPostgres('multipop resolve-identity on a PostgreSQL store', () => {
  let pg: PostgresServer;
  let server: FakePop3Server;
  let work: string;
  let configFile: string;

  beforeAll(async () => {
    pg = await startPostgres();
    server = await startFakePop3Server({
      users: [
        { name: 'ann', password: 'pw', messages: Array.from({ length: 10 }, (_, i) => testMessage(i + 1)) },
      ],
      capabilities: { pipelining: true, uidl: true, top: false },
    });
    work = await mkdtemp(join(tmpdir(), 'multipop-cli-pg-identity-'));
    await writeFile(join(work, 'store.key'), Buffer.alloc(32, 5).toString('base64'));
    configFile = join(work, 'multipop.json');
    await writeFile(
      configFile,
      JSON.stringify({
        store: { type: 'postgres', url: pg.url, keyFile: './store.key' },
        queue: { type: 'maildir', root: './mail', single: true },
        timeoutSeconds: 10,
        users: [
          {
            id: 'ann',
            entries: [
              {
                id: 'ann-pop',
                server: `${server.host}:${server.port}`,
                tls: 'none',
                username: 'ann',
                password: 'pw',
                leaveOnServer: true,
              },
            ],
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await pg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pauses on a mass UIDL change, shows it in status, and resolves it as the administrator says', async () => {
    const delivered = () => readdir(join(work, 'mail', 'new'));
    const first = await cli(['collect', '--config', configFile]);
    expect(first.code, first.stderr).toBe(0);
    expect(await delivered()).toHaveLength(10);

    server.renameUids('ann', (_uid, i) => `rebuilt-${i}`);
    const paused = await cli(['collect', '--config', configFile, '--json']);
    expect(paused.code).toBe(1);
    expect(JSON.parse(paused.stdout)).toMatchObject([{ ok: false, error: { code: 'IDENTITY_UNCERTAIN' } }]);
    // The pause is in the database: a later run (another process) skips the mailbox.
    const skipped = await cli(['collect', '--config', configFile, '--json']);
    expect(JSON.parse(skipped.stdout)).toMatchObject([{ ok: false, skipped: 'identity-uncertain' }]);
    expect(await delivered()).toHaveLength(10);
    const status = JSON.parse((await cli(['status', '--config', configFile, '--json'])).stdout);
    expect(status[0]).toMatchObject({ mailbox: 'ann-pop', failures: 1, messages: 10 });
    expect(status[0].lastError).toContain('IDENTITY_UNCERTAIN');

    // Nothing can be confirmed without TOP: the administrator accepts the messages as new.
    const resolved = await cli(['resolve-identity', 'ann-pop', '--collect-as-new', '--config', configFile]);
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.stdout).toContain('ann-pop: resolved (collect-as-new); collected 10');

    const again = await cli(['collect', '--config', configFile, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject([{ ok: true, result: { collected: 0 } }]);
    const after = JSON.parse((await cli(['status', '--config', configFile, '--json'])).stdout);
    expect(after[0]).toMatchObject({ failures: 0, messages: 20 });
  });
});
