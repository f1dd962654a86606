/**
 * Password and APOP providers against a real Dovecot (APOP enabled), over STLS and implicit TLS.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type AuthProvider, apopAuth, passwordAuth } from '../../src/auth/index.js';
import { type MailboxEntryInput, parseMailboxEntry } from '../../src/config/index.js';
import { createLog, SecretRegistry } from '../../src/log/index.js';
import type { Pop3ConnectOptions } from '../../src/pop3/api.js';
import { Pop3Client } from '../../src/pop3/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { failure } from '../support/multipop-failure.js';
import { capturingLogger } from './support/oauth-fixture.js';

const PASSWORD = 'Dovecot-pw-4711';
const MESSAGE = Buffer.from('Subject: basic auth\r\n\r\nhello from Dovecot\r\n');

describeWithDovecot('password and APOP logins against Dovecot', () => {
  let dovecot: DovecotServer;
  const logger = capturingLogger();
  const secrets = new SecretRegistry();
  const log = createLog(logger, { test: 'basic-auth' }, secrets);
  const clients: Pop3Client[] = [];

  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ name: 'ann', password: PASSWORD }], apop: true });
    await dovecot.seed('ann', [MESSAGE]);
  });
  // Each test's own log lines, checked after it: none may hold the password, and no test
  // depends on what another one logged.
  afterEach(() => {
    const text = logger.text();
    logger.lines.length = 0;
    expect(text).not.toContain(PASSWORD);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await dovecot?.stop();
  });

  const connect = async (port: 'pop' | 'pops', tls: Pop3ConnectOptions['tls']) => {
    const client = await Pop3Client.connect({
      host: dovecot.host,
      port: port === 'pop' ? dovecot.popPort : dovecot.popsPort,
      tls,
      tlsOptions: { ca: dovecot.caPem },
    });
    clients.push(client);
    return client;
  };
  const entry = (over: Partial<MailboxEntryInput> = {}) =>
    parseMailboxEntry({
      id: 'dovecot-ann',
      server: `127.0.0.1:${dovecot.popPort}`,
      username: 'ann',
      password: PASSWORD,
      ...over,
    });
  const run = (auth: AuthProvider, client: Pop3Client, over: Partial<MailboxEntryInput> = {}) =>
    auth.authenticate(client, { userId: 'ann@example.com', entry: entry(over), log });

  it('USER/PASS after STLS, then the maildrop is readable', async () => {
    const client = await connect('pop', 'starttls');
    expect(client.capabilities.user).toBe(true);
    await run(passwordAuth({ secrets }), client);
    expect(await client.stat()).toEqual({ count: 1, size: MESSAGE.length });
    expect(logger.lines.length).toBeGreaterThan(0); // the login was logged (and is checked)
    await client.quit();
  });

  it('SASL PLAIN when preferred, over implicit TLS', async () => {
    const client = await connect('pops', 'implicit');
    expect(client.capabilities.sasl).toContain('PLAIN');
    await run(passwordAuth({ prefer: 'sasl-plain', secrets }), client, {
      server: `127.0.0.1:${dovecot.popsPort}`,
    });
    expect((await client.stat()).count).toBe(1);
    await client.quit();
  });

  it('APOP with the greeting timestamp', async () => {
    const client = await connect('pop', 'starttls');
    expect(client.apopTimestamp).toMatch(/^<.+>$/);
    await run(apopAuth({ secrets }), client, { auth: 'apop' });
    expect((await client.stat()).count).toBe(1);
    await client.quit();
  });

  it('a wrong password or APOP secret → AUTH_FAILED', async () => {
    const a = await connect('pop', 'starttls');
    expect((await failure(run(passwordAuth(), a, { password: 'wrong-password' }))).code).toBe('AUTH_FAILED');
    a.close();
    const b = await connect('pop', 'starttls');
    expect((await failure(run(apopAuth(), b, { auth: 'apop', password: 'wrong-password' }))).code).toBe(
      'AUTH_FAILED',
    );
    b.close();
  });

  it('no password over Dovecot’s plain port unless the entry says tls: none', async () => {
    const plain = await connect('pop', 'none');
    expect((await failure(run(passwordAuth(), plain))).code).toBe('TLS_REQUIRED');
    plain.close();
    const allowed = await connect('pop', 'none');
    await run(passwordAuth(), allowed, { tls: 'none' });
    expect((await allowed.stat()).count).toBe(1);
    await allowed.quit();
  });
});
