import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createSecretBox,
  deriveKeyFromPassphrase,
  newScryptParams,
  SEALED_PREFIX,
} from '../../src/crypto/index.js';
import { isMultiPopError } from '../../src/errors/index.js';

const errorOf = (work: () => unknown): unknown => {
  try {
    work();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
};

/** Flips one bit of the decoded payload at `index` (IV 0–11, tag 12–27, ciphertext 28–). */
const flip = (sealed: string, index: number): string => {
  const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
  raw[index]! ^= 0x01;
  return SEALED_PREFIX + raw.toString('base64url');
};

describe('secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it('round-trips any text', () => {
    for (const text of ['', 'hunter2', 'päss wörd ✓ 𝄞', 'x'.repeat(100_000), '\0\r\n']) {
      expect(box.open(box.seal(text, 'ctx'), 'ctx')).toBe(text);
    }
  });

  it('produces a versioned ASCII value that does not contain the plaintext', () => {
    const sealed = box.seal('refresh-token-abc', 'ctx');
    expect(sealed.startsWith('mp1:')).toBe(true);
    expect(sealed).toMatch(/^mp1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('refresh-token-abc');
  });

  it('uses a fresh random IV per value: the same secret seals differently each time', () => {
    const values = new Set(Array.from({ length: 50 }, () => box.seal('same secret', 'ctx')));
    expect(values.size).toBe(50);
    const ivs = new Set(
      [...values].map((v) => Buffer.from(v.slice(4), 'base64url').subarray(0, 12).toString('hex')),
    );
    expect(ivs.size).toBe(50);
  });

  it('detects tampering with the IV, the tag or the ciphertext', () => {
    const sealed = box.seal('do not change me', 'ctx');
    for (const index of [0, 11, 12, 27, 28, 30]) {
      expect(
        isMultiPopError(
          errorOf(() => box.open(flip(sealed, index), 'ctx')),
          'STORE_KEY_INVALID',
        ),
      ).toBe(true);
    }
    expect(
      isMultiPopError(
        errorOf(() => box.open(sealed.slice(0, 20), 'ctx')),
        'STORE_KEY_INVALID',
      ),
    ).toBe(true);
  });

  it('fails with STORE_KEY_INVALID for a wrong key — a clear error, never garbage', () => {
    const sealed = box.seal('Tr0ub4dor&3', 'ctx');
    const error = errorOf(() => createSecretBox(randomBytes(32)).open(sealed, 'ctx'));
    expect(isMultiPopError(error, 'STORE_KEY_INVALID')).toBe(true);
    expect(JSON.stringify((error as Error & { toJSON(): unknown }).toJSON())).not.toContain('Tr0ub4dor');
  });

  it('binds the context: a value moved to another field does not open', () => {
    const sealed = box.seal('password of m1', 'entry:m1:password');
    expect(
      isMultiPopError(
        errorOf(() => box.open(sealed, 'entry:m2:password')),
        'STORE_KEY_INVALID',
      ),
    ).toBe(true);
    expect(
      isMultiPopError(
        errorOf(() => box.open(sealed)),
        'STORE_KEY_INVALID',
      ),
    ).toBe(true);
  });

  it('rejects values in an unknown format with STORE_ERROR', () => {
    expect(
      isMultiPopError(
        errorOf(() => box.open('plain text', 'ctx')),
        'STORE_ERROR',
      ),
    ).toBe(true);
    expect(
      isMultiPopError(
        errorOf(() => box.open('mp2:AAAA', 'ctx')),
        'STORE_ERROR',
      ),
    ).toBe(true);
  });

  it('takes only 32-byte keys, and copies the key', () => {
    expect(
      isMultiPopError(
        errorOf(() => createSecretBox(randomBytes(16))),
        'CONFIG_INVALID',
      ),
    ).toBe(true);
    expect(
      isMultiPopError(
        errorOf(() => createSecretBox('a passphrase' as never)),
        'CONFIG_INVALID',
      ),
    ).toBe(true);
    const key = randomBytes(32);
    const own = createSecretBox(key);
    const sealed = own.seal('x', 'ctx');
    key.fill(0);
    expect(own.open(sealed, 'ctx')).toBe('x');
  });
});

describe('passphrase key derivation', () => {
  const params = { ...newScryptParams(), N: 2 ** 10 }; // cheap for tests; the default is 2^15

  it('derives the same 32-byte key from the same passphrase and salt', async () => {
    const a = await deriveKeyFromPassphrase('correct horse battery staple', params);
    const b = await deriveKeyFromPassphrase('correct horse battery staple', { ...params });
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(true);
    const sealed = createSecretBox(a).seal('token', 'ctx');
    expect(createSecretBox(b).open(sealed, 'ctx')).toBe('token');
  });

  it('derives different keys for another salt or passphrase', async () => {
    const base = await deriveKeyFromPassphrase('correct horse battery staple', params);
    const otherSalt = await deriveKeyFromPassphrase('correct horse battery staple', {
      ...newScryptParams(),
      N: 2 ** 10,
    });
    const otherPass = await deriveKeyFromPassphrase('correct horse battery stapler', params);
    expect(base.equals(otherSalt)).toBe(false);
    expect(base.equals(otherPass)).toBe(false);
  });

  it('hands out copies of its cached key', async () => {
    const first = await deriveKeyFromPassphrase('wipe me', params);
    const expected = Buffer.from(first);
    first.fill(0);
    expect((await deriveKeyFromPassphrase('wipe me', params)).equals(expected)).toBe(true);
  });

  it('refuses an empty passphrase and unusable parameters', async () => {
    await expect(deriveKeyFromPassphrase('', params)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(deriveKeyFromPassphrase('x', { ...params, N: 1000 })).rejects.toMatchObject({
      code: 'STORE_ERROR',
    });
    await expect(deriveKeyFromPassphrase('x', { ...params, salt: '' })).rejects.toMatchObject({
      code: 'STORE_ERROR',
    });
  });

  it('defaults to N = 2^15, r = 8, p = 1 and a 16-byte random salt', () => {
    const fresh = newScryptParams();
    expect(fresh).toMatchObject({ N: 32768, r: 8, p: 1 });
    expect(Buffer.from(fresh.salt, 'base64')).toHaveLength(16);
    expect(fresh.salt).not.toBe(newScryptParams().salt);
  });
});
