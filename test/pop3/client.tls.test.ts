import { beforeAll, describe, expect, it } from 'vitest';
import {
  createTestCertificate,
  type FakePop3Options,
  type FakePop3Server,
  type TestCertificate,
} from '../../src/testing/fake-pop3/index.js';
import { fakeServerPerTest } from '../support/fake-server-per-test.js';
import { connectTo, expectCode, readAll, TRICKY_MESSAGES } from './support/fake.js';

let cert: TestCertificate;
let expired: TestCertificate;
let otherHost: TestCertificate;
beforeAll(async () => {
  [cert, expired, otherHost] = await Promise.all([
    createTestCertificate(),
    createTestCertificate({ expired: true }),
    createTestCertificate({ commonName: 'pop.other.example', altNames: ['DNS:pop.other.example'] }),
  ]);
});

const startServer = fakeServerPerTest({
  users: [{ name: 'ann', password: 'pw', messages: TRICKY_MESSAGES }],
});
// The certificate exists only once beforeAll has run.
const start = (options: Partial<FakePop3Options> = {}) => startServer({ tls: cert, ...options });

const CREDENTIAL_VERBS = ['USER', 'PASS', 'APOP', 'AUTH'];
const sentCredentials = (srv: FakePop3Server) => srv.commands.some((c) => CREDENTIAL_VERBS.includes(c.verb));

describe('Pop3Client TLS', () => {
  it('upgrades with STLS, discards and re-reads the capabilities, and sends credentials only over TLS', async () => {
    const srv = await start({ capabilities: { apop: true } });
    const client = await connectTo(srv, { tls: 'starttls', tlsOptions: { ca: cert.certPem } });
    expect(client.secure).toBe(true);
    // The server stops advertising STLS once TLS is on; the client's view follows.
    expect(client.capabilities.stls).toBe(false);
    await client.login('ann', 'pw');
    expect((await readAll(await client.retr(1))).equals(TRICKY_MESSAGES[0]!)).toBe(true);
    await client.quit();
    expect(srv.commands.map((c) => `${c.verb}:${c.secure}`)).toEqual([
      'CAPA:false',
      'STLS:false',
      'CAPA:true',
      'USER:true',
      'PASS:true',
      'RETR:true',
      'QUIT:true',
    ]);
  });

  it('speaks implicit TLS', async () => {
    const srv = await start({ implicitTls: true });
    const client = await connectTo(srv, { tls: 'implicit', tlsOptions: { ca: cert.certPem } });
    expect(client.secure).toBe(true);
    await client.login('ann', 'pw');
    expect((await client.stat()).count).toBe(TRICKY_MESSAGES.length);
    await client.quit();
    expect(srv.commands.every((c) => c.secure)).toBe(true);
  });

  describe('no downgrade', () => {
    it('fails with TLS_REQUIRED when STLS is not advertised, before any credential', async () => {
      const srv = await start({ tls: undefined, capabilities: { apop: true } });
      const error = await expectCode(connectTo(srv, { tls: 'starttls' }), 'TLS_REQUIRED');
      expect(error.context.command).toBe('STLS');
      expect(srv.commands.map((c) => c.verb)).toEqual(['CAPA']);
    });

    it('tries STLS once when CAPA is unsupported, and fails with TLS_REQUIRED on -ERR', async () => {
      const srv = await start({ tls: undefined, capabilities: { capa: false } });
      await expectCode(connectTo(srv, { tls: 'starttls' }), 'TLS_REQUIRED');
      expect(srv.commands.map((c) => c.verb)).toEqual(['CAPA', 'STLS']);
    });

    it('uses STLS on a server without CAPA that knows it', async () => {
      const srv = await start({ capabilities: { capa: false } });
      const client = await connectTo(srv, { tls: 'starttls', tlsOptions: { ca: cert.certPem } });
      expect(client.secure).toBe(true);
      await client.login('ann', 'pw');
      await client.quit();
    });

    it('fails with TLS_REQUIRED when the server refuses STLS', async () => {
      const srv = await start({
        faults: [{ action: 'respond', when: { step: 'STLS' }, line: '-ERR [SYS/TEMP] not now' }],
      });
      const error = await expectCode(
        connectTo(srv, { tls: 'starttls', tlsOptions: { ca: cert.certPem } }),
        'TLS_REQUIRED',
      );
      expect(error.context.responseCode).toBe('SYS/TEMP');
      expect(sentCredentials(srv)).toBe(false);
    });

    it('refuses plaintext injected after +OK to STLS', async () => {
      const srv = await start({
        faults: [
          { action: 'raw', when: { step: 'STLS' }, data: Buffer.from('+OK go ahead\r\n+OK injected\r\n') },
        ],
      });
      await expectCode(
        connectTo(srv, { tls: 'starttls', tlsOptions: { ca: cert.certPem } }),
        'PROTOCOL_ERROR',
      );
      expect(sentCredentials(srv)).toBe(false);
    });

    it('fails with TLS_FAILED when the STLS handshake fails (untrusted certificate)', async () => {
      const srv = await start();
      await expectCode(connectTo(srv, { tls: 'starttls' }), 'TLS_FAILED');
      expect(sentCredentials(srv)).toBe(false);
    });
  });

  describe('certificate verification', () => {
    it.each(['starttls', 'implicit'] as const)(
      'rejects a self-signed certificate by default (%s)',
      async (tls) => {
        const srv = await start({ implicitTls: tls === 'implicit' });
        const error = await expectCode(connectTo(srv, { tls }), 'TLS_FAILED');
        expect(String(error.context.reason)).toMatch(/SELF_SIGNED/);
        expect(sentCredentials(srv)).toBe(false);
      },
    );

    it('rejects an expired certificate even when its issuer is trusted', async () => {
      const srv = await start({ tls: expired, implicitTls: true });
      const error = await expectCode(
        connectTo(srv, { tls: 'implicit', tlsOptions: { ca: expired.certPem } }),
        'TLS_FAILED',
      );
      expect(error.context.reason).toBe('CERT_HAS_EXPIRED');
    });

    it('rejects a certificate for another host name', async () => {
      const srv = await start({ tls: otherHost, implicitTls: true });
      const error = await expectCode(
        connectTo(srv, { tls: 'implicit', tlsOptions: { ca: otherHost.certPem } }),
        'TLS_FAILED',
      );
      expect(error.context.reason).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('accepts an untrusted certificate only with an explicit rejectUnauthorized: false', async () => {
      const srv = await start({ implicitTls: true });
      const client = await connectTo(srv, { tls: 'implicit', tlsOptions: { rejectUnauthorized: false } });
      expect(client.secure).toBe(true);
      await client.quit();
    });
  });
});
