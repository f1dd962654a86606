/**
 * Encryption at rest for the stores multipop ships: AES-256-GCM secret box, scrypt key
 * derivation from a passphrase, and the key check every store runs when it opens.
 *
 * @packageDocumentation
 */
export { deriveKeyFromPassphrase, newScryptParams, type ScryptParams } from './key-derivation.js';
export { createSecretBox, isSealed, SEALED_PREFIX, SECRET_KEY_BYTES, type SecretBox } from './secret-box.js';
export { openStoreSecretBox, type StoreKeyMeta } from './store-key.js';
