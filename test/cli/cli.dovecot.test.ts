import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { testMessage } from '../support/messages.js';
import { cli } from '../support/run-cli.js';

describeWithDovecot('the multipop CLI against Dovecot', () => {
  let dovecot: DovecotServer;
  let work: string;
  let configFile: string;

  beforeAll(async () => {
    dovecot = await startDovecot({
      users: [
        { name: 'alice', password: 'alice-secret-1' },
        { name: 'bob', password: 'bob-secret-1' },
      ],
    });
    work = await mkdtemp(join(tmpdir(), 'multipop-cli-'));
    await writeFile(join(work, 'ca.pem'), dovecot.caPem);
    await writeFile(join(work, 'store.key'), Buffer.alloc(32, 7).toString('base64'));
    configFile = join(work, 'multipop.json');
    const entry = (id: string, username: string, password: string) => ({
      id,
      server: `${dovecot.host}:${dovecot.popsPort}`,
      tls: 'implicit',
      username,
      password,
    });
    await writeFile(
      configFile,
      JSON.stringify({
        store: { path: './state/multipop.sqlite', keyFile: './store.key' },
        queue: { type: 'maildir', root: './mail' },
        caFile: './ca.pem',
        settings: { schedule: { mode: 'interval', minutes: 5 } },
        users: [
          { id: 'ann', entries: [entry('ann-alice', 'alice', 'alice-secret-1')] },
          { id: 'ben', entries: [entry('ben-bob', 'bob', 'wrong-password')] },
        ],
      }),
    );
    await dovecot.seed('alice', [testMessage(1), testMessage(2), testMessage(3)]);
    await dovecot.seed('bob', [testMessage(4)]);
  });
  afterAll(async () => {
    await dovecot?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('check-config accepts the file and names the field of a bad one (exit 2)', async () => {
    const good = await cli(['check-config', '--config', configFile]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('2 users, 2 mailboxes');
    const badFile = join(work, 'bad.json');
    await writeFile(
      badFile,
      JSON.stringify({
        store: { path: 'x.sqlite' },
        queue: { type: 'maildir', root: 'm' },
        users: [
          {
            id: 'ann',
            entries: [{ id: 'e1', server: 'pop.example.com:70000', username: 'a', password: 'secret-value' }],
          },
        ],
      }),
    );
    const bad = await cli(['check-config', '--config', badFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('CONFIG_INVALID');
    expect(bad.stderr).toContain('users[0].entries[0].server');
    expect(bad.stderr).not.toContain('secret-value');
  });

  it('collect: delivers the good mailbox, reports the failing one, exit 1; status shows both', async () => {
    const run = await cli(['collect', '--config', configFile, '--json']);
    expect(run.code).toBe(1);
    const rows = JSON.parse(run.stdout) as {
      mailboxId: string;
      ok: boolean;
      result?: { collected: number };
      error?: { code: string };
    }[];
    const alice = rows.find((r) => r.mailboxId === 'ann-alice');
    const bob = rows.find((r) => r.mailboxId === 'ben-bob');
    expect(alice).toMatchObject({ ok: true, result: { collected: 3 } });
    expect(bob).toMatchObject({ ok: false, error: { code: 'AUTH_FAILED' } });
    expect(
      await readdir(join(work, 'mail', 'ann', 'new')).catch(() => readdir(join(work, 'mail', 'new'))),
    ).toHaveLength(3);
    expect(await dovecot.messages('alice')).toHaveLength(0);
    expect(run.stdout + run.stderr).not.toContain('alice-secret-1');

    const status = await cli(['status', '--config', configFile, '--json']);
    expect(status.code).toBe(0);
    const statuses = JSON.parse(status.stdout) as {
      mailbox: string;
      messages: number;
      lastError: string;
      failures: number;
    }[];
    expect(statuses.find((s) => s.mailbox === 'ann-alice')).toMatchObject({ messages: 3, failures: 0 });
    expect(statuses.find((s) => s.mailbox === 'ben-bob')).toMatchObject({ failures: 1 });
    expect(statuses.find((s) => s.mailbox === 'ben-bob')?.lastError).toContain('AUTH_FAILED');

    const table = await cli(['status', '--config', configFile]);
    expect(table.stdout).toMatch(/USER\s+MAILBOX\s+LAST RUN/);
    expect(table.stdout).toMatch(/ann\s+ann-alice/);
  });

  it('collect prints plain progress lines when not on a terminal', async () => {
    await dovecot.seed('alice', [testMessage(5), testMessage(6)]);
    const run = await cli(['collect', '--config', configFile]);
    expect(run.stdout).toMatch(/ann\/ann-alice: (\d+) on the server, \1 to collect/);
    expect(run.stdout).toMatch(/(\d+)\/\1 messages/);
    // Ben's mailbox failed before (when the suite ran in order) and is then in back-off: skipped.
    expect(run.stdout).toMatch(
      /2 mailboxes: \d+ messages .* collected, (1 failed, 0 skipped|0 failed, 1 skipped)/,
    );
    expect(await dovecot.messages('alice')).toHaveLength(0);
  });

  it('an unknown command is a usage error (exit 3)', async () => {
    const run = await cli(['fetch-everything']);
    expect(run.code).toBe(3);
  });
});
