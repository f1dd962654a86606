/**
 * The `multipop` command with its state in PostgreSQL (`store: { type: "postgres", url }`),
 * against a real PostgreSQL and a real Dovecot, both private to this file: collection is exactly
 * once across runs and across two config files (two installations of the command) on one
 * database, `status` reads it, and the database password never shows in any output.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { freePort } from '../helpers/free-port.js';
import { describeWithPostgres, type PostgresServer, startPostgres } from '../helpers/postgres.js';
import { testMessage } from '../support/messages.js';
import { cli, startCli } from '../support/run-cli.js';

/** The database password: trust authentication accepts it, and no output may show it. */
const DB_PASSWORD = 'Pg-pw-8xQ2-never-shown';
const PASSPHRASE = 'passphrase:a fleet shares one store key';

interface StatusRow {
  user: string;
  mailbox: string;
  messages: number;
  sessions: number;
  failures: number;
  lastError: string;
}

describeWithPostgres('the multipop command on a PostgreSQL store', () => {
  describeWithDovecot('against Dovecot', () => {
    let pg: PostgresServer;
    let dovecot: DovecotServer;
    let work: string;
    let url: string;
    const outputs: string[] = [];
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const result = await cli(args, env);
      outputs.push(result.stdout, result.stderr);
      return result;
    };
    const seeded = [testMessage(1), testMessage(2), testMessage(3)];

    /** A config file in its own directory (own Maildir) on the shared database. */
    const writeConfig = async (name: string, store: object, extra: object = {}) => {
      const dir = join(work, name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'ca.pem'), dovecot.caPem);
      const file = join(dir, 'multipop.json');
      await writeFile(
        file,
        JSON.stringify({
          store,
          queue: { type: 'maildir', root: './mail' },
          caFile: './ca.pem',
          users: [
            {
              id: 'ann',
              entries: [
                {
                  id: 'ann-alice',
                  server: `${dovecot.host}:${dovecot.popsPort}`,
                  tls: 'implicit',
                  username: 'alice',
                  password: 'alice-secret-1',
                  // Left on the server: every run sees all messages, so only the ledger in
                  // PostgreSQL keeps a second run from delivering them again.
                  leaveOnServer: true,
                },
              ],
            },
          ],
          ...extra,
        }),
      );
      return { file, dir };
    };
    let first: { file: string; dir: string };
    let second: { file: string; dir: string };

    beforeAll(async () => {
      [pg, dovecot] = await Promise.all([
        startPostgres(),
        startDovecot({ users: [{ name: 'alice', password: 'alice-secret-1' }] }),
      ]);
      const plain = new URL(await pg.createDatabase('mail'));
      plain.password = DB_PASSWORD;
      url = plain.toString();
      work = await mkdtemp(join(tmpdir(), 'multipop-cli-pg-'));
      await mkdir(join(work, 'one'), { recursive: true });
      await writeFile(join(work, 'one', 'store.key'), `${PASSPHRASE}\n`);
      // The first installation reads the key from a file, the second from MULTIPOP_KEY.
      first = await writeConfig('one', { type: 'postgres', url, schema: 'mp', keyFile: './store.key' });
      second = await writeConfig('two', { type: 'postgres', url, schema: 'mp' });
      await dovecot.seed('alice', seeded);
    });
    afterAll(async () => {
      await Promise.all([dovecot?.stop(), pg?.stop()]);
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('check-config says where the state lives, without the password', async () => {
      const checked = await run(['check-config', '--config', first.file]);
      expect(checked.code).toBe(0);
      expect(checked.stdout).toContain(
        `State: PostgreSQL postgres://postgres@127.0.0.1:${pg.port}/mail, schema mp.`,
      );
    });

    it('collects exactly once across two runs, byte for byte; status shows it', async () => {
      const one = await run(['collect', '--config', first.file, '--json']);
      expect(one.stderr).toContain(
        'Store updated from the config file: added user ann; added entry ann-alice.',
      );
      expect(one.code).toBe(0);
      expect(JSON.parse(one.stdout)).toMatchObject([
        { mailboxId: 'ann-alice', ok: true, result: { collected: 3 } },
      ]);

      const two = await run(['collect', '--config', first.file, '--json']);
      expect(two.code).toBe(0);
      expect(JSON.parse(two.stdout)).toMatchObject([
        { mailboxId: 'ann-alice', ok: true, result: { collected: 0 } },
      ]);
      expect(await dovecot.messages('alice')).toHaveLength(3);
      expect(await delivered(first.dir)).toEqual(sorted(seeded));

      const status = await run(['status', '--config', first.file, '--json']);
      expect(status.code).toBe(0);
      const rows = JSON.parse(status.stdout) as StatusRow[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        user: 'ann',
        mailbox: 'ann-alice',
        messages: 3,
        sessions: 2,
        failures: 0,
      });

      const table = await run(['status', '--config', first.file]);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(
        /^USER\s+MAILBOX\s+LAST RUN\s+LAST SUCCESS\s+LAST ERROR\s+FAILS\s+MESSAGES\s+BYTES$/m,
      );
      expect(table.stdout).toMatch(/^ann\s+ann-alice\s+\S+Z\s+\S+Z\s+0\s+3\s+/m);
    });

    it('a second installation on the same database sees the same state and collects only what is new', async () => {
      const env = { MULTIPOP_KEY: PASSPHRASE };
      const mine = await run(['status', '--config', first.file, '--json']);
      const theirs = await run(['status', '--config', second.file, '--json']);
      expect(theirs.code).toBe(0);
      expect(JSON.parse(theirs.stdout)).toEqual(JSON.parse(mine.stdout));

      const fourth = testMessage(4);
      await dovecot.seed('alice', [fourth]);
      const collected = await run(['collect', '--config', second.file, '--json'], env);
      expect(collected.code).toBe(0);
      // The directory already matches: the other file wrote the same users and entries.
      expect(collected.stderr).toBe('');
      expect(JSON.parse(collected.stdout)).toMatchObject([{ ok: true, result: { collected: 1 } }]);
      expect(await delivered(second.dir)).toEqual([fourth]);

      const after = JSON.parse(
        (await run(['status', '--config', first.file, '--json'])).stdout,
      ) as StatusRow[];
      expect(after[0]).toMatchObject({ messages: 4, sessions: 3 });
    });

    it('collect --watch collects on the schedule from PostgreSQL and stops on SIGTERM', async () => {
      // A third installation, on a schedule: it replaces the settings the CLI wrote before.
      const watching = await writeConfig(
        'watch',
        { type: 'postgres', url, schema: 'mp', keyFile: '../one/store.key' },
        { settings: { schedule: { mode: 'interval', minutes: 0.05 } } },
      );
      const fifth = testMessage(5);
      await dovecot.seed('alice', [fifth]);
      const running = startCli(['collect', '--config', watching.file, '--watch']);
      try {
        await running.waitForOutput(/^Collecting on schedule "interval"/m);
        await running.waitForOutput(
          /^ann\/ann-alice: 5 on the server, 1 to collect .*\n(?:.*\n)*?.*1\/1 messages/m,
        );
        // The next cycle finds the new message recorded in the database: nothing more to collect.
        await running.waitForOutput(/^ann\/ann-alice: 5 on the server, 0 to collect/m);
      } finally {
        // Also when a wait above fails: the process must not outlive the test.
        running.child.kill('SIGTERM');
      }
      const ended = await running.done;
      outputs.push(ended.stdout, ended.stderr);
      expect(ended.code, ended.stderr).toBe(0);
      expect(ended.stdout).toContain('replaced the settings');
      expect(await delivered(watching.dir)).toEqual([fifth]);
      const rows = JSON.parse(
        (await run(['status', '--config', first.file, '--json'])).stdout,
      ) as StatusRow[];
      expect(rows[0]).toMatchObject({ messages: 5, failures: 0 });
    });

    it('a wrong store key is refused at open, naming the store; nothing was collected', async () => {
      const wrong = await run(['collect', '--config', second.file], {
        MULTIPOP_KEY: 'passphrase:not the key',
      });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^multipop: STORE_KEY_INVALID: /m);
      expect(wrong.stdout).toBe('');
    });

    it('a bad URL is CONFIG_INVALID naming store.url; an unreachable database a clear STORE_ERROR', async () => {
      const bad = await writeConfig('bad', {
        type: 'postgres',
        url: `mysql://postgres:${DB_PASSWORD}@127.0.0.1/mail`,
      });
      const refused = await run(['collect', '--config', bad.file], { MULTIPOP_KEY: PASSPHRASE });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('CONFIG_INVALID');
      expect(refused.stderr).toContain('store.url');

      const port = await freePort();
      const down = await writeConfig('down', {
        type: 'postgres',
        url: `postgres://postgres:${DB_PASSWORD}@127.0.0.1:${port}/mail?sslpassword=${DB_PASSWORD}x`,
      });
      for (const args of [
        ['collect', '--config', down.file],
        ['status', '--config', down.file],
      ]) {
        const failed = await run(args, { MULTIPOP_KEY: PASSPHRASE });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toMatch(/^multipop: STORE_ERROR: /m);
        expect(failed.stderr).toContain('ECONNREFUSED');
        expect(failed.stderr).toContain(
          `(store: postgres://postgres@127.0.0.1:${port}/mail, schema multipop)`,
        );
      }

      // A database without multipop's schema yet: status (read-only) says so and creates nothing.
      const empty = await writeConfig('empty', { type: 'postgres', url, schema: 'never_opened' });
      const status = await run(['status', '--config', empty.file]);
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/^multipop: STORE_ERROR: The PostgreSQL store is empty/m);
    });

    it('never shows the database password, in any output of any command above', () => {
      expect(outputs.length).toBeGreaterThan(10);
      for (const text of outputs) {
        expect(text).not.toContain(DB_PASSWORD);
        expect(text).not.toContain(encodeURIComponent(DB_PASSWORD));
        expect(text).not.toContain('alice-secret-1');
      }
    });
  });
});

/** The delivered messages of one installation's Maildir, each without the headers delivery adds. */
async function delivered(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const root = join(dir, 'mail');
  for (const name of await readdir(root, { recursive: true, encoding: 'utf8' })) {
    if (!/(^|\/)new\/[^/]+$/.test(name)) continue;
    const file = await readFile(join(root, name));
    const start = file.indexOf('Message-ID: ');
    out.push(start < 0 ? file : file.subarray(start));
  }
  return sorted(out);
}

function sorted(messages: Buffer[]): Buffer[] {
  return [...messages].sort(Buffer.compare);
}
