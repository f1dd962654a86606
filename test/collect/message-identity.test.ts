import { describe, expect, it } from 'vitest';
import { fallbackUidl, identityStrategy } from '../../src/collect/message-identity.js';
import { isMultiPopError } from '../../src/errors/index.js';

describe('fallbackUidl', () => {
  const header = 'Message-ID: <1@example.com>\r\nSubject: hi\r\n\r\n';

  it('is a prefixed SHA-256 of the header block', () => {
    expect(fallbackUidl(Buffer.from(header))).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fallbackUidl(Buffer.from(header))).toBe(fallbackUidl(Buffer.from(header)));
  });

  it('ignores body lines a server sends after the header block', () => {
    expect(fallbackUidl(Buffer.from(`${header}first body line\r\n`))).toBe(fallbackUidl(Buffer.from(header)));
  });

  it('differs when the headers differ by one byte', () => {
    expect(fallbackUidl(Buffer.from(header.replace('<1@', '<2@')))).not.toBe(
      fallbackUidl(Buffer.from(header)),
    );
  });

  it('collides for identical headers — the documented weakness', () => {
    expect(fallbackUidl(Buffer.from(`${header}body A`))).toBe(fallbackUidl(Buffer.from(`${header}body B`)));
  });
});

describe('identityStrategy', () => {
  it.each([
    { uidl: true, top: false, leaveOnServer: true, expected: 'uidl' },
    { uidl: true, top: true, leaveOnServer: false, expected: 'uidl' },
    { uidl: false, top: true, leaveOnServer: true, expected: 'header-digest' },
    { uidl: false, top: true, leaveOnServer: false, expected: 'header-digest' },
    { uidl: false, top: false, leaveOnServer: false, expected: 'session' },
    { uidl: false, top: true, leaveOnServer: false, allowHeaderDigest: false, expected: 'session' },
  ])(
    'UIDL $uidl, TOP $top, leave $leaveOnServer, digest $allowHeaderDigest → $expected',
    ({ expected, ...input }) => {
      expect(identityStrategy(input)).toBe(expected);
    },
  );

  it.each([
    { uidl: false, top: false, leaveOnServer: true },
    { uidl: false, top: true, leaveOnServer: true, allowHeaderDigest: false },
  ])('refuses leave-on-server without a stable id: %j', (input) => {
    let error: unknown;
    try {
      identityStrategy({ ...input, mailboxId: 'm1' });
    } catch (err) {
      error = err;
    }
    expect(isMultiPopError(error, 'UIDL_REQUIRED')).toBe(true);
    expect(isMultiPopError(error) && error.context.mailboxId).toBe('m1');
  });
});
