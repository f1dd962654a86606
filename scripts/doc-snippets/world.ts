/**
 * What a documentation snippet runs against: the objects scripts/doc-snippets/prelude.d.ts
 * declares (the fetcher, its ports, `myMta`, `pino()`, a POP3 client, …), real ones, over the
 * fake POP3 server that plays every POP3 host the docs name (see network.ts), in a temporary
 * directory that stands in for the file system paths the docs use.
 *
 * Names a block's `@doc-context` declares and the world has no value for — the host's own
 * things, like `remoteMailCycle` or `quotas` — become inert stand-ins (see {@link standIn}):
 * the block runs, and whatever it does with them does nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Logger, MultiPopFetcher, OAuthService, parseConfig, parseMailboxEntry } from 'multipop';
import { Pop3Client } from 'multipop/pop3';
import { generateStoreKey } from 'multipop/sqlite';
import {
  type FakePop3Server,
  fakeClock,
  memoryDirectory,
  memoryLedger,
  memoryQueue,
  memoryTokenStore,
  startFakePop3Server,
} from 'multipop/testing';

/** The mailboxes behind the docs' hosts: `ann` / `s3cret` (pop.gmx.net), `ann@example.com`. */
export const DOC_PASSWORD = 's3cret';
export const DOC_POP_PASSWORD = 'pop-password';

/** The paths the docs use, each made relative so that it lands in the run's directory. */
export const DOC_ROOTS = ['/var/lib/multipop', '/etc/multipop', '/var/spool/multipop', '/var/vmail'] as const;

/** Environment variables the docs read, with values that work in the world. */
export function docEnvironment(): Record<string, string> {
  return {
    MULTIPOP_KEY: generateStoreKey(),
    MULTIPOP_STORE_KEY: generateStoreKey(),
    POP_PASSWORD: DOC_POP_PASSWORD,
    GMAIL_CLIENT_SECRET: 'GOCSPX-doc-check',
    MS_CLIENT_SECRET: 'doc-check-secret',
  };
}

const message = (subject: string) => Buffer.from(`Subject: ${subject}\r\n\r\nHello from the doc check.\r\n`);

/** The fake server the docs' hosts reach: implicit TLS with the run's certificate. */
export async function startDocServer(certDir: string) {
  const [certPem, keyPem] = await Promise.all([
    readFile(join(certDir, 'cert.pem'), 'utf8'),
    readFile(join(certDir, 'key.pem'), 'utf8'),
  ]);
  return startFakePop3Server({
    users: [
      { name: 'ann', password: DOC_PASSWORD, messages: [message('one'), message('two')] },
      { name: 'ann@example.com', password: DOC_POP_PASSWORD, messages: [message('three')] },
      { name: 'bob', password: DOC_PASSWORD, messages: [message('four'), message('five')] },
    ],
    capabilities: { pipelining: true },
    tls: { certPem, keyPem },
    implicitTls: true,
  });
}

/**
 * Makes the directory layout the docs assume (under `dir`, which becomes the working directory):
 * the state and spool directories, and a store key as `multipop keygen --out` writes it.
 */
export async function prepareDirectory(dir: string): Promise<void> {
  for (const root of DOC_ROOTS) await mkdir(join(dir, `.${root}`), { recursive: true });
  await writeFile(join(dir, '.', '/etc/multipop/store.key'), `${generateStoreKey()}\n`, { mode: 0o600 });
}

/** A stand-in for a host object: every property, call and `new` gives another stand-in. */
export function standIn(name: string): unknown {
  const target = function standInTarget() {};
  return new Proxy(target, {
    get: (_, key) => {
      if (key === 'then') return undefined; // not a promise: `await standIn` is the stand-in
      if (key === Symbol.toPrimitive) return () => 0;
      if (key === Symbol.iterator) return function* () {};
      if (key === 'toString' || key === Symbol.toStringTag) return () => `[stand-in ${name}]`;
      return standIn(`${name}.${String(key)}`);
    },
    apply: () => standIn(`${name}()`),
    construct: () => standIn(`new ${name}`) as object,
  });
}

/** The host's MTA of the docs: keeps each message, once per key. */
function memoryMta() {
  const held = new Map<string, { id: string; recipient: string; content: Buffer }>();
  return {
    held,
    async submit(recipient: string, content: Readable, options?: string | { key: string }): Promise<string> {
      const chunks: Buffer[] = [];
      for await (const chunk of content) chunks.push(chunk as Buffer);
      const key = typeof options === 'string' ? options : (options?.key ?? `no-key-${held.size}`);
      const earlier = held.get(key);
      if (earlier) return earlier.id;
      const id = `mta-${held.size + 1}`;
      held.set(key, { id, recipient, content: Buffer.concat(chunks) });
      return id;
    },
    async findByKey(key: string): Promise<string | undefined> {
      return held.get(key)?.id;
    },
  };
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The prelude's objects, real. `uses` are the names the snippet refers to: the POP3 client (which
 * holds a maildrop open) is only connected when a snippet uses it.
 */
export async function buildWorld(
  server: FakePop3Server,
  uses: ReadonlySet<string>,
): Promise<{ globals: Record<string, unknown>; close(): Promise<void> }> {
  const entry = parseMailboxEntry({ id: 'ann-gmx', server: 'pop.gmx.net:995', username: 'ann', password: DOC_PASSWORD });
  const config = parseConfig({
    users: [{ id: 'ann@example.com', mayEditSettings: true, entries: [entry] }],
  });
  const directory = memoryDirectory(config);
  const ledger = memoryLedger();
  const queue = memoryQueue();
  const tokens = memoryTokenStore();
  const oauth = new OAuthService({ tokens, directory, logger: quiet });
  const fetcher = new MultiPopFetcher({ directory, ledger, queue, tokens, oauth });
  const globals: Record<string, unknown> = {
    myMta: memoryMta(),
    pino: () => quiet,
    fetcher,
    directory,
    ledger,
    queue,
    tokens,
    settings: config.settings,
    entry,
    ports: { directory, ledger, queue },
    oauth,
    clock: fakeClock(Date.UTC(2025, 0, 1)),
    server,
    // Names some blocks' @doc-context declares, with values of the declared type.
    storeKey: randomBytes(32),
    key: generateStoreKey(),
    path: './var/lib/multipop/state.sqlite',
    log: quiet,
  };
  let client: Pop3Client | undefined;
  if (uses.has('client')) {
    client = await Pop3Client.connect({ host: 'pop.example.com', port: 995, tls: 'implicit' });
    await client.login('bob', DOC_PASSWORD);
    globals.client = client;
  }
  return {
    globals,
    async close() {
      await fetcher.stop().catch(() => {});
      client?.close();
    },
  };
}
