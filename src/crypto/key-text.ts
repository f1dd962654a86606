import { randomBytes } from 'node:crypto';
import { MultiPopError } from '../errors/index.js';
import { SECRET_KEY_BYTES } from './secret-box.js';

/** Marks key text that is a passphrase rather than a key: `passphrase:correct horse …`. */
export const PASSPHRASE_PREFIX = 'passphrase:';

/** What a store key turns into: 32 key bytes, or a passphrase to stretch. */
export type StoreKeyMaterial = { bytes: Uint8Array } | { passphrase: string };

const KEY_TEXT = /^[A-Za-z0-9+/]{43}=$/;

/** The format every store key in text must have — in the error that refuses one. */
export const KEY_TEXT_FORMAT =
  'the base64 of 32 random bytes (44 characters, as `multipop keygen` prints), or `passphrase:` followed by a passphrase';

/**
 * A new store key as text: the base64 of 32 random bytes. The one format that the `key` of
 * `openSqliteStore` and `openPostgresStore`, the CLI's `store.keyFile` and `MULTIPOP_KEY` all accept.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { generateStoreKey } from 'multipop/sqlite';
 * writeFileSync('/etc/multipop/store.key', `${generateStoreKey()}\n`, { mode: 0o600 });
 * ```
 */
export function generateStoreKey(): string {
  return randomBytes(SECRET_KEY_BYTES).toString('base64');
}

/** Where a key came from, for the refusal: the field to name and how to call it. */
export interface KeySource {
  /** E.g. `key`, `store.keyFile`, `MULTIPOP_KEY`. */
  field: string;
  /** E.g. `The store key`, `The key in /etc/multipop/store.key`. */
  label: string;
}

/**
 * Reads a store key: bytes must be exactly 32; text (surrounding white space ignored, so a key
 * file may end in a newline) is {@link KEY_TEXT_FORMAT}. Anything else is refused, saying which
 * format was expected and never echoing the key.
 *
 * @throws MultiPopError `CONFIG_INVALID` naming the field.
 */
export function readStoreKey(
  key: Uint8Array | string,
  source: KeySource = { field: 'key', label: 'The store key' },
): StoreKeyMaterial {
  const refuse = (why: string) =>
    new MultiPopError('CONFIG_INVALID', `${source.label} ${why}`, { field: source.field });
  if (typeof key !== 'string') {
    if (key.length === SECRET_KEY_BYTES) return { bytes: key };
    const asText = Buffer.from(key).toString('latin1').trim();
    const hint = KEY_TEXT.test(asText)
      ? ': these bytes are key text — pass it as a string (readFile(path, "utf8"))'
      : '';
    throw refuse(`is ${key.length} bytes; given as bytes it must be exactly ${SECRET_KEY_BYTES}${hint}`);
  }
  const text = key.trim();
  if (text.startsWith(PASSPHRASE_PREFIX)) {
    const passphrase = text.slice(PASSPHRASE_PREFIX.length);
    if (passphrase.length === 0) throw refuse('has the passphrase: prefix but no passphrase');
    return { passphrase };
  }
  if (!KEY_TEXT.test(text)) {
    throw refuse(`is not in the expected format (${text.length} characters): expected ${KEY_TEXT_FORMAT}`);
  }
  return { bytes: Buffer.from(text, 'base64') };
}
