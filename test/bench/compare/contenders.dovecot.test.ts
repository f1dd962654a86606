/**
 * A smoke run of the benchmark's pieces against a real Dovecot: the raw client (the speed
 * bound must itself deliver byte for byte), KEEP state, the latency proxy, the per-mailbox
 * runner script, the node-pop3 script (whose damage the check must see) and, when installed,
 * fetchmail with Dovecot's LDA. No timing is asserted; the benchmark itself is `npm run bench`.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { benchDir, bundle } from '../../../bench/compare/build.js';
import { type BenchServer, passwordOf, startBenchServer } from '../../../bench/compare/dovecot.js';
import { startLatencyProxy } from '../../../bench/compare/latency-proxy.js';
import { measure } from '../../../bench/compare/measure.js';
import { generateMessages } from '../../../bench/compare/messages.js';
import { expectedById, verifyMaildir } from '../../../bench/compare/verify.js';
import { describeWithDovecot } from '../../helpers/dovecot.js';

const fetchmailReady = existsSync('/usr/bin/fetchmail') && existsSync('/usr/lib/dovecot/dovecot-lda');

describeWithDovecot('benchmark contenders against Dovecot', () => {
  let server: BenchServer;
  let work: string;
  let raw: string;
  let nodePop3: string;
  let runs = 0;

  beforeAll(async () => {
    server = await startBenchServer(['ann', 'bob', 'cy', 'dee']);
    work = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    await chmod(work, 0o755);
    raw = await bundle('bench/compare/raw-client.ts', 'raw-client');
    nodePop3 = await bundle('bench/compare/peers/node-pop3.ts', 'node-pop3-peer');
  });
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Fresh Maildir and state for one run of `user`'s mailbox. */
  async function dirs(user: string, owner?: { uid: number; gid: number }) {
    const dir = join(work, `run${runs++}`);
    const maildir = join(dir, 'mail');
    const state = join(dir, 'state');
    await mkdir(maildir, { recursive: true });
    await mkdir(state, { recursive: true });
    if (owner) for (const path of [dir, maildir, state]) await chown(path, owner.uid, owner.gid);
    return { dir, maildir, state, user };
  }

  function env(d: { maildir: string; state: string; user: string }, extra: Record<string, string> = {}) {
    return {
      PATH: process.env['PATH'],
      POP_HOST: '127.0.0.1',
      POP_PORT: String(server.dovecot.popsPort),
      POP_TLS: 'implicit',
      POP_CA: server.caFile,
      POP_TLS_NAME: 'localhost',
      POP_USER: d.user,
      POP_PASS: passwordOf(d.user),
      MAILDIR: d.maildir,
      STATE_DIR: d.state,
      KEEP: '0',
      POP_TIMEOUT: '15',
      ...extra,
    };
  }

  async function seed(user: string, tag: string, count: number) {
    const messages = generateMessages({ tag, count, size: 'mixed', seed: count + tag.length });
    await server.empty(user);
    await server.dovecot.seed(user, messages);
    return expectedById(messages);
  }

  it('the raw client collects and deletes every message byte for byte', async () => {
    const expected = await seed('ann', 'raw', 25);
    const d = await dirs('ann');
    const m = await measure({
      argv: [process.execPath, raw],
      env: env(d),
      timeoutMs: 30_000,
      scratchDir: work,
    });
    expect(m.outputTail).toBe('');
    expect(m.ok).toBe(true);
    expect(m.peakRssKb).toBeGreaterThan(0);
    const verdict = await verifyMaildir(d.maildir, expected, await server.messageIds('ann'));
    expect(verdict).toMatchObject({ exact: 25, altered: 0, lost: 0, duplicated: 0, notCollected: 0 });
    expect((await server.messageIds('ann')).size).toBe(0);
  });

  it('the durable raw client and multipop collect --config collect and delete byte for byte', async () => {
    const cli = await bundle('bench/compare/peers/multipop-cli.ts', 'multipop-cli');
    for (const [argv, extra] of [
      [[process.execPath, raw], { RAW_DURABLE: '1' }],
      [[process.execPath, cli], {}],
    ] as const) {
      const expected = await seed('cy', 'durable', 30);
      const d = await dirs('cy');
      const m = await measure({ argv: [...argv], env: env(d, extra), timeoutMs: 60_000, scratchDir: work });
      expect(m.ok, m.outputTail).toBe(true); // the CLI prints its progress: only the exit status counts
      const verdict = await verifyMaildir(d.maildir, expected, await server.messageIds('cy'));
      expect(verdict).toMatchObject({ altered: 0, lost: 0, duplicated: 0, notCollected: 0 });
      expect(verdict.exact + verdict.lf).toBe(30);
      expect((await server.messageIds('cy')).size).toBe(0);
    }
  });

  it('the raw client with KEEP fetches only what is new since its last run', async () => {
    await seed('bob', 'keep-old', 6);
    const d = await dirs('bob');
    const first = await measure({
      argv: [process.execPath, raw],
      env: env(d, { KEEP: '1' }),
      timeoutMs: 30_000,
      scratchDir: work,
    });
    expect(first.ok).toBe(true);
    const fresh = generateMessages({ tag: 'keep-new', count: 3, size: 'mixed', seed: 99 });
    await server.dovecot.seed('bob', fresh);
    const again = { ...d, maildir: join(d.dir, 'mail2') };
    const second = await measure({
      argv: [process.execPath, raw],
      env: env(again, { KEEP: '1' }),
      timeoutMs: 30_000,
      scratchDir: work,
    });
    expect(second.ok).toBe(true);
    const verdict = await verifyMaildir(again.maildir, expectedById(fresh), new Set());
    expect(verdict).toMatchObject({ exact: 3, altered: 0, duplicated: 0, lost: 0 });
    expect((await server.messageIds('bob')).size).toBe(9);
  });

  it('TLS sessions pass the latency proxy unchanged', async () => {
    const expected = await seed('cy', 'proxy', 8);
    const proxy = await startLatencyProxy({
      targetHost: '127.0.0.1',
      targetPort: server.dovecot.popsPort,
      delayMs: 5,
    });
    try {
      const d = await dirs('cy');
      const m = await measure({
        argv: [process.execPath, raw],
        env: env(d, { POP_PORT: String(proxy.port) }),
        timeoutMs: 30_000,
        scratchDir: work,
      });
      expect(m.ok).toBe(true);
      expect(await verifyMaildir(d.maildir, expected, new Set())).toMatchObject({ exact: 8, altered: 0 });
    } finally {
      await proxy.close();
    }
  });

  it('each-account.sh runs a single-mailbox command per account, in parallel', async () => {
    const users = ['ann', 'bob', 'cy'];
    const expected = new Map<string, Map<string, Buffer>>();
    for (const user of users) expected.set(user, await seed(user, `each-${user}`, 4));
    const dir = join(work, `run${runs++}`);
    const lines = users.map((u) =>
      [u, passwordOf(u), join(dir, 'mail', u), join(dir, 'state', u)].join('\t'),
    );
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'accounts.tsv'), `${lines.join('\n')}\n`);
    const m = await measure({
      argv: [join(benchDir, 'peers', 'each-account.sh'), process.execPath, raw],
      env: {
        ...env({ maildir: '', state: '', user: '' }),
        POP_ACCOUNTS: join(dir, 'accounts.tsv'),
        PARALLEL: '2',
      },
      timeoutMs: 30_000,
      scratchDir: work,
    });
    expect(m.ok).toBe(true);
    for (const user of users) {
      const verdict = await verifyMaildir(
        join(dir, 'mail', user),
        expected.get(user) as Map<string, Buffer>,
        new Set(),
      );
      expect(verdict).toMatchObject({ exact: 4, altered: 0, lost: 0 });
    }
  });

  it('the node-pop3 script runs, and the check sees what it does to the mail', async () => {
    const expected = await seed('dee', 'np', 25);
    const d = await dirs('dee');
    const m = await measure({
      argv: [process.execPath, nodePop3],
      env: env(d),
      timeoutMs: 30_000,
      scratchDir: work,
    });
    expect(m.ok).toBe(true);
    const verdict = await verifyMaildir(d.maildir, expected, new Set());
    expect(verdict.altered).toBeGreaterThan(0);
    expect(Object.keys(verdict.alterations)).toContain('8-bit bytes replaced by U+FFFD');
  });

  it.skipIf(!fetchmailReady)(
    'fetchmail → dovecot-lda delivers every message (stored with LF line ends)',
    async () => {
      const expected = await seed('ann', 'fm', 5);
      // fetchmail and the LDA refuse root: as root, run them as nobody (Debian's 65534).
      const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
      const d = await dirs('ann', nobody);
      const m = await measure({
        argv: [join(benchDir, 'peers', 'fetchmail.sh')],
        env: env(d, { FETCHMAIL_MDA: 'lda' }),
        timeoutMs: 30_000,
        scratchDir: work,
        ...(nobody ? { asUser: nobody } : {}),
      });
      expect(m.outputTail).toBe('');
      expect(m.ok).toBe(true);
      const verdict = await verifyMaildir(d.maildir, expected, await server.messageIds('ann'));
      expect(verdict).toMatchObject({ lf: 5, altered: 0, lost: 0, duplicated: 0 });
      expect(verdict.addedHeaders).toEqual(['Received']);
    },
  );
});
