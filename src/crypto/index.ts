/**
 * Encryption at rest for the stores multipop ships: AES-256-GCM secret box, scrypt key
 * derivation from a passphrase, and the key check every store runs when it opens.
 *
 * @packageDocumentation
 */
export { deriveKeyFromPassphrase, newScryptParams, type ScryptParams } from './key-derivation.js';
export {
  generateStoreKey,
  KEY_TEXT_FORMAT,
  type KeySource,
  PASSPHRASE_PREFIX,
  readStoreKey,
  type StoreKeyMaterial,
} from './key-text.js';
export { createSecretBox, isSealed, SEALED_PREFIX, SECRET_KEY_BYTES, type SecretBox } from './secret-box.js';
export { openStoreSecretBox, type StoreKeyMeta } from './store-key.js';
