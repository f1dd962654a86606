/**
 * Encryption at rest for the stores multipop ships: AES-256-GCM secret box and scrypt key
 * derivation from a passphrase.
 *
 * @packageDocumentation
 */
export { deriveKeyFromPassphrase, newScryptParams, type ScryptParams } from './key-derivation.js';
export { createSecretBox, isSealed, SEALED_PREFIX, SECRET_KEY_BYTES, type SecretBox } from './secret-box.js';
