import { describe, expect, it } from 'vitest';
import { Pop3State } from '../../src/pop3/state.js';
import type { FakePop3Options } from '../../src/testing/fake-pop3/index.js';
import { fakeServerPerTest } from '../support/fake-server-per-test.js';
import { expectedUnstuffed } from './support/dot-stuffing.js';
import { captureLogger, connectTo, expectCode, isPending, readAll, TRICKY_MESSAGES } from './support/fake.js';

const start = fakeServerPerTest({
  users: [{ name: 'ann', password: 'pa55word', messages: TRICKY_MESSAGES, accessToken: 'tok-ann-123' }],
});

describe('Pop3Client against the fake server', () => {
  it('reads greeting and capabilities, lists and retrieves every message byte for byte', async () => {
    const srv = await start({ capabilities: { implementation: 'fake 1.0' } });
    const client = await connectTo(srv);
    expect(client.greeting).toBe('FakePOP3 ready.');
    expect(client.capabilities).toMatchObject({ top: true, uidl: true, user: true, sasl: ['PLAIN'] });
    expect(client.capabilities.implementation).toBe('fake 1.0');
    expect(client.state).toBe(Pop3State.AUTHORIZATION);
    await client.login('ann', 'pa55word');
    expect(client.state).toBe(Pop3State.TRANSACTION);

    const stat = await client.stat();
    expect(stat.count).toBe(TRICKY_MESSAGES.length);
    expect(await client.list()).toEqual(TRICKY_MESSAGES.map((m, i) => ({ msg: i + 1, size: m.length })));
    expect(await client.list(2)).toEqual({ msg: 2, size: TRICKY_MESSAGES[1]!.length });
    const uids = await client.uidl();
    expect(uids.map((u) => u.msg)).toEqual([1, 2, 3, 4]);
    expect(await client.uidl(3)).toEqual(uids[2]);
    for (const [i, original] of TRICKY_MESSAGES.entries()) {
      const body = await readAll(await client.retr(i + 1));
      expect(body.equals(original)).toBe(true);
    }
    expect((await client.top(1, 0)).toString('latin1')).toBe('Subject: dots\r\n\r\n');
    expect((await client.top(1, 2)).toString('latin1')).toBe('Subject: dots\r\n\r\n.\r\n..\r\n');
    await client.quit();
    expect(client.state).toBe(Pop3State.CLOSED);
  });

  it('returns a body without a final CRLF with the CRLF the server had to add', async () => {
    const raw = Buffer.from('Subject: x\r\n\r\nno newline at the end', 'latin1');
    const srv = await start({ users: [{ name: 'ann', password: 'pw', messages: [raw] }] });
    const client = await connectTo(srv);
    await client.login('ann', 'pw');
    const body = await readAll(await client.retr(1));
    expect(body.equals(expectedUnstuffed(raw))).toBe(true);
    await client.quit();
  });

  it('commits DELE only on QUIT and rolls back on close() or RSET', async () => {
    const srv = await start();
    let client = await connectTo(srv);
    await client.login('ann', 'pa55word');
    await client.dele(1);
    client.close();
    expect(client.state).toBe(Pop3State.CLOSED);
    // The server notices the closed connection asynchronously; the mailbox is unchanged.
    await srv.connectionsEnded();
    expect(srv.mailbox('ann').messages).toHaveLength(4);

    client = await connectTo(srv);
    await client.login('ann', 'pa55word');
    await client.dele(1);
    await client.rset();
    await client.dele(2);
    await client.quit();
    const left = srv.mailbox('ann').messages;
    expect(left).toHaveLength(3);
    expect(left[0]!.equals(TRICKY_MESSAGES[0]!)).toBe(true);
  });

  it('works with a server that has no CAPA', async () => {
    const srv = await start({ capabilities: { capa: false } });
    const client = await connectTo(srv);
    expect(client.capabilities.raw).toEqual([]);
    expect(client.capabilities.uidl).toBe(false);
    await client.login('ann', 'pa55word');
    expect((await client.stat()).count).toBe(4);
    await client.quit();
  });

  it('guards every command on the protocol state', async () => {
    const srv = await start();
    const client = await connectTo(srv);
    await expectCode(client.stat(), 'INVALID_STATE');
    await expectCode(client.retr(1), 'INVALID_STATE');
    await client.login('ann', 'pa55word');
    await expectCode(client.login('ann', 'pa55word'), 'INVALID_STATE');
    await expectCode(client.authPlain('ann', 'pa55word'), 'INVALID_STATE');
    await client.quit();
    await expectCode(client.noop(), 'INVALID_STATE');
    await expectCode(client.quit(), 'INVALID_STATE');
    expect(srv.commands.map((c) => c.verb)).toEqual(['CAPA', 'USER', 'PASS', 'QUIT']);
  });

  it('lets commands issued before login finishes wait for it', async () => {
    const srv = await start({ capabilities: { pipelining: true } });
    const client = await connectTo(srv);
    const login = client.login('ann', 'pa55word');
    const stat = client.stat();
    await login;
    expect((await stat).count).toBe(4);
    expect(srv.commands.map((c) => c.verb)).toEqual(['CAPA', 'USER', 'PASS', 'STAT']);
    await client.quit();
  });

  it('never sends PASS after a failed USER', async () => {
    const srv = await start({
      faults: [{ action: 'respond', when: { step: 'USER' }, line: '-ERR [SYS/PERM] no' }],
    });
    const client = await connectTo(srv);
    await expectCode(client.login('ann', 'pa55word'), 'SYS_PERM');
    expect(srv.commands.map((c) => c.verb)).toEqual(['CAPA', 'USER']);
    client.close();
  });

  it('rejects arguments that would inject a command, sending nothing', async () => {
    const srv = await start();
    const client = await connectTo(srv);
    await expectCode(client.login('ann\r\nDELE 1', 'x'), 'CONFIG_INVALID');
    await expectCode(client.login('ann', 'x\nQUIT'), 'CONFIG_INVALID');
    await expectCode(client.retr(0), 'CONFIG_INVALID');
    await expectCode(client.top(1, -1), 'CONFIG_INVALID');
    expect(srv.commands.map((c) => c.verb)).toEqual(['CAPA']);
    client.close();
  });

  describe('authentication', () => {
    it('maps a wrong password to AUTH_FAILED without the server text', async () => {
      const srv = await start();
      const client = await connectTo(srv);
      const error = await expectCode(client.login('ann', 'wrong-password'), 'AUTH_FAILED');
      expect(error.context).toMatchObject({ command: 'PASS', responseCode: 'AUTH' });
      expect(error.context.response).toBeUndefined();
      expect(JSON.stringify(error)).not.toContain('wrong-password');
      // The session stays usable for another attempt.
      await client.login('ann', 'pa55word');
      await client.quit();
    });

    it('reports a locked maildrop as IN_USE and LOGIN-DELAY with the advertised delay', async () => {
      const srv = await start({
        capabilities: { loginDelay: 900 },
        faults: [{ action: 'respond', when: { step: 'PASS', nth: 2 }, line: '-ERR [LOGIN-DELAY] wait' }],
      });
      const first = await connectTo(srv);
      await first.login('ann', 'pa55word');
      const second = await connectTo(srv);
      await expectCode(second.login('ann', 'pa55word'), 'LOGIN_DELAY').then((e) =>
        expect(e.context.retryAfterSeconds).toBe(900),
      );
      await expectCode(second.login('ann', 'pa55word'), 'IN_USE');
      await first.quit();
      second.close();
    });

    it('logs in with APOP using the greeting timestamp', async () => {
      const srv = await start({ capabilities: { apop: true } });
      const client = await connectTo(srv);
      expect(client.apopTimestamp).toMatch(/^<.+@fake-pop3\.test>$/);
      await client.apop('ann', 'pa55word');
      expect(client.state).toBe(Pop3State.TRANSACTION);
      const apopLine = srv.commands.find((c) => c.verb === 'APOP')!.line;
      expect(apopLine).toMatch(/^APOP ann [0-9a-f]{32}$/);
      await client.quit();
    });

    it('refuses APOP when the greeting has no timestamp, sending nothing', async () => {
      const srv = await start();
      const client = await connectTo(srv);
      await expectCode(client.apop('ann', 'pa55word'), 'UNSUPPORTED');
      expect(srv.commands.map((c) => c.verb)).toEqual(['CAPA']);
      client.close();
    });

    it('authenticates with SASL PLAIN (initial response) and fails cleanly', async () => {
      const srv = await start();
      const client = await connectTo(srv);
      await expectCode(client.authPlain('ann', 'nope'), 'AUTH_FAILED');
      await client.authPlain('ann', 'pa55word');
      expect(srv.saslResponses).toEqual(['\0ann\0nope', '\0ann\0pa55word']);
      await client.quit();
    });

    it('XOAUTH2 Gmail form: one line, byte for byte; the two-line form is rejected', async () => {
      const srv = await start({ personality: 'gmail' });
      const client = await connectTo(srv);
      expect(client.capabilities.sasl).toEqual(['PLAIN', 'XOAUTH2', 'OAUTHBEARER']);
      expect(client.capabilities.loginDelay).toBe(300);
      await expectCode(client.authXOAuth2('ann', 'tok-ann-123', 'continuation'), 'AUTH_FAILED');
      await client.authXOAuth2('ann', 'tok-ann-123', 'initial-response');
      const expected = Buffer.from('user=ann\u0001auth=Bearer tok-ann-123\u0001\u0001').toString('base64');
      expect(srv.commands.map((c) => c.line)).toEqual(['CAPA', 'AUTH XOAUTH2', `AUTH XOAUTH2 ${expected}`]);
      await client.quit();
    });

    it('XOAUTH2 Microsoft form: AUTH XOAUTH2, +, then the response line; one line is rejected', async () => {
      const srv = await start({ personality: 'microsoft' });
      const client = await connectTo(srv);
      await expectCode(client.authXOAuth2('ann', 'tok-ann-123', 'initial-response'), 'AUTH_FAILED');
      await client.authXOAuth2('ann', 'tok-ann-123', 'continuation');
      const expected = Buffer.from('user=ann\u0001auth=Bearer tok-ann-123\u0001\u0001').toString('base64');
      expect(srv.commands.map((c) => c.line).slice(2)).toEqual(['AUTH XOAUTH2', expected]);
      expect(client.state).toBe(Pop3State.TRANSACTION);
      await client.quit();
    });

    it('answers a + <base64 JSON> failure challenge with an empty line and decodes it', async () => {
      for (const form of ['initial-response', 'continuation'] as const) {
        const srv = await start({ capabilities: { sasl: ['XOAUTH2'] }, checkToken: () => false });
        const { logger, entries } = captureLogger();
        const client = await connectTo(srv, { logger });
        const error = await expectCode(client.authXOAuth2('ann', 'expired-token-xyz', form), 'AUTH_FAILED');
        expect(error.context.saslError).toEqual({
          status: '401',
          schemes: 'bearer',
          scope: 'https://mail.google.com/',
        });
        expect(error.context.mechanism).toBe('XOAUTH2');
        const lines = srv.commands.map((c) => c.line);
        expect(lines.at(-1)).toBe('');
        // Nothing is out of step afterwards: the session still answers.
        await expectCode(client.stat(), 'INVALID_STATE');
        await client.quit();
        const everything = JSON.stringify(error) + entries.join('\n');
        expect(everything).not.toContain('expired-token-xyz');
        expect(everything).not.toContain(
          Buffer.from('user=ann\u0001auth=Bearer expired-token-xyz').toString('base64'),
        );
        await srv.close();
      }
    });

    it('authenticates with OAUTHBEARER and reports its failure challenge', async () => {
      const srv = await start({ personality: 'gmail' });
      const client = await connectTo(srv);
      const error = await expectCode(client.authOAuthBearer('ann', 'bad-token'), 'AUTH_FAILED');
      expect(error.context.saslError).toMatchObject({ status: '401' });
      await client.authOAuthBearer('ann', 'tok-ann-123');
      expect(srv.saslResponses.at(-1)).toBe(
        `n,a=ann,\u0001host=127.0.0.1\u0001port=${srv.port}\u0001auth=Bearer tok-ann-123\u0001\u0001`,
      );
      await client.quit();
    });
  });

  describe('pipelining', () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n.dot\r\n`),
    );

    async function retrieveAll(options: Partial<FakePop3Options>, pipelining?: 'auto' | false | number) {
      const srv = await start({
        users: [{ name: 'ann', password: 'pw', messages: many }],
        // Hold the first answer back so that a pipelining client has time to send the rest.
        faults: [{ action: 'delay', when: { step: 'RETR', nth: 1 }, ms: 150 }],
        ...options,
      });
      const client = await connectTo(srv, pipelining === undefined ? {} : { pipelining });
      await client.login('ann', 'pw');
      const pending = many.map((_, i) => client.retr(i + 1));
      for (const [i, p] of pending.entries()) {
        expect((await readAll(await p)).equals(many[i]!)).toBe(true);
      }
      await client.quit();
      const retrs = srv.commands.filter((c) => c.verb === 'RETR');
      return {
        window: client.pipelineWindow,
        maxInFlight: Math.max(...retrs.map((c) => c.unansweredAtReceipt)),
      };
    }

    it('sends many commands before the first answer when PIPELINING is advertised', async () => {
      const { window, maxInFlight } = await retrieveAll({ capabilities: { pipelining: true } });
      expect(window).toBe(64);
      expect(maxInFlight).toBe(40);
    });

    it('respects a chosen window', async () => {
      const { window, maxInFlight } = await retrieveAll({ capabilities: { pipelining: true } }, 5);
      expect(window).toBe(5);
      expect(maxInFlight).toBe(5);
    });

    it('sends one command at a time without PIPELINING, or when it is turned off', async () => {
      expect(await retrieveAll({ capabilities: { pipelining: false } })).toEqual({
        window: 1,
        maxInFlight: 1,
      });
      expect(await retrieveAll({ capabilities: { pipelining: true } }, false)).toEqual({
        window: 1,
        maxInFlight: 1,
      });
    });
  });

  describe('body streams', () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 'abcdefghij\r\n.x\r\n');

    it('delivers body N+1 only after body N was consumed', async () => {
      const srv = await start({
        users: [{ name: 'ann', password: 'pw', messages: [big, TRICKY_MESSAGES[0]!] }],
        capabilities: { pipelining: true },
      });
      const client = await connectTo(srv);
      await client.login('ann', 'pw');
      const first = client.retr(1);
      const second = client.retr(2);
      const stream = await first;
      expect(await isPending(second, 100)).toBe(true);
      expect((await readAll(stream)).equals(expectedUnstuffed(big))).toBe(true);
      expect((await readAll(await second)).equals(TRICKY_MESSAGES[0]!)).toBe(true);
      await client.quit();
    });

    it('drains and drops the rest of a body whose stream the consumer destroyed', async () => {
      const srv = await start({
        users: [{ name: 'ann', password: 'pw', messages: [big, TRICKY_MESSAGES[1]!] }],
        capabilities: { pipelining: true },
      });
      const client = await connectTo(srv);
      await client.login('ann', 'pw');
      const first = client.retr(1);
      const second = client.retr(2);
      const stream = await first;
      await new Promise<void>((resolve) => stream.once('readable', () => resolve()));
      stream.destroy();
      expect((await readAll(await second)).equals(TRICKY_MESSAGES[1]!)).toBe(true);
      expect((await client.stat()).count).toBe(2);
      await client.quit();
    });

    it('pauses the socket while the consumer does not read (back-pressure)', async () => {
      const huge = Buffer.alloc(24 * 1024 * 1024, 'back pressure line\r\n');
      const srv = await start({ users: [{ name: 'ann', password: 'pw', messages: [huge] }] });
      const client = await connectTo(srv, { timeouts: { idle: 1500 } });
      await client.login('ann', 'pw');
      const stream = await client.retr(1);
      // Read nothing for longer than the idle timeout: the socket is paused, and the silence
      // is ours, not the server's, so the timeout must not fire either.
      await new Promise((r) => setTimeout(r, 2000));
      expect(client.bytesReceived).toBeLessThan(8 * 1024 * 1024);
      let size = 0;
      for await (const chunk of stream) size += (chunk as Buffer).length;
      expect(size).toBe(expectedUnstuffed(huge).length);
      expect(client.bytesReceived).toBeGreaterThan(huge.length);
      // (Flat memory is measured against Dovecot, out of process: here the server's own buffers
      // share the heap.)
      await client.quit();
    });
  });

  describe('logging', () => {
    it('logs commands and status lines at debug level without any secret', async () => {
      const srv = await start({ personality: 'gmail', capabilities: { apop: true } });
      const { logger, entries } = captureLogger();
      const client = await connectTo(srv, { logger });
      await client.apop('ann', 'pa55word');
      await client.quit();
      const client2 = await connectTo(srv, { logger });
      await client2.authPlain('ann', 'pa55word');
      await client2.quit();
      const client3 = await connectTo(srv, { logger });
      await client3.authXOAuth2('ann', 'tok-ann-123', 'initial-response');
      await client3.stat();
      await client3.quit();
      const client4 = await connectTo(srv, { logger });
      await client4.login('ann', 'pa55word');
      await client4.quit();
      const text = entries.join('\n');
      expect(text).toContain('"line":"APOP ann [REDACTED]"');
      expect(text).toContain('"line":"PASS [REDACTED]"');
      expect(text).toContain('"line":"AUTH XOAUTH2 [REDACTED]"');
      expect(text).toContain('"line":"STAT"');
      expect(text).toMatch(/"cid":"pop3-/);
      for (const secret of [
        'pa55word',
        'tok-ann-123',
        ...srv.commands
          .filter((c) => c.verb === 'AUTH' || c.verb === 'APOP')
          .map((c) => c.line.split(' ').at(-1)!),
      ]) {
        expect(text).not.toContain(secret);
      }
    });
  });
});
