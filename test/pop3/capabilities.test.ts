import { describe, expect, it } from 'vitest';
import { emptyCapabilities, parseCapabilities } from '../../src/pop3/capabilities.js';

describe('parseCapabilities', () => {
  it('reads the RFC 2449 capabilities', () => {
    const caps = parseCapabilities([
      'TOP',
      'uidl',
      'USER',
      'STLS',
      'PIPELINING',
      'RESP-CODES',
      'SASL PLAIN xoauth2 OAUTHBEARER',
      'LOGIN-DELAY 900 USER',
      'EXPIRE NEVER',
      'IMPLEMENTATION Dovecot 2.3',
      'X-GOOGLE-RICO',
    ]);
    expect(caps).toMatchObject({
      top: true,
      uidl: true,
      user: true,
      stls: true,
      pipelining: true,
      respCodes: true,
      sasl: ['PLAIN', 'XOAUTH2', 'OAUTHBEARER'],
      loginDelay: 900,
      expire: Number.POSITIVE_INFINITY,
      implementation: 'Dovecot 2.3',
    });
    expect(caps.raw).toContain('X-GOOGLE-RICO');
    expect(caps.raw).toContain('UIDL');
  });

  it('ignores malformed arguments and empty lines', () => {
    const caps = parseCapabilities(['', 'LOGIN-DELAY soon', 'EXPIRE 0', 'SASL']);
    expect(caps.loginDelay).toBeUndefined();
    expect(caps.expire).toBe(0);
    expect(caps.sasl).toEqual([]);
  });

  it('is empty for a server without CAPA', () => {
    expect(emptyCapabilities()).toEqual({
      raw: [],
      top: false,
      uidl: false,
      user: false,
      stls: false,
      pipelining: false,
      respCodes: false,
      sasl: [],
    });
  });
});
