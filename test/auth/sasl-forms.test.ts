/**
 * What the auth providers put on the wire, with the real POP3 client against the fake server's
 * Gmail and Microsoft personalities (the fake server is where Gmail's and Microsoft's quirks are
 * reproduced; Dovecot covers the standard behaviour in *.dovecot.test.ts). The fake server
 * checks tokens by introspection at the real authorization server (oidc-provider), so a refused
 * token, the forced refresh and the retry run through real components.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthProvider, apopAuth, passwordAuth } from '../../src/auth/index.js';
import { type MailboxEntryInput, parseMailboxEntry } from '../../src/config/index.js';
import { createLog } from '../../src/log/index.js';
import type { Pop3ConnectOptions } from '../../src/pop3/api.js';
import { Pop3Client } from '../../src/pop3/index.js';
import {
  createTestCertificate,
  type FakePop3Options,
  type FakePop3Server,
  startFakePop3Server,
  type TestCertificate,
} from '../../src/testing/fake-pop3/index.js';
import { defaultAccountClaims } from '../support/local-oidc-provider.js';
import { failure } from '../support/multipop-failure.js';
import {
  addMicrosoftEntry,
  capturingLogger,
  GMAIL_ACCOUNT,
  GMAIL_ENTRY,
  type OAuthFixture,
  startOAuthFixture,
  USER,
} from './support/oauth-fixture.js';

const MS_ENTRY = 'ms-ann';
const MS_ACCOUNT = 'ann@contoso.com';
/** Contoso's Entra tenant id (any work tenant: not the personal-accounts one). */
const CONTOSO_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

let cert: TestCertificate;
const servers: FakePop3Server[] = [];
const clients: Pop3Client[] = [];

beforeAll(async () => {
  cert = await createTestCertificate();
});
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(servers.map((s) => s.close()));
});

// STLS rather than implicit TLS: the fake server's implicit-TLS listener does not yet present
// its certificate (tls.createServer ignores `secureContext`). The bytes after TLS are the same.
async function fakeServer(options: Omit<FakePop3Options, 'tls'>): Promise<FakePop3Server> {
  const server = await startFakePop3Server({ tls: cert, ...options });
  servers.push(server);
  return server;
}

async function connect(server: FakePop3Server, tls: Pop3ConnectOptions['tls']): Promise<Pop3Client> {
  const client = await Pop3Client.connect({
    host: server.host,
    port: server.port,
    tls,
    tlsOptions: { ca: cert.certPem },
  });
  clients.push(client);
  return client;
}

const logger = capturingLogger();
const log = createLog(logger, { test: 'sasl-forms' });

async function authenticate(auth: AuthProvider, client: Pop3Client, entry: MailboxEntryInput): Promise<void> {
  await auth.authenticate(client, { userId: USER, entry: parseMailboxEntry(entry), log });
}

describe('OAuth SASL forms on the wire', () => {
  let fx: OAuthFixture;

  beforeAll(async () => {
    fx = await startOAuthFixture({
      server: {
        accounts: [GMAIL_ACCOUNT, MS_ACCOUNT],
        // A work account: its ID token names its tenant, as Microsoft's do.
        accountClaims: (id) => ({ ...defaultAccountClaims(id), tid: CONTOSO_TENANT }),
      },
    });
    // The Microsoft app (same test server, Microsoft's profile: scopes, two-line XOAUTH2).
    await addMicrosoftEntry(fx, { id: MS_ENTRY, username: MS_ACCOUNT }, { tenant: 'organizations' });
    const overrides = {
      issuer: fx.as.issuer,
      authorizationEndpoint: fx.as.authorizationEndpoint,
      tokenEndpoint: fx.as.tokenEndpoint,
    };
    fx.service = fx.makeService({
      providers: {
        gmail: overrides,
        // Microsoft's identity check, with the test server as the issuer of ID tokens.
        microsoft: {
          ...overrides,
          identity: {
            claims: ['preferred_username', 'email'],
            issuer: fx.as.issuer,
            tenant: 'organizations',
          },
        },
      },
    });
    await fx.grant(GMAIL_ENTRY, GMAIL_ACCOUNT);
    await fx.grant(MS_ENTRY, MS_ACCOUNT, fx.service);
  });
  afterAll(() => fx.stop());

  /** The fake POP3 server accepts exactly the tokens the authorization server says are active for that user. */
  const introspectingCheck = async (user: string, token: string): Promise<boolean> => {
    const introspection = await fx.as.introspect(token);
    return introspection.active && introspection.sub === user;
  };

  const entryOf = async (id: string) => (await fx.directory.getEntry(id))!.entry;

  /** A fake server holding one OAuth account, whose tokens it checks at the authorization server. */
  const oauthServer = (
    account: string,
    options: Omit<FakePop3Options, 'tls' | 'users' | 'checkToken'>,
    messages?: Buffer[],
  ) =>
    fakeServer({
      ...options,
      users: [{ name: account, password: 'unused-pw', ...(messages ? { messages } : {}) }],
      checkToken: introspectingCheck,
    });

  it('Gmail: one line, AUTH XOAUTH2 <base64 user=…^Aauth=Bearer …^A^A>, then the session works', async () => {
    const server = await oauthServer(GMAIL_ACCOUNT, { personality: 'gmail' }, [
      Buffer.from('Subject: hi\r\n\r\nhello\r\n'),
    ]);
    const client = await connect(server, 'starttls');
    const entry = await entryOf(GMAIL_ENTRY);
    const token = (await fx.tokens.getTokens(GMAIL_ENTRY))!.accessToken;

    await fx.service.authProviderFor(entry).authenticate(client, { userId: USER, entry, log });

    const expected = `user=${GMAIL_ACCOUNT}\u0001auth=Bearer ${token}\u0001\u0001`;
    const auth = server.commands.filter((c) => c.verb === 'AUTH' || c.verb === '');
    expect(auth.map((c) => c.line)).toEqual([`AUTH XOAUTH2 ${b64(expected)}`]);
    expect(auth[0]?.secure).toBe(true);
    expect(server.saslResponses).toEqual([expected]);
    expect(await client.stat()).toEqual({ count: 1, size: 22 });
    await client.quit();
  });

  it('Microsoft 365: two lines, AUTH XOAUTH2 → + → <base64>, then the session works', async () => {
    const server = await oauthServer(MS_ACCOUNT, { personality: 'microsoft' });
    const client = await connect(server, 'starttls');
    const entry = await entryOf(MS_ENTRY);
    const token = (await fx.tokens.getTokens(MS_ENTRY))!.accessToken;
    expect((await fx.service.profile('microsoft')).scopes).toEqual([
      'https://outlook.office.com/POP.AccessAsUser.All',
      'offline_access',
      'openid',
      'profile',
      'email',
    ]);

    await fx.service.authProviderFor(entry).authenticate(client, { userId: USER, entry, log });

    const expected = `user=${MS_ACCOUNT}\u0001auth=Bearer ${token}\u0001\u0001`;
    const auth = server.commands.filter((c) => c.verb === 'AUTH' || c.verb === '');
    expect(auth.map((c) => c.line)).toEqual(['AUTH XOAUTH2', b64(expected)]);
    expect(await client.stat()).toEqual({ count: 0, size: 0 });
    await client.quit();
  });

  it('Gmail refusing the token: + <base64 JSON> answered with an empty line, forced refresh, retry signal; the reconnect logs in', async () => {
    const server = await oauthServer(GMAIL_ACCOUNT, { personality: 'gmail' });
    // Make the stored token one the server does not know (as after a server-side expiry).
    const stored = (await fx.tokens.getTokens(GMAIL_ENTRY))!;
    await fx.tokens.setTokens(GMAIL_ENTRY, { ...stored, accessToken: 'revoked-or-expired-token' });
    const requests = fx.as.tokenRequests;
    const entry = await entryOf(GMAIL_ENTRY);
    const auth = fx.service.authProviderFor(entry);

    const first = await connect(server, 'starttls');
    const error = await failure(auth.authenticate(first, { userId: USER, entry, log }));

    expect(error.code).toBe('AUTH_FAILED');
    expect(error.context['retryWithFreshToken']).toBe(true);
    expect(error.context['saslError']).toEqual({
      status: '401',
      schemes: 'bearer',
      scope: 'https://mail.google.com/',
    });
    const lines = server.commands.filter((c) => c.connection === 1).map((c) => c.line);
    expect(lines.at(-2)).toMatch(/^AUTH XOAUTH2 /);
    expect(lines.at(-1)).toBe('');
    expect(fx.as.tokenRequests).toBe(requests + 1);
    first.close();

    // What the session runner does on retryWithFreshToken: a new connection, authenticate again.
    const second = await connect(server, 'starttls');
    await auth.authenticate(second, { userId: USER, entry, log });
    const fresh = (await fx.tokens.getTokens(GMAIL_ENTRY))!.accessToken;
    expect(server.saslResponses.at(-1)).toBe(`user=${GMAIL_ACCOUNT}\u0001auth=Bearer ${fresh}\u0001\u0001`);
    expect(fx.as.tokenRequests).toBe(requests + 1);
    await second.quit();
  });

  it('Microsoft refusing the token: a plain -ERR, still AUTH_FAILED with the retry signal', async () => {
    const server = await oauthServer(MS_ACCOUNT, { personality: 'microsoft' });
    const stored = (await fx.tokens.getTokens(MS_ENTRY))!;
    await fx.tokens.setTokens(MS_ENTRY, { ...stored, accessToken: 'stale-token' });
    const client = await connect(server, 'starttls');
    const entry = await entryOf(MS_ENTRY);
    const error = await failure(
      fx.service.authProviderFor(entry).authenticate(client, { userId: USER, entry, log }),
    );
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.context['retryWithFreshToken']).toBe(true);
    expect(error.context['saslError']).toBeUndefined();
    client.close();
  });

  it('OAUTHBEARER (generic app with sasl: oauthbearer) sends the RFC 7628 GS2 form', async () => {
    const server = await oauthServer(GMAIL_ACCOUNT, { capabilities: { sasl: ['PLAIN', 'OAUTHBEARER'] } });
    const bearer = fx.makeService({
      providers: {
        gmail: {
          issuer: fx.as.issuer,
          authorizationEndpoint: fx.as.authorizationEndpoint,
          tokenEndpoint: fx.as.tokenEndpoint,
          sasl: 'oauthbearer',
        },
      },
    });
    const client = await connect(server, 'starttls');
    const entry = await entryOf(GMAIL_ENTRY);
    await bearer.authProviderFor(entry).authenticate(client, { userId: USER, entry, log });
    const token = (await fx.tokens.getTokens(GMAIL_ENTRY))!.accessToken;
    expect(server.saslResponses.at(-1)).toBe(
      `n,a=${GMAIL_ACCOUNT},\u0001host=127.0.0.1\u0001port=${server.port}\u0001auth=Bearer ${token}\u0001\u0001`,
    );
    await client.quit();
  });

  it('logs no token', () => {
    expect(logger.lines.length).toBeGreaterThan(0);
    const text = logger.text() + fx.logger.text();
    expect(text).not.toContain('revoked-or-expired-token');
    expect(text).not.toContain('stale-token');
    expect(text).not.toContain(fx.as.client.clientSecret);
  });
});

describe('password and APOP providers on the wire (fake server)', () => {
  const entry = (over: Partial<MailboxEntryInput> = {}): MailboxEntryInput => ({
    id: 'pw-ann',
    server: 'pop.example.net:995',
    username: 'ann',
    password: 'hunter2-secret',
    ...over,
  });
  const authVerbs = (server: FakePop3Server) =>
    server.commands.filter((c) => ['USER', 'PASS', 'AUTH', 'APOP', ''].includes(c.verb)).map((c) => c.line);

  it('USER/PASS when USER is advertised (the default preference)', async () => {
    const server = await fakeServer({ users: [{ name: 'ann', password: 'hunter2-secret' }] });
    const client = await connect(server, 'starttls');
    await authenticate(passwordAuth(), client, entry());
    expect(authVerbs(server)).toEqual(['USER ann', 'PASS hunter2-secret']);
    await client.quit();
  });

  it('AUTH PLAIN when preferred and advertised, and when USER is not advertised', async () => {
    const preferred = await fakeServer({
      capabilities: { sasl: ['PLAIN'] },
      users: [{ name: 'ann', password: 'hunter2-secret' }],
    });
    const a = await connect(preferred, 'starttls');
    await authenticate(passwordAuth({ prefer: 'sasl-plain' }), a, entry());
    expect(authVerbs(preferred)).toEqual([`AUTH PLAIN ${b64('\u0000ann\u0000hunter2-secret')}`]);
    await a.quit();

    const noUser = await fakeServer({
      capabilities: { user: false, sasl: ['PLAIN'] },
      users: [{ name: 'ann', password: 'hunter2-secret' }],
    });
    const b = await connect(noUser, 'starttls');
    await authenticate(passwordAuth(), b, entry());
    expect(authVerbs(noUser)).toEqual([`AUTH PLAIN ${b64('\u0000ann\u0000hunter2-secret')}`]);
    await b.quit();
  });

  it('USER/PASS when the server has no CAPA; nothing at all when CAPA offers neither', async () => {
    const noCapa = await fakeServer({
      capabilities: { capa: false },
      users: [{ name: 'ann', password: 'hunter2-secret' }],
    });
    const a = await connect(noCapa, 'starttls');
    await authenticate(passwordAuth(), a, entry());
    expect(authVerbs(noCapa)).toEqual(['USER ann', 'PASS hunter2-secret']);
    await a.quit();

    const neither = await fakeServer({
      capabilities: { user: false, sasl: ['XOAUTH2'] },
      users: [{ name: 'ann', password: 'hunter2-secret' }],
    });
    const b = await connect(neither, 'starttls');
    const error = await failure(authenticate(passwordAuth(), b, entry()));
    expect(error.code).toBe('AUTH_MECHANISM_UNAVAILABLE');
    expect(authVerbs(neither)).toEqual([]);
    b.close();
  });

  it('never sends a password over a plain connection unless the entry says tls: none', async () => {
    const server = await fakeServer({ users: [{ name: 'ann', password: 'hunter2-secret' }] });
    const plain = await connect(server, 'none');
    const error = await failure(
      authenticate(passwordAuth(), plain, entry({ server: 'pop.example.net:110' })),
    );
    expect(error.code).toBe('TLS_REQUIRED');
    expect(server.commands.some((c) => c.line.includes('hunter2-secret'))).toBe(false);
    plain.close();

    const allowed = await connect(server, 'none');
    await authenticate(passwordAuth(), allowed, entry({ server: 'pop.example.net:110', tls: 'none' }));
    expect(authVerbs(server)).toEqual(['USER ann', 'PASS hunter2-secret']);
    await allowed.quit();
  });

  it('a wrong password → AUTH_FAILED, and the password is not in the error', async () => {
    const server = await fakeServer({ users: [{ name: 'ann', password: 'right-password' }] });
    const client = await connect(server, 'starttls');
    const error = await failure(authenticate(passwordAuth(), client, entry()));
    expect(error.code).toBe('AUTH_FAILED');
    expect(JSON.stringify(error.toJSON())).not.toContain('hunter2-secret');
    client.close();
  });

  it('APOP with the greeting timestamp; without one, nothing is sent', async () => {
    const withApop = await fakeServer({
      capabilities: { apop: true },
      users: [{ name: 'ann', password: 'hunter2-secret' }],
    });
    const a = await connect(withApop, 'starttls');
    expect(a.apopTimestamp).toMatch(/^<.+>$/);
    await authenticate(apopAuth(), a, entry({ auth: 'apop' }));
    const [line] = authVerbs(withApop);
    expect(line).toMatch(/^APOP ann [0-9a-f]{32}$/);
    expect(line).not.toContain('hunter2-secret');
    await a.quit();

    const without = await fakeServer({ users: [{ name: 'ann', password: 'hunter2-secret' }] });
    const b = await connect(without, 'starttls');
    const error = await failure(authenticate(apopAuth(), b, entry({ auth: 'apop' })));
    expect(error.code).toBe('AUTH_MECHANISM_UNAVAILABLE');
    expect(authVerbs(without)).toEqual([]);
    b.close();
  });

  it('logs no password', () => {
    expect(logger.text()).not.toContain('hunter2-secret');
  });
});
