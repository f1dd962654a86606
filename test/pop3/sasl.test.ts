import { describe, expect, it } from 'vitest';
import { apopDigest, apopTimestamp } from '../../src/pop3/apop.js';
import { decodeChallenge, oauthBearerResponse, plainResponse, xoauth2Response } from '../../src/pop3/sasl.js';

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

describe('SASL encoders', () => {
  it('PLAIN is authzid NUL authcid NUL password (RFC 4616)', () => {
    expect(decode(plainResponse('tim', 'tanstaaftanstaaf'))).toBe('\0tim\0tanstaaftanstaaf');
    expect(decode(plainResponse('tim', 'pw', 'admin'))).toBe('admin\0tim\0pw');
  });

  it('XOAUTH2 is user=…^Aauth=Bearer …^A^A as one base64 string', () => {
    const b64 = xoauth2Response('someuser@example.com', 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg');
    expect(b64).not.toMatch(/\s/);
    expect(decode(b64)).toBe(
      'user=someuser@example.com\u0001auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\u0001\u0001',
    );
  });

  it('OAUTHBEARER carries the GS2 header, host, port and token (RFC 7628)', () => {
    expect(
      decode(
        oauthBearerResponse(
          'user@example.com',
          'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==',
          'server.example.com',
          143,
        ),
      ),
    ).toBe(
      'n,a=user@example.com,\u0001host=server.example.com\u0001port=143\u0001auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\u0001\u0001',
    );
    expect(decode(oauthBearerResponse('a,b=c', 't', 'h', 1))).toMatch(/^n,a=a=2Cb=3Dc,/);
  });

  it('decodes a base64 JSON failure challenge, and keeps other text', () => {
    const payload = Buffer.from(
      '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}',
    ).toString('base64');
    expect(decodeChallenge(payload).json).toEqual({
      status: '401',
      schemes: 'bearer',
      scope: 'https://mail.google.com/',
    });
    expect(decodeChallenge('not base64!')).toEqual({ text: 'not base64!' });
    expect(decodeChallenge(Buffer.from('plain words').toString('base64'))).toEqual({ text: 'plain words' });
  });
});

describe('APOP', () => {
  it('computes the RFC 1939 example digest', () => {
    const greeting = 'POP3 server ready <1896.697170952@dbc.mtview.ca.us>';
    const timestamp = apopTimestamp(greeting);
    expect(timestamp).toBe('<1896.697170952@dbc.mtview.ca.us>');
    expect(apopDigest(timestamp!, 'tanstaaf')).toBe('c4c9334bac560ecc979e58001b3e22fb');
  });

  it('finds no timestamp in a plain greeting', () => {
    expect(apopTimestamp('Dovecot ready.')).toBeUndefined();
  });
});
