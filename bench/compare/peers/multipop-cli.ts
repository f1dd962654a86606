/**
 * multipop as an administrator runs it: `multipop collect --config multipop.json`, every
 * account of the run in ONE process (one SQLite store, one Maildir queue, the CLI's default
 * concurrency). This wrapper writes the config file from the contender environment (see
 * env.ts) into STATE_DIR, then runs the CLI's own entry in this process — so what is measured
 * is the command's start-up and its work, not a second Node start.
 *
 * Accounts' Maildirs must share a parent (the runner puts them at `<run>/mail/<user>`): that
 * parent is the queue root, and each user's id is its folder name there.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { runCli } from '../../../src/cli/run.js';
import { readPeerEnv } from './env.js';

const env = readPeerEnv(process.env);
const stateDir = process.env['STATE_DIR'] ?? '.';
mkdirSync(stateDir, { recursive: true });
const single = env.accounts.length === 1;
const root = single ? env.accounts[0]!.maildir : dirname(env.accounts[0]!.maildir);
for (const account of env.accounts) {
  if (!single && dirname(account.maildir) !== root)
    throw new Error('multipop-cli: every Maildir must have the same parent');
}
const keyFile = join(stateDir, 'store.key');
// S3 runs again over the state of its priming run: keep the store's key.
if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
const config = {
  store: { path: join(stateDir, 'multipop.sqlite'), keyFile },
  queue: { type: 'maildir', root, single },
  ...(env.ca ? { caFile: process.env['POP_CA'] } : {}),
  timeoutSeconds: env.timeoutMs / 1000,
  ...(process.env['MULTIPOP_CONCURRENCY']
    ? { concurrency: { global: Number(process.env['MULTIPOP_CONCURRENCY']) } }
    : {}),
  settings: { enabled: true, schedule: { mode: 'manual' } },
  users: env.accounts.map((account) => ({
    id: single ? account.user : basename(account.maildir),
    entries: [
      {
        id: `${account.user}-remote`,
        server: `${env.host}:${env.port}`,
        tls: env.tls,
        username: account.user,
        password: account.password,
        ...(env.apop ? { auth: 'apop' } : {}),
        leaveOnServer: env.keep,
      },
    ],
  })),
};
const file = join(stateDir, 'multipop.json');
writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
process.exitCode = await runCli(['collect', '--config', file]);
