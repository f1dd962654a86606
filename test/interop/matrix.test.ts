/**
 * The interoperability matrix: our POP3 client and collector against five real servers
 * (Dovecot, Cyrus, Courier, popa3d, GNU Mailutils), feature by feature. Every message we
 * deliver must be byte-identical to what the server *serves*; where a server serves something
 * other than what was stored (Mailutils' X-UIDL, Courier's wrapper for 8-bit headers), the
 * difference is recorded in the matrix note and in docs/interoperability.md.
 *
 * `MULTIPOP_WRITE_INTEROP_MATRIX=1 npx vitest run test/interop/matrix.test.ts` rewrites the
 * matrix table of that document from the run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TlsMode } from '../../src/config/index.js';
import { parseConfig } from '../../src/config/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { Pop3Client } from '../../src/pop3/index.js';
import { memoryDirectory, memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { describeWithDovecot } from '../helpers/dovecot.js';
import { describeWithInteropServer, interopAvailability } from '../helpers/servers/available.js';
import { startCourier } from '../helpers/servers/courier.js';
import { startCyrus } from '../helpers/servers/cyrus.js';
import { startDovecotInterop } from '../helpers/servers/dovecot-interop.js';
import { startMailutils } from '../helpers/servers/mailutils.js';
import { startPopa3d } from '../helpers/servers/popa3d.js';
import { joinLines, RawPop3 } from '../helpers/servers/raw-pop3.js';
import type { InteropServer, InteropServerOptions, PopServerName } from '../helpers/servers/types.js';
import { seqOf, testMessage } from '../support/messages.js';
import { withoutTraceHeader } from '../support/trace-header.js';
import { type MatrixFeature, publishMatrix, recordCell, recordLabel } from './matrix-report.js';
import { settledMessages } from './settled.js';

const DOC = join(import.meta.dirname, '../../docs/interoperability.md');

/** Test accounts (prefixed so none is a system account, which popa3d would clash with). */
const USERS = {
  client: 'mpclient',
  dele: 'mpdele',
  eightBit: 'mpeight',
  collectDelete: 'mpcoldel',
  collectLeave: 'mpcolkeep',
} as const;
const password = (user: string) => `Pw-${user}-7`;

const clientMessages = [
  testMessage(1, 1_500),
  testMessage(2, 40_000),
  testMessage(3, 600),
  testMessage(4, 3_000),
];
const deleMessages = [testMessage(10), testMessage(11)];
const collectDeleteMessages = [testMessage(20, 5_000), testMessage(21), testMessage(22, 12_000)];
const collectLeaveMessages = [testMessage(30), testMessage(31, 8_000), testMessage(32)];
/** UTF-8 in the Subject and From phrase, as an RFC 6532 message would have. */
const eightBitHeaderMessage = Buffer.concat([
  Buffer.from('Message-ID: <eight-bit@multipop.test>\r\nFrom: ', 'latin1'),
  Buffer.from('Jürgen Weiß <juergen@example.de>\r\nSubject: Grüße aus Köln ☕\r\n', 'utf8'),
  Buffer.from(
    'X-Test-Seq: 99\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n',
    'latin1',
  ),
  Buffer.from('.\r\nSchöne Grüße\r\n', 'utf8'),
]);

interface ServerUnderTest {
  name: PopServerName;
  start: (options: InteropServerOptions) => Promise<InteropServer>;
  describe: (title: string, fn: () => void) => void;
}

const servers: ServerUnderTest[] = [
  { name: 'dovecot', start: startDovecotInterop, describe: describeWithDovecot },
  { name: 'cyrus', start: startCyrus, describe: (t, fn) => describeWithInteropServer('cyrus', t, fn) },
  { name: 'courier', start: startCourier, describe: (t, fn) => describeWithInteropServer('courier', t, fn) },
  { name: 'popa3d', start: startPopa3d, describe: (t, fn) => describeWithInteropServer('popa3d', t, fn) },
  {
    name: 'mailutils',
    start: startMailutils,
    describe: (t, fn) => describeWithInteropServer('mailutils', t, fn),
  },
];

afterAll(async () => {
  for (const [name, availability] of Object.entries(interopAvailability)) {
    if (!availability.available)
      recordLabel(name as PopServerName, `${name} (not run: ${availability.reason})`);
  }
  await publishMatrix(DOC);
});

for (const entry of servers) {
  entry.describe(`interop matrix: ${entry.name}`, () => {
    let server: InteropServer;
    /** Every message of a user as the server serves it to a client that lists UIDs first (as ours does). */
    const served = new Map<string, Buffer[]>();

    beforeAll(async () => {
      server = await entry.start({
        users: Object.values(USERS).map((name) => ({ name, password: password(name) })),
      });
      recordLabel(entry.name, server.label);
      await server.seed(USERS.client, clientMessages);
      await server.seed(USERS.dele, deleMessages);
      await server.seed(USERS.eightBit, [eightBitHeaderMessage]);
      await server.seed(USERS.collectDelete, collectDeleteMessages);
      await server.seed(USERS.collectLeave, collectLeaveMessages);
      for (const user of [USERS.client, USERS.eightBit, USERS.collectDelete, USERS.collectLeave]) {
        served.set(user, await retrieveRaw(server, user));
      }
    });
    afterAll(() => server?.stop());

    /**
     * One matrix cell as one test: skipped (n/a) when the server does not offer the feature,
     * otherwise pass or fail; the body may return a note for the cell.
     */
    function feature(
      name: MatrixFeature,
      offered: (s: InteropServer) => boolean,
      body: (s: InteropServer) => Promise<string | undefined> | Promise<void>,
    ) {
      it(name, async (ctx) => {
        if (!offered(server)) {
          recordCell(entry.name, name, { state: 'n/a' });
          ctx.skip(`${entry.name} does not offer ${name}`);
          return;
        }
        try {
          const note = await body(server);
          recordCell(entry.name, name, note === undefined ? { state: 'pass' } : { state: 'pass', note });
        } catch (err) {
          recordCell(entry.name, name, {
            state: 'fail',
            note: String((err as Error).message)
              .split('\n')[0]!
              .slice(0, 80),
          });
          throw err;
        }
      });
    }

    feature(
      'CAPA read',
      () => true,
      (s) =>
        withClient(s, bestTls(s), async (client) => {
          const caps = client.capabilities;
          if (!s.capabilities.capa) {
            expect(caps.raw).toEqual([]);
            return 'no CAPA: RFC 1939 baseline assumed';
          }
          expect(caps.uidl).toBe(s.capabilities.uidl);
          expect(caps.top).toBe(s.capabilities.top);
          expect(caps.pipelining).toBe(s.capabilities.pipelining);
          expect(caps.respCodes).toBe(s.capabilities.respCodes);
          // STLS is offered before the upgrade only; after it (or on implicit TLS) it is gone.
          expect(caps.sasl).toEqual(
            expect.arrayContaining(s.capabilities.sasl.filter((m) => m !== 'CRAM-MD5')),
          );
          await client.quit();
          return undefined;
        }),
    );

    feature(
      'USER/PASS',
      () => true,
      // The plain port, as a host would only do with `tls: 'none'` set explicitly.
      (s) =>
        withClient(s, 'none', async (client) => {
          await loginAs(client, s, USERS.client);
          await expectClientMaildropThenQuit(client);
        }),
    );

    feature(
      'APOP',
      (s) => s.capabilities.apop,
      (s) =>
        withClient(s, bestTls(s), async (client) => {
          expect(client.apopTimestamp).toMatch(/^<.+>$/);
          await client.apop(s.loginName(USERS.client), password(USERS.client));
          await expectClientMaildropThenQuit(client);
        }),
    );

    feature(
      'AUTH PLAIN',
      (s) => s.capabilities.sasl.includes('PLAIN'),
      (s) =>
        withClient(s, bestTls(s), async (client) => {
          await client.authPlain(s.loginName(USERS.client), password(USERS.client));
          await expectClientMaildropThenQuit(client);
        }),
    );

    feature(
      'STLS',
      (s) => s.capabilities.stls,
      (s) =>
        withClient(s, 'starttls', async (client) => {
          expect(client.secure).toBe(true);
          expect(client.capabilities.stls).toBe(false);
          await loginAs(client, s, USERS.client);
          await expectClientMaildropThenQuit(client);
        }),
    );

    feature(
      'Implicit TLS',
      (s) => s.capabilities.implicitTls,
      (s) =>
        withClient(s, 'implicit', async (client) => {
          expect(client.secure).toBe(true);
          await loginAs(client, s, USERS.client);
          await expectClientMaildropThenQuit(client);
        }),
    );

    feature(
      'UIDL',
      (s) => s.capabilities.uidl,
      async (s) => {
        const raw = await rawUidl(s, USERS.client);
        return withClient(s, bestTls(s), async (client) => {
          await loginAs(client, s, USERS.client);
          const listing = await client.uidl();
          expect(listing.map((e) => `${e.msg} ${e.uid}`)).toEqual(raw);
          expect(new Set(listing.map((e) => e.uid)).size).toBe(clientMessages.length);
          expect(await client.uidl(2)).toEqual(listing[1]);
          await client.quit();
          return `e.g. \`${listing[0]!.uid}\``;
        });
      },
    );

    feature(
      'TOP',
      (s) => s.capabilities.top,
      async (s) => {
        const rawTop = await rawTopOf(s, USERS.client, 2, 3);
        await withClient(s, bestTls(s), async (client) => {
          await loginAs(client, s, USERS.client, { uidlFirst: true });
          const expected = served.get(USERS.client)![1]!;
          const headerEnd = expected.indexOf('\r\n\r\n') + 4;
          expect(await client.top(2, 0)).toEqual(expected.subarray(0, headerEnd));
          const threeLines = await client.top(2, 3);
          expect(threeLines).toEqual(rawTop);
          await client.quit();
        });
        const prefix = expected3(served.get(USERS.client)![1]!);
        return rawTop.equals(prefix)
          ? undefined
          : 'TOP n>0 serves an extra empty line after the header; passed through';
      },
    );

    feature(
      'RETR byte-identical',
      () => true,
      async (s) => {
        await withClient(
          s,
          bestTls(s),
          async (client) => {
            await loginAs(client, s, USERS.client, { uidlFirst: true });
            const expected = served.get(USERS.client)!;
            for (let n = 1; n <= clientMessages.length; n++) {
              expect(await readAll(await client.retr(n)), `message ${n}`).toEqual(expected[n - 1]);
            }
            await client.quit();
          },
          false,
        );
        return changeNote(clientMessages, served.get(USERS.client)!);
      },
    );

    feature(
      '8-bit headers',
      () => true,
      async (s) => {
        const received = await withClient(s, bestTls(s), async (client) => {
          await loginAs(client, s, USERS.eightBit, { uidlFirst: true });
          const message = await readAll(await client.retr(1));
          await client.quit();
          return message;
        });
        const expected = served.get(USERS.eightBit)![0]!;
        // Courier's wrapper has a per-session MIME boundary; everything else must match.
        expect(withoutCourierBoundary(received)).toEqual(withoutCourierBoundary(expected));
        if (received.includes('Cannot display Unicode content')) {
          expect(received.includes(eightBitHeaderMessage)).toBe(true);
          return 'server wraps the message (no `UTF8` sent); original attached as message/global';
        }
        return changeNote([eightBitHeaderMessage], [received]);
      },
    );

    feature(
      'PIPELINING',
      (s) => s.capabilities.pipelining,
      (s) =>
        withClient(s, bestTls(s), async (client) => {
          expect(client.capabilities.pipelining).toBe(true);
          // Issued at once: the client must hold everything back until PASS is answered (Courier
          // drops commands that arrive behind PASS), then send the rest in windows.
          const login = loginAs(client, s, USERS.client);
          const stat = client.stat();
          const listing = client.uidl();
          const bodies = clientMessages.map((_, i) => client.retr(i + 1));
          await login;
          expect(await stat).toMatchObject({ count: clientMessages.length });
          expect(await listing).toHaveLength(clientMessages.length);
          expect(client.pipelineWindow).toBeGreaterThan(1);
          const expected = served.get(USERS.client)!;
          for (const [i, body] of bodies.entries()) {
            expect(await readAll(await body), `message ${i + 1}`).toEqual(expected[i]);
          }
          await client.quit();
          return `window ${client.pipelineWindow}`;
        }),
    );

    feature(
      'DELE + QUIT',
      () => true,
      async (s) => {
        await withClient(s, bestTls(s), async (client) => {
          await loginAs(client, s, USERS.dele);
          await client.dele(1);
          await client.quit();
        });
        const left = await settledMessages(s, USERS.dele, 1);
        expect(left.map((m) => seqOf(m))).toEqual([11]);
        return undefined;
      },
    );

    feature(
      'Collector, delete mode',
      () => true,
      (s) =>
        withCollector(s, USERS.collectDelete, false, async ({ queue, collect }) => {
          const [summary] = await collect();
          expect(summary).toMatchObject({ ok: true, result: { collected: 3, deleted: 3 } });
          expectDelivered(queue.messages, served.get(USERS.collectDelete)!);
          expect(await settledMessages(s, USERS.collectDelete, 0)).toEqual([]);
          // Nothing left, nothing delivered twice.
          const [again] = await collect();
          expect(again).toMatchObject({ ok: true, result: { collected: 0, onServer: 0 } });
          expect(queue.messages).toHaveLength(3);
        }),
    );

    feature(
      'Collector, leave mode',
      () => true,
      (s) =>
        withCollector(s, USERS.collectLeave, true, async ({ queue, collect }) => {
          const [summary] = await collect();
          expect(summary).toMatchObject({ ok: true, result: { collected: 3, deleted: 0 } });
          expectDelivered(queue.messages, served.get(USERS.collectLeave)!);
          const [again] = await collect();
          expect(again).toMatchObject({ ok: true, result: { collected: 0, onServer: 3 } });
          expect(queue.messages).toHaveLength(3);
          expect((await s.messages(USERS.collectLeave)).map((m) => seqOf(m))).toEqual([30, 31, 32]);
        }),
    );
  });
}

// ————— helpers —————

/** Implicit TLS when offered, else STLS, else plain (popa3d). */
function bestTls(server: InteropServer): TlsMode {
  return server.capabilities.implicitTls ? 'implicit' : server.capabilities.stls ? 'starttls' : 'none';
}

function connect(
  server: InteropServer,
  tls: TlsMode,
  pipelining: 'auto' | false = 'auto',
): Promise<Pop3Client> {
  return Pop3Client.connect({
    host: server.host,
    port: tls === 'implicit' ? server.tlsPort! : server.port,
    tls,
    ...(server.caPem ? { tlsOptions: { ca: server.caPem } } : {}),
    timeouts: { connect: 10_000, greeting: 10_000, idle: 15_000 },
    pipelining,
    logger: false,
  });
}

/** Connects, runs `use` with the client, and closes the connection whatever happens. */
async function withClient<T>(
  server: InteropServer,
  tls: TlsMode,
  use: (client: Pop3Client) => Promise<T>,
  pipelining: 'auto' | false = 'auto',
): Promise<T> {
  const client = await connect(server, tls, pipelining);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/**
 * USER/PASS as `user`; with `uidlFirst`, then lists the UIDs when the server offers UIDL, the
 * way our collector does before it retrieves (Mailutils changes what it serves after a UIDL).
 */
async function loginAs(
  client: Pop3Client,
  server: InteropServer,
  user: string,
  options: { uidlFirst?: boolean } = {},
): Promise<void> {
  await client.login(server.loginName(user), password(user));
  if (options.uidlFirst && server.capabilities.uidl) await client.uidl();
}

/** The end of a login cell: the maildrop holds the client user's messages; then QUIT. */
async function expectClientMaildropThenQuit(client: Pop3Client): Promise<void> {
  expect(await client.stat()).toMatchObject({ count: clientMessages.length });
  await client.quit();
}

/**
 * The user's messages as the server serves them, fetched with the raw line reader the way our
 * client asks (UIDL first when offered, no UTF8), without deleting anything.
 */
function retrieveRaw(server: InteropServer, user: string): Promise<Buffer[]> {
  return withRawSession(server, user, async (pop) => {
    await rawUidlFirst(pop, server);
    const stat = await pop.command('STAT');
    const count = Number(/^\+OK (\d+)/.exec(stat)?.[1]);
    const messages: Buffer[] = [];
    for (let n = 1; n <= count; n++) messages.push(await pop.retr(n));
    return messages;
  });
}

/** The raw UIDL listing lines (`n uid`). */
function rawUidl(server: InteropServer, user: string): Promise<string[]> {
  return withRawSession(server, user, async (pop) => {
    expect(await pop.command('UIDL')).toMatch(/^\+OK/);
    return (await pop.readBody()).map((line) => line.toString('latin1'));
  });
}

/** `TOP msg lines` through the raw line reader (UIDL first, as our client does). */
function rawTopOf(server: InteropServer, user: string, msg: number, lines: number): Promise<Buffer> {
  return withRawSession(server, user, async (pop) => {
    await rawUidlFirst(pop, server);
    expect(await pop.command(`TOP ${msg} ${lines}`)).toMatch(/^\+OK/);
    return joinLines(await pop.readBody());
  });
}

/** Logs `user` in over the raw line reader, runs `use`, sends QUIT, and closes whatever happens. */
async function withRawSession<T>(
  server: InteropServer,
  user: string,
  use: (pop: RawPop3) => Promise<T>,
): Promise<T> {
  const pop = await RawPop3.connect({ port: server.port });
  try {
    await pop.readLine();
    expect(await pop.command(`USER ${server.loginName(user)}`)).toMatch(/^\+OK/);
    expect(await pop.command(`PASS ${password(user)}`)).toMatch(/^\+OK/);
    const result = await use(pop);
    await pop.quit();
    return result;
  } finally {
    pop.close();
  }
}

/** Lists the UIDs first when the server offers UIDL, as our client does before it retrieves. */
async function rawUidlFirst(pop: RawPop3, server: InteropServer): Promise<void> {
  if (!server.capabilities.uidl) return;
  expect(await pop.command('UIDL')).toMatch(/^\+OK/);
  await pop.readBody();
}

async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** What `TOP n 3` should serve: the header, the empty line and three body lines of the message. */
function expected3(message: Buffer): Buffer {
  const headerEnd = message.indexOf('\r\n\r\n') + 4;
  return message.subarray(0, nthLineEnd(message, headerEnd, 3));
}

/** Offset just past the `count`-th line after `from`. */
function nthLineEnd(message: Buffer, from: number, count: number): number {
  let offset = from;
  for (let i = 0; i < count; i++) offset = message.indexOf('\r\n', offset) + 2;
  return offset;
}

function withoutCourierBoundary(message: Buffer): string {
  return message.toString('latin1').replace(/=_[0-9]+-[0-9]+/g, '=_BOUNDARY');
}

/** How what the server serves differs from what was stored, for the matrix note. */
function changeNote(seeded: readonly Buffer[], servedMessages: readonly Buffer[]): string | undefined {
  if (seeded.every((message, i) => message.equals(servedMessages[i]!))) return undefined;
  const withoutXUidl = servedMessages.map((m) =>
    Buffer.from(m.toString('latin1').replace(/^X-UIDL: [^\r]*\r\n/m, ''), 'latin1'),
  );
  if (seeded.every((message, i) => message.equals(withoutXUidl[i]!)))
    return 'server inserts `X-UIDL:`; we deliver what it serves';
  return 'server changes the message; we deliver what it serves';
}

/** Runs `use` with a fetcher that has one entry for `user` on `server`; stops it whatever happens. */
async function withCollector(
  server: InteropServer,
  user: string,
  leaveOnServer: boolean,
  use: (collector: {
    queue: ReturnType<typeof memoryQueue>;
    collect: () => ReturnType<MultiPopFetcher['collectNow']>;
  }) => Promise<void>,
): Promise<void> {
  const tls = bestTls(server);
  const queue = memoryQueue();
  const fetcher = new MultiPopFetcher({
    directory: memoryDirectory(
      parseConfig({
        users: [
          {
            id: 'ann@example.com',
            entries: [
              {
                id: `${server.name}-${user}`,
                server: `${server.host}:${tls === 'implicit' ? server.tlsPort : server.port}`,
                tls,
                username: server.loginName(user),
                password: password(user),
                leaveOnServer,
              },
            ],
          },
        ],
      }),
    ),
    ledger: memoryLedger(),
    queue,
    ...(server.caPem ? { connection: { tlsOptions: { ca: server.caPem } } } : {}),
    logger: false,
  });
  try {
    await use({ queue, collect: () => fetcher.collectNow({ force: true }) });
  } finally {
    await fetcher.stop();
  }
}

/**
 * Every delivered message, after our trace header block (`Received:` and
 * `X-MultiPOP-Source:`), is exactly one of the messages the server serves, each once.
 */
function expectDelivered(
  delivered: ReadonlyArray<{ content: Buffer }>,
  servedMessages: readonly Buffer[],
): void {
  expect(delivered).toHaveLength(servedMessages.length);
  const bodies = delivered.map((m) => withoutTraceHeader(m.content));
  const bySeq = (m: Buffer) => seqOf(m) ?? -1;
  expect(bodies.map(bySeq).sort()).toEqual(servedMessages.map(bySeq).sort());
  for (const body of bodies) {
    const original = servedMessages.find((m) => bySeq(m) === bySeq(body))!;
    expect(body.equals(original), `message ${bySeq(body)} byte-identical`).toBe(true);
  }
}
