import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../src/collect/idempotency.js';

describe('idempotencyKey', () => {
  it('is a stable 64-digit hex string', () => {
    const key = idempotencyKey('ann-gmail', '1234.abcd');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(idempotencyKey('ann-gmail', '1234.abcd')).toBe(key);
  });

  it('is pinned: changing the derivation would re-deliver messages in a crash window', () => {
    // The documented derivation: SHA-256 over (u32be length, UTF-8 bytes) of domain, mailbox id, UIDL.
    const part = (s: string) => {
      const bytes = Buffer.from(s, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const expected = createHash('sha256')
      .update(Buffer.concat([part('multipop/idempotency/v1'), part('m1'), part('ü')]))
      .digest('hex');
    expect(idempotencyKey('m1', 'ü')).toBe(expected);
    expect(idempotencyKey('m1', 'u1')).toBe(
      '13f091b542bb98bb947e9b259bcb77426f4bb8d619e3557d77f210dbbd1afed8',
    );
  });

  it('separates the two values: ("a","bc") differs from ("ab","c")', () => {
    expect(idempotencyKey('a', 'bc')).not.toBe(idempotencyKey('ab', 'c'));
    expect(idempotencyKey('', 'ab')).not.toBe(idempotencyKey('a', 'b'));
  });

  it('differs for every different pair (no collisions across splits and bytes)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (m1, u1, m2, u2) => {
        fc.pre(m1 !== m2 || u1 !== u2);
        expect(idempotencyKey(m1, u1)).not.toBe(idempotencyKey(m2, u2));
      }),
    );
  });
});

describe('idempotencyKey with size and fingerprint (v2)', () => {
  it('differs by size and fingerprint, and stays stable', () => {
    const a = idempotencyKey('m1', 'u1', 100);
    expect(idempotencyKey('m1', 'u1', 100)).toBe(a);
    expect(idempotencyKey('m1', 'u1', 101)).not.toBe(a);
    expect(idempotencyKey('m1', 'u1', 100, 'f')).not.toBe(a);
    expect(idempotencyKey('m1', 'u1')).not.toBe(a);
  });
});
