/**
 * Fault → typed error code, for the whole collector path (session runner + client + queue +
 * ledger), against the in-process fake server — the faults a real server won't make on demand.
 * For every row: the expected code, the host process survives, no partial message reaches the
 * queue, and a clean follow-up session (same mailbox, same UIDLs) ends with every message in the
 * queue exactly once and none left on the server. Credentials never reach a log or an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordAuth } from '../../src/auth/index.js';
import { runSession } from '../../src/collect/session.js';
import type { ConnectionTuning } from '../../src/collect/session-api.js';
import { type MailboxEntryInput, parseMailboxEntry, parseServerSettings } from '../../src/config/index.js';
import { type ErrorCode, isMultiPopError } from '../../src/errors/index.js';
import { createLog } from '../../src/log/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import {
  createTestCertificate,
  type FakePop3Fault,
  type FakePop3Options,
  startFakePop3Server,
  type TestCertificate,
} from '../../src/testing/fake-pop3/index.js';
import { capturingLogger } from '../auth/support/oauth-fixture.js';
import { seqOf, testMessage } from '../support/messages.js';

const PASSWORD = 'fault-suite-password-7f3a';
const ORIGINALS = [testMessage(1, 3_000), testMessage(2, 20_000), testMessage(3, 1_500)];
const UIDS = ['uid-one', 'uid-two', 'uid-three'];
const FAST: ConnectionTuning = { timeouts: { connect: 2_000, greeting: 400, idle: 400 } };

interface FaultRow {
  name: string;
  code: ErrorCode;
  faults?: FakePop3Fault[];
  server?: Partial<FakePop3Options>;
  entry?: Partial<MailboxEntryInput>;
  /** No credential may have been sent (TLS rows). */
  noCredentials?: boolean;
  tls?: 'stls' | 'stls-wrong-name' | 'stls-expired';
}

const drop = (step: string, extra: Partial<FakePop3Fault['when']> = {}): FakePop3Fault => ({
  action: 'drop',
  when: { step, ...extra },
});
const stall = (step: string, extra: Partial<FakePop3Fault['when']> = {}): FakePop3Fault => ({
  action: 'stall',
  when: { step, ...extra },
});
const respond = (step: string, line: string): FakePop3Fault => ({ action: 'respond', when: { step }, line });

const ROWS: FaultRow[] = [
  { name: 'drop at the greeting', code: 'CONNECTION_CLOSED', faults: [drop('greeting')] },
  { name: 'drop at USER', code: 'CONNECTION_CLOSED', faults: [drop('USER')] },
  { name: 'drop at PASS', code: 'CONNECTION_CLOSED', faults: [drop('PASS')] },
  { name: 'drop at UIDL', code: 'CONNECTION_CLOSED', faults: [drop('UIDL')] },
  { name: 'drop at LIST', code: 'CONNECTION_CLOSED', faults: [drop('LIST')] },
  {
    name: 'drop in the middle of message 2',
    code: 'CONNECTION_CLOSED',
    faults: [drop('RETR', { nth: 2, afterBodyBytes: 5_000 })],
  },
  { name: 'drop at DELE', code: 'CONNECTION_CLOSED', faults: [drop('DELE', { nth: 2 })] },
  { name: 'drop at QUIT', code: 'CONNECTION_CLOSED', faults: [drop('QUIT')] },
  { name: 'stall at the greeting', code: 'GREETING_TIMEOUT', faults: [stall('greeting')] },
  { name: 'stall at PASS', code: 'COMMAND_TIMEOUT', faults: [stall('PASS')] },
  {
    name: 'stall in the middle of a message',
    code: 'COMMAND_TIMEOUT',
    faults: [stall('RETR', { nth: 1, afterBodyBytes: 1_000 })],
  },
  { name: 'QUIT never answered', code: 'COMMAND_TIMEOUT', faults: [stall('QUIT')] },
  { name: '-ERR [IN-USE]', code: 'IN_USE', faults: [respond('PASS', '-ERR [IN-USE] maildrop locked')] },
  { name: '-ERR [LOGIN-DELAY]', code: 'LOGIN_DELAY', faults: [respond('PASS', '-ERR [LOGIN-DELAY] wait')] },
  { name: '-ERR [SYS/TEMP]', code: 'SYS_TEMP', faults: [respond('PASS', '-ERR [SYS/TEMP] try later')] },
  {
    name: '-ERR [SYS/PERM]',
    code: 'SYS_PERM',
    faults: [respond('PASS', '-ERR [SYS/PERM] account disabled')],
  },
  { name: '-ERR [AUTH]', code: 'AUTH_FAILED', faults: [respond('PASS', '-ERR [AUTH] invalid credentials')] },
  { name: 'DELE refused', code: 'SERVER_ERROR', faults: [respond('DELE', '-ERR cannot delete')] },
  {
    name: 'a body that never ends (M7 in force)',
    code: 'LIMIT_EXCEEDED',
    faults: [{ action: 'endlessBody', when: { step: 'RETR', nth: 1 } }],
    entry: { maxMessageSizeKb: 256 },
  },
  {
    name: 'a 10 MB status line without CRLF',
    code: 'LIMIT_EXCEEDED',
    faults: [{ action: 'hugeLine', when: { step: 'UIDL' }, bytes: 10 * 1024 * 1024 }],
  },
  {
    name: 'STLS stripped by a man in the middle',
    code: 'TLS_REQUIRED',
    entry: { tls: 'starttls' },
    noCredentials: true,
  },
  {
    name: 'certificate for another host name',
    code: 'TLS_FAILED',
    entry: { tls: 'starttls' },
    tls: 'stls-wrong-name',
    noCredentials: true,
  },
  {
    name: 'expired certificate',
    code: 'TLS_FAILED',
    entry: { tls: 'starttls' },
    tls: 'stls-expired',
    noCredentials: true,
  },
  {
    name: 'plaintext injected after +OK to STLS (STARTTLS injection)',
    code: 'PROTOCOL_ERROR',
    entry: { tls: 'starttls' },
    tls: 'stls',
    faults: [
      { action: 'raw', when: { step: 'STLS' }, data: Buffer.from('+OK go ahead\r\nthis is not TLS\r\n') },
    ],
    noCredentials: true,
  },
];

describe('collector fault table: each fault → its typed code, nothing lost, nothing duplicated', () => {
  const logger = capturingLogger();
  const certs: Partial<Record<NonNullable<FaultRow['tls']>, TestCertificate>> = {};
  const messagesSeen: string[] = [];

  beforeAll(async () => {
    certs.stls = await createTestCertificate();
    certs['stls-wrong-name'] = await createTestCertificate({
      commonName: 'mail.example.org',
      altNames: ['DNS:mail.example.org'],
    });
    certs['stls-expired'] = await createTestCertificate({ expired: true });
  });

  afterAll(() => {
    // The final secrets check over everything this suite logged and every error it saw.
    const everything = `${logger.text()}\n${messagesSeen.join('\n')}`;
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(Buffer.from(`\0fault\0${PASSWORD}`).toString('base64'));
  });

  for (const row of ROWS) {
    it(row.name, async () => {
      const queue = memoryQueue();
      const ledger = memoryLedger();
      const cert = row.tls ? certs[row.tls] : undefined;
      const server = await startFakePop3Server({
        users: [
          {
            name: 'fault',
            password: PASSWORD,
            messages: ORIGINALS.map((data, i) => ({ data, uid: UIDS[i]! })),
          },
        ],
        capabilities: { stls: cert !== undefined },
        ...(cert ? { tls: cert } : {}),
        faults: row.faults ?? [],
        ...row.server,
      });
      const entry = parseMailboxEntry({
        id: 'fault-box',
        server: `${server.host}:${server.port}`,
        tls: 'none',
        username: 'fault',
        password: PASSWORD,
        ...row.entry,
      });
      const session = (port: number, tuning: ConnectionTuning) =>
        runSession({
          userId: 'ann@example.com',
          entry: { ...entry, server: `127.0.0.1:${port}` },
          settings: parseServerSettings({}),
          queue,
          ledger,
          auth: passwordAuth(),
          emit: () => undefined,
          log: createLog(logger, { row: row.name }),
          connection: tuning,
        });
      let error: unknown;
      try {
        // Trust the server's own certificate: what fails is then its name, its dates or its bytes.
        await session(server.port, { ...FAST, ...(cert ? { tlsOptions: { ca: cert.certPem } } : {}) });
      } catch (err) {
        error = err;
      }
      const left = server.mailbox('fault');
      const commands = server.commands.map((c) => c.verb);
      await server.close();

      expect(isMultiPopError(error), `${row.name}: a typed error`).toBe(true);
      expect((error as { code: string }).code).toBe(row.code);
      messagesSeen.push(
        String((error as Error).message),
        JSON.stringify((error as { context: unknown }).context),
      );
      if (row.noCredentials) {
        expect(commands.filter((verb) => ['USER', 'PASS', 'APOP', 'AUTH'].includes(verb))).toEqual([]);
      }
      // No partial message: whatever the queue holds is byte-identical to an original.
      for (const stored of queue.messages) {
        const original = ORIGINALS[seqOf(stored.content)! - 1]!;
        expect(stored.content.subarray(-original.length).equals(original)).toBe(true);
      }

      // A clean follow-up session against the same maildrop (same UIDLs) completes the job.
      const tlsRow = row.entry?.tls === 'starttls';
      const clean = await startFakePop3Server({
        users: [
          {
            name: 'fault',
            password: PASSWORD,
            messages: left.messages.map((data, i) => ({ data, uid: left.uids[i]! })),
          },
        ],
        ...(tlsRow ? { capabilities: { stls: true }, tls: certs.stls! } : {}),
      });
      await session(clean.port, tlsRow ? { ...FAST, tlsOptions: { ca: certs.stls!.certPem } } : FAST).catch(
        async (err: unknown) => {
          await clean.close();
          throw err;
        },
      );
      expect(clean.mailbox('fault').messages).toHaveLength(0);
      await clean.close();
      expect(queue.messages.map((m) => seqOf(m.content)).sort()).toEqual([1, 2, 3]);
    });
  }
});
