import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM certificate and its unencrypted private key. */
export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

// Generating an RSA-2048 key costs a noticeable fraction of a second; every test file starts
// its own servers, so one certificate is shared by all of them through a cache file. Cert and
// key live in one JSON file replaced by rename, so a reader never sees a half-written or
// mismatched pair. A day-old pair is replaced, so the cache never holds an expired one.
const CACHE_FILE = join(tmpdir(), 'multipop-test-cert-v1.json');
const MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * A self-signed certificate for `localhost` / `127.0.0.1` (SAN `DNS:localhost,IP:127.0.0.1`),
 * made by `openssl req -x509` and cached in the temp directory.
 *
 * @example
 * ```ts
 * const { certPem, keyPem } = await localhostCertificate();
 * tls.connect({ host: '127.0.0.1', port, ca: certPem });
 * ```
 */
export async function localhostCertificate(): Promise<CertificatePair> {
  const cached = await readCached();
  if (cached) return cached;
  const work = await mkdtemp(join(tmpdir(), 'multipop-cert-'));
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '7',
      '-keyout',
      join(work, 'key.pem'),
      '-out',
      join(work, 'cert.pem'),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    const pair: CertificatePair = {
      certPem: await readFile(join(work, 'cert.pem'), 'utf8'),
      keyPem: await readFile(join(work, 'key.pem'), 'utf8'),
    };
    const staged = join(work, 'pair.json');
    await writeFile(staged, JSON.stringify(pair), { mode: 0o600 });
    await rename(staged, CACHE_FILE).catch(() => {});
    return pair;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function readCached(): Promise<CertificatePair | undefined> {
  try {
    const info = await stat(CACHE_FILE);
    if (Date.now() - info.mtimeMs > MAX_AGE_MS) return undefined;
    const pair = JSON.parse(await readFile(CACHE_FILE, 'utf8')) as Partial<CertificatePair>;
    if (!pair.certPem?.includes('BEGIN CERTIFICATE') || !pair.keyPem?.includes('PRIVATE KEY'))
      return undefined;
    return { certPem: pair.certPem, keyPem: pair.keyPem };
  } catch {
    return undefined;
  }
}
