import { createSecretBox, type SecretBox } from '../crypto/index.js';
import { deriveKeyFromPassphrase, newScryptParams, type ScryptParams } from '../crypto/key-derivation.js';
import { MultiPopError } from '../errors/index.js';
import type { SqliteDatabase } from './driver.js';
import type { StoreKeyMaterial } from './key-text.js';

const KEY_CHECK_TEXT = 'multipop store key check';
const KEY_CHECK_CONTEXT = 'meta:key-check';

/**
 * The secret box for one store file (the key already read by `readStoreKey`). A 32-byte key is used as it is; a passphrase is stretched
 * with scrypt once per process, with a random salt kept in the file (`meta.kdf`). A sealed
 * known value (`meta.key_check`) makes a wrong key fail here, at open, with `STORE_KEY_INVALID`
 * — not later as garbage or as a confusing error deep in a collection.
 */
export async function openStoreSecretBox(
  db: SqliteDatabase,
  key: StoreKeyMaterial | undefined,
  writable: boolean,
): Promise<SecretBox> {
  if (key === undefined) return lockedBox();
  const box = createSecretBox(
    'passphrase' in key
      ? await deriveKeyFromPassphrase(key.passphrase, scryptParams(db, writable))
      : key.bytes,
  );
  let check = readMeta(db, 'key_check');
  if (check === undefined && writable) {
    // OR IGNORE: when two processes create the file at once, the first key wins for both.
    db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(
      'key_check',
      box.seal(KEY_CHECK_TEXT, KEY_CHECK_CONTEXT),
    );
    check = readMeta(db, 'key_check');
  }
  if (check !== undefined) {
    let opened: string | undefined;
    try {
      opened = box.open(check, KEY_CHECK_CONTEXT);
    } catch (err) {
      throw new MultiPopError(
        'STORE_KEY_INVALID',
        'The key does not match this SQLite store (wrong key or passphrase)',
        {},
        { cause: err },
      );
    }
    if (opened !== KEY_CHECK_TEXT)
      throw new MultiPopError('STORE_KEY_INVALID', 'The key does not match this SQLite store');
  }
  return box;
}

function scryptParams(db: SqliteDatabase, writable: boolean): ScryptParams {
  let stored = readMeta(db, 'kdf');
  if (stored === undefined && writable) {
    db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(
      'kdf',
      JSON.stringify({ alg: 'scrypt', ...newScryptParams() }),
    );
    stored = readMeta(db, 'kdf');
  }
  if (stored === undefined) {
    throw new MultiPopError(
      'STORE_KEY_INVALID',
      'This SQLite store was not set up with a passphrase: give its 32-byte key',
    );
  }
  const parsed = JSON.parse(stored) as ScryptParams & { alg?: string };
  if (parsed.alg !== 'scrypt')
    throw new MultiPopError('STORE_ERROR', 'The SQLite store names an unknown key-derivation function');
  return { N: parsed.N, r: parsed.r, p: parsed.p, salt: parsed.salt };
}

function readMeta(db: SqliteDatabase, key: string): string | undefined {
  const row = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key);
  return row?.value;
}

/** A read-only handle opened without a key: plain data reads work, secrets do not. */
function lockedBox(): SecretBox {
  const locked = () =>
    new MultiPopError(
      'STORE_KEY_INVALID',
      'This SQLite store was opened without a key; secrets cannot be read or written',
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
