/**
 * The single-mailbox collector command: collects ONE remote POP3 mailbox into a Maildir with the
 * real `MultiPopFetcher`, the embedded SQLite ledger and the Maildir queue — the same code path
 * a host uses. Configured only by environment variables (see docs/collector.md):
 *
 *   POP_HOST, POP_PORT, POP_TLS (implicit|starttls|none), POP_CA (PEM file to trust),
 *   POP_USER, POP_PASS, POP_AUTH (password|apop), MAILDIR, STATE_DIR, KEEP (1 = leave on server),
 *   POP_TIMEOUT (seconds per network step)
 *
 * Exits 0 after a complete, clean session; otherwise 1 with one line `multipop: <CODE>: <message>`.
 *
 *   npx tsx examples/collect-to-maildir.ts                 (from source)
 *   node dist-examples/collect-to-maildir.js               (built: npm run build:examples)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ConnectionTuning,
  isMultiPopError,
  MultiPopError,
  MultiPopFetcher,
  maildirQueue,
  parseMailboxEntry,
  parseServerSettings,
} from 'multipop';
import { openSqliteStore } from 'multipop/sqlite';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new MultiPopError('CONFIG_INVALID', `${name} is not set`, { field: name });
  return value;
}

/** The store key lives beside the ledger, readable by the owner only. */
function loadOrCreateKey(stateDir: string): Buffer {
  const file = join(stateDir, 'store.key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

async function main(): Promise<void> {
  const stateDir = required('STATE_DIR');
  const maildir = required('MAILDIR');
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(maildir, { recursive: true });

  const settings = parseServerSettings({ enabled: true, alwaysDelete: false, schedule: { mode: 'manual' } });
  const entry = parseMailboxEntry({
    id: 'mailbox',
    server: `${required('POP_HOST')}:${required('POP_PORT')}`,
    tls: (process.env['POP_TLS'] ?? 'implicit') as 'implicit' | 'starttls' | 'none',
    username: required('POP_USER'),
    password: required('POP_PASS'),
    auth: process.env['POP_AUTH'] === 'apop' ? 'apop' : 'password',
    leaveOnServer: process.env['KEEP'] === '1',
  });

  const store = await openSqliteStore({
    path: join(stateDir, 'multipop.sqlite'),
    key: loadOrCreateKey(stateDir),
  });
  try {
    await store.directory.setSettings(settings);
    await store.directory.putUser({ id: 'local', enabled: true, mayEditSettings: false });
    await store.directory.putEntry('local', entry);

    const timeoutSeconds = process.env['POP_TIMEOUT'] ? Number(process.env['POP_TIMEOUT']) : undefined;
    const ca = process.env['POP_CA'];
    const connection: ConnectionTuning = {
      ...(ca ? { tlsOptions: { ca: readFileSync(ca) } } : {}),
      ...(timeoutSeconds
        ? {
            timeouts: {
              connect: timeoutSeconds * 1000,
              greeting: timeoutSeconds * 1000,
              idle: timeoutSeconds * 1000,
            },
          }
        : {}),
    };
    const fetcher = new MultiPopFetcher({
      directory: store.directory,
      ledger: store.ledger,
      queue: maildirQueue({ root: maildir, single: true }),
      connection,
    });
    const [outcome] = await fetcher.collectNow({ mailboxId: entry.id, force: true });
    await fetcher.stop();
    if (!outcome) throw new MultiPopError('NOT_FOUND', 'the mailbox was not collected');
    if (!outcome.ok) throw outcome.error;
  } finally {
    await store.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const code = isMultiPopError(err) ? err.code : 'INTERNAL';
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    process.stderr.write(`multipop: ${code}: ${message}\n`);
    process.exit(1);
  },
);
