/**
 * A real pino logger at debug level, handed to `Pop3Client.connect({ logger })` and to the
 * fetcher: pino has its own `child()`, and the client must still wrap it in the library's
 * redaction, or secrets the server echoes back reach the host's log. Against Dovecot for the
 * logins as a real server does them, and against the fake server for the echoes a real server
 * would not make.
 */
import { createHash } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isMultiPopError } from '../../src/errors/index.js';
import { MultiPopFetcher } from '../../src/fetcher/index.js';
import { Pop3Client } from '../../src/pop3/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { type FakePop3Server, startFakePop3Server } from '../../src/testing/fake-pop3/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { oneDovecotEntry } from '../support/dovecot-directory.js';

const PASSWORD = 'Pino-Pa55word-4711';
const ACCESS_TOKEN = 'ya29.pino-access-token-0123456789';
const MESSAGE = Buffer.from('Subject: pino\r\n\r\nhello\r\n');

/** A real pino at debug level whose every serialised line is kept. */
function pinoAtDebug(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

/** Fails naming the line when any of `secrets` appears in any line, raw or base64-encoded. */
function expectNoSecret(lines: string[], secrets: string[]): void {
  const forms = secrets.flatMap((s) => [s, Buffer.from(s).toString('base64')]);
  for (const line of lines) for (const form of forms) expect(line, line).not.toContain(form);
}

describe('Pop3Client with a pino logger, against the fake server', () => {
  let server: FakePop3Server;
  beforeAll(async () => {
    server = await startFakePop3Server({
      users: [{ name: 'ann', password: PASSWORD, accessToken: ACCESS_TOKEN, messages: [MESSAGE] }],
      capabilities: { sasl: ['PLAIN', 'XOAUTH2'], apop: true },
      faults: [
        // The first PASS is refused with the password echoed back, the way a broken server might.
        { action: 'respond', when: { step: 'PASS', nth: 1 }, line: `-ERR [AUTH] wrong password ${PASSWORD}` },
        // The first XOAUTH2 attempt is refused with the token in the text.
        { action: 'respond', when: { step: 'AUTH', nth: 1 }, line: `-ERR token ${ACCESS_TOKEN} expired` },
      ],
    });
  });
  afterAll(async () => server?.close());

  const connect = (logger: pino.Logger) =>
    Pop3Client.connect({ host: server.host, port: server.port, tls: 'none', logger });

  it('logs the session at debug level, never the password a server echoes', async () => {
    const { logger, lines } = pinoAtDebug();
    // pino has child(); the client must not log through it directly (bypassing the redaction
    // that knows this connection's secrets) but through its own wrapper of the host logger.
    const child = vi.spyOn(logger, 'child');
    const refused = await connect(logger);
    const error = await refused.login('ann', PASSWORD).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isMultiPopError(error, 'AUTH_FAILED')).toBe(true);
    expect(String((error as Error).message)).not.toContain(PASSWORD);
    refused.close();

    const client = await connect(logger);
    await client.login('ann', PASSWORD);
    expect(await client.stat()).toEqual({ count: 1, size: MESSAGE.length });
    await client.quit();

    // The debug lines are there (commands and responses), carrying the client's bindings.
    expect(lines.some((l) => l.includes('"level":20') && l.includes('wrong password'))).toBe(true);
    expect(lines.some((l) => l.includes('"component":"pop3"') && l.includes('"cid":"pop3-'))).toBe(true);
    expectNoSecret(lines, [PASSWORD]);
    expect(child).not.toHaveBeenCalled();
  });

  it('never logs an access token (XOAUTH2, refused then accepted) or a SASL PLAIN response', async () => {
    const { logger, lines } = pinoAtDebug();
    const refused = await connect(logger);
    await expect(refused.authXOAuth2('ann', ACCESS_TOKEN, 'initial-response')).rejects.toThrow();
    refused.close();
    const oauth = await connect(logger);
    await oauth.authXOAuth2('ann', ACCESS_TOKEN, 'initial-response');
    await oauth.quit();
    const plain = await connect(logger);
    await plain.authPlain('ann', PASSWORD);
    await plain.quit();

    expect(lines.some((l) => l.includes('expired'))).toBe(true);
    expectNoSecret(lines, [PASSWORD, ACCESS_TOKEN, `\u0000ann\u0000${PASSWORD}`]);
  });

  it('never logs the APOP digest', async () => {
    const { logger, lines } = pinoAtDebug();
    const client = await connect(logger);
    const digest = createHash('md5').update(`${client.apopTimestamp}${PASSWORD}`).digest('hex');
    await client.apop('ann', PASSWORD);
    await client.quit();
    expect(lines.some((l) => l.includes('APOP'))).toBe(true);
    expectNoSecret(lines, [PASSWORD, digest]);
  });
});

describeWithDovecot('pino at debug level against Dovecot', () => {
  let dovecot: DovecotServer;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ name: 'ann', password: PASSWORD }], apop: true });
  });
  afterAll(async () => dovecot?.stop());

  it('Pop3Client: STLS, USER/PASS and APOP logins leave no secret in any line', async () => {
    const { logger, lines } = pinoAtDebug();
    const options = {
      host: dovecot.host,
      port: dovecot.popPort,
      tls: 'starttls' as const,
      tlsOptions: { ca: dovecot.caPem },
      logger,
    };
    const client = await Pop3Client.connect(options);
    await client.login('ann', PASSWORD);
    await client.quit();
    const apop = await Pop3Client.connect(options);
    const digest = createHash('md5').update(`${apop.apopTimestamp}${PASSWORD}`).digest('hex');
    await apop.apop('ann', PASSWORD);
    await apop.quit();

    expect(lines.some((l) => l.includes('PASS'))).toBe(true);
    expectNoSecret(lines, [PASSWORD, digest]);
  });

  it('the fetcher: a whole collection logs at debug level without the password', async () => {
    await dovecot.seed('ann', [MESSAGE]);
    const { logger, lines } = pinoAtDebug();
    const directory = oneDovecotEntry(dovecot, PASSWORD);
    const queue = memoryQueue();
    const fetcher = new MultiPopFetcher({
      directory,
      ledger: memoryLedger(),
      queue,
      logger,
      connection: { tlsOptions: { ca: dovecot.caPem } },
    });
    const [summary] = await fetcher.collectNow();
    await fetcher.stop();
    expect(summary).toMatchObject({ ok: true, result: { collected: 1 } });
    expect(lines.some((l) => l.includes('"level":20'))).toBe(true);
    expectNoSecret(lines, [PASSWORD]);
  });
});
