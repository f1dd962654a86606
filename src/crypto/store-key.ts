import { MultiPopError } from '../errors/index.js';
import { deriveKeyFromPassphrase, newScryptParams, type ScryptParams } from './key-derivation.js';
import type { StoreKeyMaterial } from './key-text.js';
import { createSecretBox, type SecretBox } from './secret-box.js';

const KEY_CHECK_TEXT = 'multipop store key check';
const KEY_CHECK_CONTEXT = 'meta:key-check';

/** How a store keeps its small key-related values (`kdf`, `key_check`) beside the data. */
export interface StoreKeyMeta {
  /** The store's name in errors, e.g. "SQLite store". */
  readonly storeName: string;
  read(key: string): Promise<string | undefined>;
  /** Writes `value` unless `key` exists already (then the existing value wins, for every process). */
  insertIfMissing(key: string, value: string): Promise<void>;
}

/**
 * The secret box for one store, for a key already read by `readStoreKey` (so every store takes
 * the one key format). A 32-byte key is used as it is; a passphrase is stretched with
 * scrypt once per process, with a random salt kept in the store (`kdf`). A sealed known value
 * (`key_check`) makes a wrong key fail here, at open, with `STORE_KEY_INVALID` — not later as
 * garbage or as a confusing error deep in a collection. Without a key (read-only handles) the
 * box refuses to seal or open.
 *
 * @example
 * ```ts
 * const box = await openStoreSecretBox(meta, key, true);
 * ```
 */
export async function openStoreSecretBox(
  meta: StoreKeyMeta,
  key: StoreKeyMaterial | undefined,
  writable: boolean,
): Promise<SecretBox> {
  if (key === undefined) return lockedBox(meta.storeName);
  const box = createSecretBox(
    'passphrase' in key
      ? await deriveKeyFromPassphrase(key.passphrase, await scryptParams(meta, writable))
      : key.bytes,
  );
  let check = await meta.read('key_check');
  if (check === undefined && writable) {
    await meta.insertIfMissing('key_check', box.seal(KEY_CHECK_TEXT, KEY_CHECK_CONTEXT));
    check = await meta.read('key_check');
  }
  if (check !== undefined) {
    let opened: string | undefined;
    try {
      opened = box.open(check, KEY_CHECK_CONTEXT);
    } catch (err) {
      throw new MultiPopError(
        'STORE_KEY_INVALID',
        `The key does not match this ${meta.storeName} (wrong key or passphrase)`,
        {},
        { cause: err },
      );
    }
    if (opened !== KEY_CHECK_TEXT)
      throw new MultiPopError('STORE_KEY_INVALID', `The key does not match this ${meta.storeName}`);
  }
  return box;
}

async function scryptParams(meta: StoreKeyMeta, writable: boolean): Promise<ScryptParams> {
  let stored = await meta.read('kdf');
  if (stored === undefined && writable) {
    await meta.insertIfMissing('kdf', JSON.stringify({ alg: 'scrypt', ...newScryptParams() }));
    stored = await meta.read('kdf');
  }
  if (stored === undefined) {
    throw new MultiPopError(
      'STORE_KEY_INVALID',
      `This ${meta.storeName} was not set up with a passphrase: give its 32-byte key`,
    );
  }
  const parsed = JSON.parse(stored) as ScryptParams & { alg?: string };
  if (parsed.alg !== 'scrypt')
    throw new MultiPopError('STORE_ERROR', `The ${meta.storeName} names an unknown key-derivation function`);
  return { N: parsed.N, r: parsed.r, p: parsed.p, salt: parsed.salt };
}

/** A handle opened without a key: plain data reads work, secrets do not. */
function lockedBox(storeName: string): SecretBox {
  const locked = () =>
    new MultiPopError(
      'STORE_KEY_INVALID',
      `This ${storeName} was opened without a key; secrets cannot be read or written`,
    );
  return {
    seal() {
      throw locked();
    },
    open() {
      throw locked();
    },
  };
}
