/**
 * `multipop worker` and `multipop scheduler`: the config file's `jobs` section (typed errors
 * naming the field), and a graceful SIGTERM — the message in flight finishes (delivered, DELE,
 * QUIT), the job goes back to the queue and another worker collects the rest, each message once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakePop3Server, startFakePop3Server } from '../../src/testing/index.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis.js';
import { bundleExample } from '../support/bundle-example.js';
import { startFleetProcess } from '../support/fleet-process.js';

const storeKeyText = randomBytes(32).toString('base64');
const message = (n: number) =>
  Buffer.from(`Message-ID: <m${n}@sigterm.test>\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`);

describeWithPostgres('multipop worker / scheduler (real PostgreSQL)', () => {
  describeWithRedis('multipop worker / scheduler (real Redis)', () => {
    let pgServer: PostgresServer;
    let redis: RedisServer;
    let pop3: FakePop3Server;
    let bundle: string;
    let dir: string;
    beforeAll(async () => {
      [pgServer, redis, bundle, dir] = await Promise.all([
        startPostgres(),
        startRedis(),
        bundleExample('src/cli/main.ts', { packagesExternal: true }),
        mkdtemp(join(tmpdir(), 'multipop-fleet-cli-')),
      ]);
      // The first RETR is answered after a pause: the moment the test sends SIGTERM.
      pop3 = await startFakePop3Server({
        users: [{ name: 'ann', password: 'pw', messages: [message(1), message(2), message(3)] }],
        faults: [{ action: 'delay', when: { step: 'RETR', nth: 1 }, ms: 3_000 }],
      });
    }, 120_000);
    afterAll(async () => {
      await pop3?.close();
      await Promise.all([pgServer?.stop(), redis?.stop()]);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const writeConfig = async (name: string, patch: Record<string, unknown>) => {
      const keyFile = join(dir, 'store.key');
      await writeFile(keyFile, storeKeyText, { mode: 0o600 });
      const file = join(dir, name);
      await writeFile(
        file,
        JSON.stringify({
          store: { type: 'postgres', url: pgServer.url, schema: 'cli_fleet', keyFile },
          queue: { type: 'maildir', root: join(dir, 'mail') },
          jobs: { type: 'bullmq', redis: redis.url, leaseSeconds: 30, lockSeconds: 5 },
          settings: { schedule: { mode: 'interval', minutes: 1440 } },
          users: [
            {
              id: 'ann',
              entries: [
                {
                  id: 'ann-box',
                  server: `127.0.0.1:${pop3.port}`,
                  tls: 'none',
                  username: 'ann',
                  password: 'pw',
                },
              ],
            },
          ],
          ...patch,
        }),
      );
      return file;
    };

    it('refuses a config without jobs, with a bad Redis URL or on SQLite, naming the field', async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ jobs: undefined }, /CONFIG_INVALID[\s\S]*jobs section/],
        [{ jobs: { type: 'bullmq', redis: 'http://nope' } }, /CONFIG_INVALID[\s\S]*at jobs\.redis/],
        [{ jobs: { type: 'bullmq', redis: redis.url, perHost: 0 } }, /CONFIG_INVALID[\s\S]*at jobs\.perHost/],
        [{ store: { type: 'sqlite', path: join(dir, 'x.sqlite') } }, /CONFIG_INVALID[\s\S]*PostgreSQL store/],
      ];
      // Every case against the worker; the scheduler reads the same section (checked once).
      const runs = cases.map(async ([patch, expected], i) => {
        const file = await writeConfig(`bad-${i}.json`, patch);
        const commands = i === 0 ? ['worker', 'scheduler'] : ['worker'];
        for (const command of commands) {
          const run = startFleetProcess(bundle, [command, '--config', file]);
          const { code } = await run.exited;
          expect(code, `${command} ${JSON.stringify(patch)}`).toBe(2);
          expect(run.stderr()).toMatch(expected);
        }
      });
      await Promise.all(runs);
    }, 120_000);

    it('SIGTERM: the message in flight is delivered and deleted, the job released; the next worker collects the rest', async () => {
      const config = await writeConfig('multipop.json', {});
      const scheduler = startFleetProcess(bundle, ['scheduler', '--config', config, '--now']);
      await scheduler.line(/enqueued 1 mailboxes/);
      const first = startFleetProcess(bundle, ['worker', '--config', config]);
      await first.line(/taking jobs/);
      // SIGTERM while the first RETR waits for its answer.
      while (!pop3.commands.some((c) => c.verb === 'RETR')) await new Promise((r) => setTimeout(r, 20));
      first.child.kill('SIGTERM');
      expect((await first.exited).code, first.stderr()).toBe(0);
      expect(first.stdout()).toMatch(/stopped/);
      const after = pop3.mailbox('ann').messages;
      expect(after.length).toBeGreaterThan(0);
      expect(after.length).toBeLessThan(3); // the message in flight was delivered and deleted (QUIT)
      const second = startFleetProcess(bundle, ['worker', '--config', config]);
      await second.line(/taking jobs/);
      while (pop3.mailbox('ann').messages.length > 0) await new Promise((r) => setTimeout(r, 50));
      second.child.kill('SIGTERM');
      scheduler.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
      expect((await scheduler.exited).code).toBe(0);
      const delivered = await readdir(join(dir, 'mail', 'ann', 'new'));
      expect(delivered).toHaveLength(3);
    }, 120_000);
  });
});
