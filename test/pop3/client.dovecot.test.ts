import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pop3ConnectOptions } from '../../src/pop3/api.js';
import { Pop3Client } from '../../src/pop3/client.js';
import { Pop3State } from '../../src/pop3/state.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { expectCode, readAll, TRICKY_MESSAGES } from './support/fake.js';

/** Real-server tests: the same client code path against Dovecot 2.3 over STLS and implicit TLS. */

const USERS = ['starttls', 'implicit', 'apop', 'plain', 'big', 'tricky', 'dele', 'keep', 'many'].map(
  (name) => ({
    name,
    password: `pw-${name}-secret`,
  }),
);
const pw = (name: string) => `pw-${name}-secret`;

/**
 * CRLF messages Dovecot stores and sends back unchanged: dot lines, 8-bit and NUL bytes, an
 * empty body. (A lone LF is not among them: Dovecot turns it into CRLF on the way out.)
 */
const CRLF_MESSAGES = [TRICKY_MESSAGES[0]!, TRICKY_MESSAGES[1]!, TRICKY_MESSAGES[3]!];

/** A deterministic message of about `size` bytes: text lines, dot lines, 8-bit bytes. */
function bigMessage(size: number): Buffer {
  const lines: Buffer[] = [Buffer.from('Subject: big\r\nMIME-Version: 1.0\r\n\r\n')];
  let total = lines[0]!.length;
  for (let i = 0; total < size; i++) {
    const line =
      i % 97 === 0
        ? Buffer.from(`.dot line ${i}\r\n`)
        : i % 89 === 0
          ? Buffer.from(`8bit \xe4\xf6\xfc\xff line ${i}\r\n`, 'latin1')
          : Buffer.from(`${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)} line ${i}\r\n`);
    lines.push(line);
    total += line.length;
  }
  return Buffer.concat(lines);
}

describeWithDovecot('Pop3Client against Dovecot', () => {
  let dovecot: DovecotServer;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: USERS, apop: true });
  });
  afterAll(async () => {
    await dovecot?.stop();
  });

  const connect = (tls: 'starttls' | 'implicit' | 'none', extra: Partial<Pop3ConnectOptions> = {}) =>
    Pop3Client.connect({
      host: dovecot.host,
      port: tls === 'implicit' ? dovecot.popsPort : dovecot.popPort,
      tls,
      tlsOptions: { ca: dovecot.caPem },
      timeouts: { connect: 5000, greeting: 5000, idle: 10_000 },
      ...extra,
    });

  it.each(['starttls', 'implicit'] as const)('runs every command over %s', async (tls) => {
    const messages = CRLF_MESSAGES;
    await dovecot.seed(tls, messages);
    const client = await connect(tls);
    expect(client.secure).toBe(true);
    expect(client.greeting).toMatch(/Dovecot/);
    expect(client.capabilities).toMatchObject({
      top: true,
      uidl: true,
      user: true,
      pipelining: true,
      respCodes: true,
    });
    expect(client.capabilities.stls).toBe(false);
    expect(client.capabilities.sasl).toContain('PLAIN');
    await client.login(tls, pw(tls));
    expect(client.state).toBe(Pop3State.TRANSACTION);
    expect(await client.stat()).toEqual({ count: 3, size: messages.reduce((s, m) => s + m.length, 0) });
    expect(await client.list()).toEqual(messages.map((m, i) => ({ msg: i + 1, size: m.length })));
    expect(await client.list(2)).toEqual({ msg: 2, size: messages[1]!.length });
    const uids = await client.uidl();
    expect(uids).toHaveLength(3);
    expect(new Set(uids.map((u) => u.uid)).size).toBe(3);
    expect(await client.uidl(3)).toEqual(uids[2]);
    expect((await client.top(1, 0)).toString('latin1')).toBe('Subject: dots\r\n\r\n');
    for (const [i, original] of messages.entries()) {
      expect((await readAll(await client.retr(i + 1))).equals(original)).toBe(true);
    }
    await client.noop();
    await client.dele(1);
    await client.rset();
    await expectCode(client.retr(9), 'SERVER_ERROR');
    await client.quit();
    expect(await dovecot.messages(tls)).toHaveLength(3);
  });

  it('logs in with APOP (greeting timestamp) and with SASL PLAIN', async () => {
    await dovecot.seed('apop', [TRICKY_MESSAGES[0]!]);
    const viaApop = await connect('starttls');
    expect(viaApop.apopTimestamp).toMatch(/^<.+>$/);
    await viaApop.apop('apop', pw('apop'));
    expect((await viaApop.stat()).count).toBe(1);
    await viaApop.quit();

    const viaPlain = await connect('implicit');
    await viaPlain.authPlain('apop', pw('apop'));
    expect((await viaPlain.stat()).count).toBe(1);
    await viaPlain.quit();
  });

  it('rejects a wrong password, APOP secret and SASL PLAIN with AUTH_FAILED', async () => {
    const client = await connect('starttls');
    const error = await expectCode(client.login('plain', 'wrong-password'), 'AUTH_FAILED');
    expect(error.context.responseCode).toBe('AUTH');
    await expectCode(client.apop('plain', 'wrong-secret'), 'AUTH_FAILED');
    await expectCode(client.authPlain('plain', 'wrong-again'), 'AUTH_FAILED');
    await client.login('plain', pw('plain'));
    await client.quit();
  });

  it('retrieves a 50 MB message byte-identical with flat memory', async () => {
    const message = bigMessage(50 * 1024 * 1024);
    const expected = createHash('sha256').update(message).digest('hex');
    const expectedLength = message.length;
    await dovecot.seed('big', [message]);
    const client = await connect('implicit');
    await client.login('big', pw('big'));
    expect((await client.list(1)).size).toBe(expectedLength);
    const before = process.memoryUsage().rss;
    let peak = before;
    const hash = createHash('sha256');
    let length = 0;
    let buffered = 0;
    const stream = await client.retr(1);
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
      buffered = Math.max(buffered, stream.readableLength);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(length).toBe(expectedLength);
    expect(hash.digest('hex')).toBe(expected);
    // Streaming holds a few socket reads, not the message: the stream's buffer stays near its
    // high-water mark, and the process grows less than the message size (the rest of any
    // growth is socket reads V8 has not collected yet).
    expect(buffered).toBeLessThan(1024 * 1024);
    expect(peak - before).toBeLessThan(48 * 1024 * 1024);
    await client.quit();
  });

  it('keeps 8-bit and dot-line messages byte-identical over plain TCP too', async () => {
    const loneLf = TRICKY_MESSAGES[2]!;
    await dovecot.seed('tricky', [...CRLF_MESSAGES, loneLf]);
    for (const tls of ['none', 'starttls', 'implicit'] as const) {
      const client = await connect(tls);
      await client.login('tricky', pw('tricky'));
      for (const [i, original] of CRLF_MESSAGES.entries()) {
        expect((await readAll(await client.retr(i + 1))).equals(original)).toBe(true);
      }
      // Dovecot sends a stored lone LF as CRLF; the lone CR and the dot after it arrive as sent.
      const sent = await readAll(await client.retr(CRLF_MESSAGES.length + 1));
      expect(sent.toString('latin1')).toBe('Subject: lone\r\n\r\na\rb\r\nc\r\n.\rd\r\n');
      await client.quit();
    }
  });

  it('removes mail on DELE + QUIT and restores it when the session ends without QUIT', async () => {
    await dovecot.seed('dele', CRLF_MESSAGES.slice(0, 2));
    await dovecot.seed('keep', CRLF_MESSAGES.slice(0, 2));

    const keep = await connect('implicit');
    await keep.login('keep', pw('keep'));
    await keep.dele(1);
    await keep.dele(2);
    keep.close();
    // Dovecot notices the closed connection and unlocks; a new session sees both messages.
    const again = await connect('implicit');
    await again.login('keep', pw('keep'));
    expect((await again.stat()).count).toBe(2);
    await again.quit();
    expect(await dovecot.messages('keep')).toHaveLength(2);

    const dele = await connect('implicit');
    await dele.login('dele', pw('dele'));
    await dele.dele(1);
    await dele.quit();
    const left = await dovecot.messages('dele');
    expect(left).toHaveLength(1);
    expect(left[0]!.equals(CRLF_MESSAGES[1]!)).toBe(true);
  });

  it('retrieves 1,000 messages pipelined, all byte-identical', async () => {
    const messages = Array.from({ length: 1000 }, (_, i) =>
      Buffer.from(`Subject: message ${i}\r\nX-Seq: ${i}\r\n\r\n.line ${i}\r\n\xe9\xe8 ${i}\r\n`, 'latin1'),
    );
    await dovecot.seed('many', messages);
    const client = await connect('implicit');
    expect(client.pipelineWindow).toBeGreaterThan(1);
    await client.login('many', pw('many'));
    const uids = await client.uidl();
    expect(uids).toHaveLength(1000);
    const bodies = messages.map((_, i) => client.retr(i + 1));
    for (const [i, body] of bodies.entries()) {
      expect((await readAll(await body)).equals(messages[i]!)).toBe(true);
    }
    await client.quit();
  });
});

describeWithDovecot('Pop3Client OAuth failure challenges from Dovecot', () => {
  // An introspection endpoint that calls every token inactive: Dovecot then sends its
  // `+ <base64 JSON>` failure challenge. (Successful OAuth logins with real tokens are in
  // test/auth/oauth.dovecot.test.ts.)
  let introspection: Server;
  let dovecot: DovecotServer;
  beforeAll(async () => {
    introspection = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ active: false }));
      });
    });
    await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', resolve));
    const address = introspection.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    dovecot = await startDovecot({
      users: [{ name: 'oauth', password: 'pw-oauth' }],
      oauth2: { introspectionUrl: `http://127.0.0.1:${port}/introspect` },
    });
  });
  afterAll(async () => {
    await dovecot?.stop();
    introspection?.close();
  });

  it.each([
    ['XOAUTH2, one line', (c: Pop3Client) => c.authXOAuth2('oauth', 'revoked-token-1', 'initial-response')],
    ['XOAUTH2, two lines', (c: Pop3Client) => c.authXOAuth2('oauth', 'revoked-token-1', 'continuation')],
    ['OAUTHBEARER', (c: Pop3Client) => c.authOAuthBearer('oauth', 'revoked-token-1')],
  ])(
    '%s: answers the challenge, decodes it into AUTH_FAILED, and the session stays usable',
    async (_name, attempt) => {
      const client = await Pop3Client.connect({
        host: dovecot.host,
        port: dovecot.popsPort,
        tls: 'implicit',
        tlsOptions: { ca: dovecot.caPem },
      });
      expect(client.capabilities.sasl).toEqual(expect.arrayContaining(['XOAUTH2', 'OAUTHBEARER']));
      const error = await expectCode(attempt(client), 'AUTH_FAILED');
      expect(error.context.saslError).toEqual(expect.objectContaining({ status: expect.any(String) }));
      expect(JSON.stringify(error)).not.toContain('revoked-token-1');
      await client.login('oauth', 'pw-oauth');
      expect(client.state).toBe(Pop3State.TRANSACTION);
      await client.quit();
    },
  );
});
