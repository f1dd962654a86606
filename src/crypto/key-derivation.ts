import { createHash, randomBytes, scrypt } from 'node:crypto';
import { MultiPopError } from '../errors/index.js';
import { SECRET_KEY_BYTES } from './secret-box.js';

/**
 * The scrypt parameters a store keeps next to its data (never secret): with them and the
 * passphrase the same key is derived again on the next start.
 */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
  /** Per-store random salt, base64. */
  salt: string;
}

/**
 * Fresh parameters for a new store: a random 16-byte salt and N = 2^15, r = 8, p = 1 (32 MiB,
 * roughly 0.1 s on a server core — paid once per process, not per value).
 *
 * @example
 * ```ts
 * const params = newScryptParams(); // store it beside the data
 * ```
 */
export function newScryptParams(): ScryptParams {
  return { N: 2 ** 15, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
}

// Derivations already done in this process, so opening the same store twice (the CLI, tests, a
// host with several handles) pays scrypt once. Keyed by a hash, bounded, never logged.
const derived = new Map<string, Promise<Buffer>>();
const MAX_CACHED = 16;

/**
 * Derives a 32-byte key from a passphrase with scrypt (asynchronously, off the event loop).
 * The result is cached for the life of the process per passphrase and parameters.
 *
 * @throws MultiPopError `CONFIG_INVALID` for an empty passphrase or unusable parameters.
 * @example
 * ```ts
 * const key = await deriveKeyFromPassphrase(process.env.MULTIPOP_PASSPHRASE!, params);
 * const box = createSecretBox(key);
 * ```
 */
export async function deriveKeyFromPassphrase(passphrase: string, params: ScryptParams): Promise<Buffer> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new MultiPopError('CONFIG_INVALID', 'The store passphrase must not be empty', { field: 'key' });
  }
  if (!validParams(params)) {
    throw new MultiPopError('STORE_ERROR', 'The stored key-derivation parameters are invalid');
  }
  const id = createHash('sha256')
    .update(JSON.stringify([params.N, params.r, params.p, params.salt]))
    .update('\0')
    .update(passphrase, 'utf8')
    .digest('hex');
  let pending = derived.get(id);
  if (!pending) {
    pending = runScrypt(passphrase, params);
    if (derived.size >= MAX_CACHED) derived.delete(derived.keys().next().value as string);
    derived.set(id, pending);
    pending.catch(() => derived.delete(id));
  }
  // Hand out a copy: a caller that wipes its key must not wipe the cache.
  return Buffer.from(await pending);
}

function runScrypt(passphrase: string, params: ScryptParams): Promise<Buffer> {
  const salt = Buffer.from(params.salt, 'base64');
  // maxmem must exceed 128·N·r; Node's default (32 MiB) is exactly that for the defaults.
  const maxmem = 256 * params.N * params.r;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      salt,
      SECRET_KEY_BYTES,
      { N: params.N, r: params.r, p: params.p, maxmem },
      (err, key) => {
        if (err)
          reject(
            new MultiPopError(
              'STORE_ERROR',
              'Deriving the store key from the passphrase failed',
              {},
              { cause: err },
            ),
          );
        else resolve(key);
      },
    );
  });
}

function validParams(params: ScryptParams): boolean {
  const { N, r, p, salt } = params ?? ({} as ScryptParams);
  const powerOfTwo = Number.isInteger(N) && N >= 2 ** 10 && N <= 2 ** 22 && (N & (N - 1)) === 0;
  return (
    powerOfTwo &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16 &&
    typeof salt === 'string' &&
    Buffer.from(salt, 'base64').length >= 16
  );
}
