import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { MultiPopError } from '../errors/index.js';

/** The text every sealed value starts with; the digit is the format version. */
export const SEALED_PREFIX = 'mp1:';

/** Length in bytes of the keys the secret box takes (AES-256). */
export const SECRET_KEY_BYTES = 32;

const IV_BYTES = 12; // the GCM standard nonce; random per value (2^-32 collision bound holds far past our volumes)
const TAG_BYTES = 16;

/**
 * Authenticated encryption of short secrets (passwords, tokens, client secrets) for storage at
 * rest: AES-256-GCM, a fresh random 12-byte IV per value, the 16-byte tag, and a version prefix.
 *
 * `context` is bound into the tag as associated data (e.g. `entry:m1:password`): a sealed value
 * copied into another row or field does not open there — it fails like a wrong key.
 *
 * @example
 * ```ts
 * const box = createSecretBox(randomBytes(32));
 * const sealed = box.seal('hunter2', 'entry:m1:password'); // 'mp1:…'
 * box.open(sealed, 'entry:m1:password'); // 'hunter2'
 * ```
 */
export interface SecretBox {
  /** Encrypts `plaintext`; the result is ASCII (`mp1:` + base64url of IV ‖ tag ‖ ciphertext). */
  seal(plaintext: string, context?: string): string;
  /**
   * Decrypts a value made by {@link SecretBox.seal} with the same key and context.
   * @throws MultiPopError `STORE_KEY_INVALID` for a wrong key, another context or tampered data;
   *   `STORE_ERROR` for a value that is not in a format this version knows.
   */
  open(sealed: string, context?: string): string;
}

/**
 * Makes a {@link SecretBox} from a 32-byte key. The key is copied, so the caller may wipe its
 * buffer afterwards. For a passphrase, derive the key first with {@link deriveKeyFromPassphrase}.
 *
 * @throws MultiPopError `CONFIG_INVALID` when the key is not exactly 32 bytes.
 * @example
 * ```ts
 * const box = createSecretBox(Buffer.from(process.env.MULTIPOP_KEY!, 'base64'));
 * ```
 */
export function createSecretBox(key: Uint8Array): SecretBox {
  const secretKey = copyKey(key);
  const aad = (context: string | undefined) => Buffer.from(`${SEALED_PREFIX}${context ?? ''}`, 'utf8');

  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secretKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    open(sealed, context) {
      if (!sealed.startsWith(SEALED_PREFIX)) {
        throw new MultiPopError(
          'STORE_ERROR',
          'A stored secret is not in a format this version of multipop knows',
        );
      }
      const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
      if (raw.length < IV_BYTES + TAG_BYTES) throw keyInvalid();
      const decipher = createDecipheriv('aes-256-gcm', secretKey, raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad(context));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([
          decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } catch (err) {
        // GCM cannot tell a wrong key from tampering; both mean "do not trust these bytes".
        throw keyInvalid(err);
      }
    },
  };
}

/**
 * True when `value` looks like the output of {@link SecretBox.seal} (by its prefix only) — for
 * a host migrating plain-text secrets of its own store to sealed ones.
 *
 * @example
 * ```ts
 * const stored = isSealed(row.password) ? box.open(row.password, ctx) : row.password;
 * ```
 */
export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

function copyKey(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== SECRET_KEY_BYTES) {
    throw new MultiPopError(
      'CONFIG_INVALID',
      `The store key must be ${SECRET_KEY_BYTES} bytes (or a passphrase string)`,
      {
        field: 'key',
      },
    );
  }
  return Buffer.from(key);
}

function keyInvalid(cause?: unknown): MultiPopError {
  return new MultiPopError(
    'STORE_KEY_INVALID',
    'A stored secret could not be decrypted: the store key is wrong or the data was changed',
    {},
    cause === undefined ? undefined : { cause },
  );
}
