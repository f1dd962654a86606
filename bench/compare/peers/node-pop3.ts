/**
 * node-pop3 (npm, 0.11) used the way its README shows: `UIDL()` / `RETR(n)` returning a
 * string, written to the Maildir, `DELE` each, `QUIT`. Nothing is added to repair it, so the
 * benchmark measures what a user of the library gets (it does not un-stuff dot lines and
 * decodes the bytes as UTF-8, which replaces 8-bit bytes — the correctness column shows it).
 *
 * Same environment variables as every contender (see env.ts); POP_ACCOUNTS runs several
 * mailboxes, POP_CONCURRENCY at a time. APOP and STARTTLS are not offered by node-pop3.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Pop3Command from 'node-pop3';
import { type Account, eachLimited, type PeerEnv, readPeerEnv } from './env.js';
import { ensureMaildir, startMessage } from './maildir-writer.js';

async function collect(env: PeerEnv, account: Account): Promise<void> {
  if (env.apop) throw new Error('node-pop3 has no APOP');
  if (env.tls === 'starttls') throw new Error('node-pop3 has no STARTTLS');
  ensureMaildir(account.maildir);
  const pop3 = new Pop3Command({
    user: account.user,
    password: account.password,
    host: env.host,
    port: env.port,
    tls: env.tls === 'implicit',
    timeout: env.timeoutMs,
    servername: env.tlsName,
    tlsOptions: env.ca ? { ca: env.ca } : {},
  });
  let numbers: number[];
  let stateFile: string | undefined;
  let uids: string[] = [];
  if (env.keep) {
    mkdirSync(account.stateDir, { recursive: true });
    stateFile = join(account.stateDir, 'node-pop3.uidl');
    const known = new Set(existsSync(stateFile) ? readFileSync(stateFile, 'utf8').split('\n') : []);
    const listing = (await pop3.UIDL()) as string[][];
    uids = listing.map((row) => String(row[1]));
    numbers = listing.filter((row) => !known.has(String(row[1]))).map((row) => Number(row[0]));
  } else {
    const stat = await pop3.STAT();
    numbers = Array.from({ length: Number(stat.split(' ')[0]) }, (_, i) => i + 1);
  }
  for (const n of numbers) {
    const text = await pop3.RETR(n);
    const message = startMessage(account.maildir);
    message.write(Buffer.from(text));
    message.finish();
    if (!env.keep) await pop3.DELE(n);
  }
  if (stateFile) writeFileSync(stateFile, `${uids.join('\n')}\n`);
  await pop3.QUIT();
}

async function main(): Promise<void> {
  const env = readPeerEnv(process.env);
  await eachLimited(env.accounts, env.concurrency, (account) => collect(env, account));
}

// node-pop3 can wait for the end of a response forever (when the terminator is split across
// network chunks); once its socket times out and closes, nothing keeps Node running and the
// process would exit 0 with the session unfinished. Report that as the failure it is.
let finished = false;
process.on('exit', () => {
  if (finished) return;
  process.stderr.write('node-pop3: the session stopped before it finished (a response never completed)\n');
  process.exitCode = 1;
});

main().then(
  () => {
    finished = true;
    process.exit(0);
  },
  (err: unknown) => {
    finished = true;
    process.stderr.write(`node-pop3: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
