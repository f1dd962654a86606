import {
  openStoreSecretBox as openSecretBox,
  type SecretBox,
  type StoreKeyMaterial,
} from '../crypto/index.js';
import type { SqliteDatabase } from './driver.js';

/**
 * The secret box for one store file (the key already read by `readStoreKey`), its `kdf` and
 * `key_check` kept in the `meta` table (see `openStoreSecretBox` in src/crypto for what they do).
 */
export function openStoreSecretBox(
  db: SqliteDatabase,
  key: StoreKeyMaterial | undefined,
  writable: boolean,
): Promise<SecretBox> {
  const read = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  // OR IGNORE: when two processes create the file at once, the first value wins for both.
  const insert = db.prepare<[string, string]>('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
  return openSecretBox(
    {
      storeName: 'SQLite store',
      read: async (name) => read.get(name)?.value,
      insertIfMissing: async (name, value) => {
        insert.run(name, value);
      },
    },
    key,
    writable,
  );
}
