import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { renderPasswdFile } from '../helpers/dovecot-config.js';
import { Wire } from './wire.js';

const ANN = { name: 'ann', password: 'ann-Secret-1' };
const BOB = { name: 'bob@example.com', password: 'bob pass with spaces' };
const CAROL = { name: 'Carol.Mixed', password: 'carol-pw' };

/** Messages chosen to break anything that is not byte-exact (all CRLF, as the harness promises). */
const SEEDED = [
  Buffer.from('From: a@example.com\r\nSubject: one\r\n\r\nHello Ann.\r\n', 'latin1'),
  Buffer.from('Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n', 'latin1'),
  Buffer.from('Subject: 8bit\r\n\r\nLatin-1: \xe9\xe8\xff, lone CR:\ra, NUL:\x00.\r\n\r\n\r\n', 'latin1'),
  Buffer.concat([Buffer.from('Subject: long line\r\n\r\n'), Buffer.alloc(20_000, 0x78), Buffer.from('\r\n')]),
];

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function tls(port: number, caPem: string, socket?: Socket): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = connectTls(
      { host: '127.0.0.1', port, ca: caPem, servername: 'localhost', ...(socket ? { socket } : {}) },
      () => resolve(secure),
    );
    secure.once('error', reject);
  });
}

async function popsSession(
  server: DovecotServer,
): Promise<{ wire: Wire; greeting: string; socket: TLSSocket }> {
  const socket = await tls(server.popsPort, server.caPem);
  const wire = new Wire(socket);
  return { wire, greeting: await wire.line(), socket };
}

async function login(wire: Wire, user: { name: string; password: string }): Promise<void> {
  expect(await wire.command(`USER ${user.name}`)).toMatch(/^\+OK/);
  expect(await wire.command(`PASS ${user.password}`)).toMatch(/^\+OK/);
}

describe('passwd file for the harness', () => {
  it('refuses a password that would break the passwd-file format', () => {
    expect(() => renderPasswdFile([{ name: 'ann', password: 'a:b' }], '/m')).toThrow(/must not contain/);
    expect(renderPasswdFile([ANN], '/m')).toBe('ann:{PLAIN}ann-Secret-1::::/m/ann::\n');
  });
});

describeWithDovecot('Dovecot test harness (plain server)', () => {
  let server: DovecotServer;

  beforeAll(async () => {
    server = await startDovecot({ users: [ANN, BOB, CAROL] });
    await server.seed(ANN.name, SEEDED);
  });
  afterAll(() => server?.stop());

  it('listens on two distinct free ports on 127.0.0.1', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.popPort).toBeGreaterThan(0);
    expect(server.popsPort).toBeGreaterThan(0);
    expect(server.popPort).not.toBe(server.popsPort);
    expect(server.lmtpPort).toBeUndefined();
    expect(server.caPem).toContain('BEGIN CERTIFICATE');
  });

  it('plain port: CAPA offers STLS, PIPELINING and UIDL; STLS upgrades with the harness CA', async () => {
    const socket = await tcp(server.popPort);
    const wire = new Wire(socket);
    const greeting = await wire.line();
    expect(greeting).toMatch(/^\+OK /);
    expect(greeting).not.toMatch(/<[^>]+@[^>]+>/); // no APOP timestamp unless asked for
    expect(await wire.command('CAPA')).toMatch(/^\+OK/);
    const before = await wire.lines();
    expect(before).toEqual(expect.arrayContaining(['STLS', 'PIPELINING', 'UIDL', 'TOP', 'USER']));

    expect(await wire.command('STLS')).toMatch(/^\+OK/);
    const secure = await tls(server.popPort, server.caPem, wire.detach());
    expect(secure.authorized).toBe(true);
    wire.attach(secure);
    expect(await wire.command('CAPA')).toMatch(/^\+OK/);
    const after = await wire.lines();
    expect(after).not.toContain('STLS');
    expect(after).toEqual(expect.arrayContaining(['PIPELINING', 'UIDL']));
    await login(wire, ANN);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    secure.destroy();
  });

  it('plain port accepts USER/PASS without TLS (disable_plaintext_auth = no)', async () => {
    const socket = await tcp(server.popPort);
    const wire = new Wire(socket);
    await wire.line();
    await login(wire, BOB);
    expect(await wire.command('STAT')).toBe('+OK 0 0');
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
  });

  it('implicit TLS port: STAT counts the seeded messages and RETR returns them byte for byte', async () => {
    const { wire, greeting, socket } = await popsSession(server);
    expect(greeting).toMatch(/^\+OK /);
    await login(wire, ANN);
    const total = SEEDED.reduce((sum, m) => sum + m.length, 0);
    expect(await wire.command('STAT')).toBe(`+OK ${SEEDED.length} ${total}`);
    for (const [i, message] of SEEDED.entries()) {
      expect(await wire.command(`RETR ${i + 1}`)).toMatch(/^\+OK/);
      const body = await wire.multiline();
      expect(body.equals(message), `message ${i + 1} differs`).toBe(true);
    }
    expect(await wire.command('UIDL')).toMatch(/^\+OK/);
    const uidls = await wire.lines();
    expect(uidls).toHaveLength(SEEDED.length);
    for (const [i, line] of uidls.entries()) expect(line).toMatch(new RegExp(`^${i + 1} [0-9A-F]{16}$`, 'i'));
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
  });

  it('a wrong password is refused with [AUTH] and the user can log in right after', async () => {
    const { wire, socket } = await popsSession(server);
    expect(await wire.command(`USER ${ANN.name}`)).toMatch(/^\+OK/);
    expect(await wire.command('PASS wrong')).toMatch(/^-ERR \[AUTH\]/);
    await login(wire, ANN);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
    expect(await server.logText()).toMatch(/Login: user=<ann>/);
  });

  it('messages() shows the Maildir, and a DELE + QUIT removes the file', async () => {
    await server.seed(BOB.name, [
      Buffer.from('Subject: b1\r\n\r\nx\r\n'),
      Buffer.from('Subject: b2\r\n\r\ny\r\n'),
    ]);
    expect((await server.messages(BOB.name)).map((m) => m.toString())).toEqual([
      'Subject: b1\r\n\r\nx\r\n',
      'Subject: b2\r\n\r\ny\r\n',
    ]);
    const { wire, socket } = await popsSession(server);
    await login(wire, BOB);
    expect(await wire.command('DELE 1')).toMatch(/^\+OK/);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
    expect((await server.messages(BOB.name)).map((m) => m.toString())).toEqual(['Subject: b2\r\n\r\ny\r\n']);
    expect(server.maildir(BOB.name)).toBe(`${server.dir}/mail/${BOB.name}/Maildir`);
  });

  it('user names keep their case (seeded mail is found at login)', async () => {
    const message = Buffer.from('Subject: for Carol\r\n\r\nhi\r\n');
    await server.seed(CAROL.name, [message]);
    const { wire, socket } = await popsSession(server);
    await login(wire, CAROL);
    expect(await wire.command('STAT')).toBe(`+OK 1 ${message.length}`);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
  });

  it('a second server runs alongside, and stop() removes its directory (twice is fine)', async () => {
    const other = await startDovecot({ users: [ANN] });
    expect([other.popPort, other.popsPort]).not.toContain(server.popPort);
    expect(other.dir).not.toBe(server.dir);
    const { wire, socket } = await popsSession(other);
    await login(wire, ANN);
    expect(await wire.command('STAT')).toBe('+OK 0 0');
    socket.destroy();
    await other.stop();
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
  });

  it('refuses pipelining: false (Dovecot cannot switch PIPELINING off)', async () => {
    await expect(startDovecot({ users: [ANN], pipelining: false })).rejects.toThrow(/PIPELINING/);
  });
});

describeWithDovecot('Dovecot test harness (APOP, LMTP, OAuth 2.0)', () => {
  const GOOD_TOKEN = 'good-access-token-for-ann';
  let server: DovecotServer;
  let introspection: Server;
  const introspected: string[] = [];

  beforeAll(async () => {
    // A minimal RFC 7662 endpoint: Dovecot must authenticate as the client and POST the token.
    introspection = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const expected = `Basic ${Buffer.from('dovecot-client:intro secret').toString('base64')}`;
        if (req.method !== 'POST' || req.headers.authorization !== expected) {
          res.writeHead(401).end();
          return;
        }
        const token = new URLSearchParams(body).get('token') ?? '';
        introspected.push(token);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(token === GOOD_TOKEN ? { active: true, sub: ANN.name } : { active: false }));
      });
    });
    await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', resolve));
    const address = introspection.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    server = await startDovecot({
      users: [ANN],
      apop: true,
      lmtp: true,
      oauth2: {
        introspectionUrl: `http://127.0.0.1:${port}/introspect`,
        clientId: 'dovecot-client',
        clientSecret: 'intro secret',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => introspection?.close(resolve));
  });

  it('greets with an APOP timestamp, and APOP with the MD5 digest logs in', async () => {
    const { wire, greeting, socket } = await popsSession(server);
    const stamp = /<[^<>]+@[^<>]+>/.exec(greeting)?.[0];
    expect(stamp).toBeDefined();
    const digest = createHash('md5').update(`${stamp}${ANN.password}`).digest('hex');
    expect(await wire.command(`APOP ${ANN.name} ${digest}`)).toMatch(/^\+OK/);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
  });

  it('the LMTP listener answers 220 and delivers into the same Maildir', async () => {
    expect(server.lmtpPort).toBeGreaterThan(0);
    const socket = await tcp(server.lmtpPort!);
    const wire = new Wire(socket);
    expect(await wire.line()).toMatch(/^220 /);
    wire.send('LHLO localhost');
    for (let line = await wire.line(); !line.startsWith('250 '); line = await wire.line())
      expect(line).toMatch(/^250-/);
    expect(await wire.command('MAIL FROM:<sender@example.com>')).toMatch(/^250 /);
    expect(await wire.command(`RCPT TO:<${ANN.name}>`)).toMatch(/^250 /);
    expect(await wire.command('DATA')).toMatch(/^354 /);
    wire.send('Subject: via lmtp\r\n\r\nDelivered.\r\n.');
    expect(await wire.line()).toMatch(/^250 /);
    expect(await wire.command('QUIT')).toMatch(/^221 /);
    socket.destroy();
    const stored = (await server.messages(ANN.name)).map((m) => m.toString('latin1'));
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatch(/Subject: via lmtp\r\n\r\nDelivered\.\r\n$/);
  });

  it('XOAUTH2 with an active token logs in; the token was introspected', async () => {
    const { wire, socket } = await popsSession(server);
    const initial = Buffer.from(`user=${ANN.name}\x01auth=Bearer ${GOOD_TOKEN}\x01\x01`).toString('base64');
    expect(await wire.command(`AUTH XOAUTH2 ${initial}`)).toMatch(/^\+OK/);
    expect(await wire.command('STAT')).toMatch(/^\+OK 1 /);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
    expect(introspected).toContain(GOOD_TOKEN);
  });

  it('XOAUTH2 with an inactive token gets the JSON challenge, then -ERR', async () => {
    const { wire, socket } = await popsSession(server);
    const initial = Buffer.from(`user=${ANN.name}\x01auth=Bearer revoked-token\x01\x01`).toString('base64');
    const challenge = await wire.command(`AUTH XOAUTH2 ${initial}`);
    expect(challenge).toMatch(/^\+ /);
    const json = JSON.parse(Buffer.from(challenge.slice(2), 'base64').toString('utf8')) as {
      status?: string;
    };
    expect(json.status).toBeDefined();
    expect(await wire.command('')).toMatch(/^-ERR/);
    socket.destroy();
  });

  it('password users still log in next to the oauth2 passdb', async () => {
    const { wire, socket } = await popsSession(server);
    await login(wire, ANN);
    expect(await wire.command('QUIT')).toMatch(/^\+OK/);
    socket.destroy();
  });
});
