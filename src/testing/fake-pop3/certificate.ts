import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM certificate and its unencrypted private key. */
export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

/** What {@link createTestCertificate} makes. */
export interface TestCertificateOptions {
  /** Subject common name. @default 'localhost' */
  commonName?: string;
  /** Subject alternative names in OpenSSL syntax. @default ['DNS:localhost', 'IP:127.0.0.1'] */
  altNames?: string[];
  /** Days of validity from now. @default 7 */
  days?: number;
  /** Make a certificate that expired long ago (valid January 2020 only). @default false */
  expired?: boolean;
}

/**
 * Makes a self-signed certificate with the `openssl` command line tool (it must be on `PATH`)
 * in a temporary directory, which is removed again. Uses a P-256 key: quick to generate. Trust
 * it in the client with `tlsOptions: { ca: certPem }`; hand it to the fake server as `tls`.
 *
 * @example
 * <!-- doc-context declare const users: FakePop3Options['users']; -->
 * ```ts
 * const cert = await createTestCertificate();
 * const server = await startFakePop3Server({ users, tls: cert });
 * const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'starttls',
 *   tlsOptions: { ca: cert.certPem } });
 * const old = await createTestCertificate({ expired: true }); // for "expired certificate" tests
 * ```
 */
export async function createTestCertificate(options: TestCertificateOptions = {}): Promise<TestCertificate> {
  const commonName = options.commonName ?? 'localhost';
  const altNames = options.altNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
  const work = await mkdtemp(join(tmpdir(), 'multipop-fake-pop3-cert-'));
  try {
    const db = join(work, 'db');
    await mkdir(db);
    await writeFile(join(db, 'index.txt'), '');
    await writeFile(join(db, 'serial'), `${randomSerial()}\n`);
    // `openssl ca -selfsign` (unlike `req -x509`) takes explicit start and end dates, which is
    // what an expired certificate needs; the same path makes the valid ones.
    await writeFile(
      join(work, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = local',
        '[ local ]',
        `database = ${join(db, 'index.txt')}`,
        `serial = ${join(db, 'serial')}`,
        `new_certs_dir = ${db}`,
        'default_md = sha256',
        'policy = anything',
        'unique_subject = no',
        '[ anything ]',
        'commonName = supplied',
        '[ ext ]',
        'basicConstraints = critical,CA:TRUE',
        'keyUsage = critical,digitalSignature,keyCertSign',
        'extendedKeyUsage = serverAuth',
        'subjectKeyIdentifier = hash',
        ...(altNames.length > 0 ? [`subjectAltName = ${altNames.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    const key = join(work, 'key.pem');
    const csr = join(work, 'req.csr');
    const cert = join(work, 'cert.pem');
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${commonName}`,
    ]);
    const now = Date.now();
    const start = options.expired ? new Date('2020-01-01T00:00:00Z') : new Date(now - 60 * 60 * 1000);
    const end = options.expired
      ? new Date('2020-02-01T00:00:00Z')
      : new Date(now + (options.days ?? 7) * 24 * 60 * 60 * 1000);
    await run('openssl', [
      'ca',
      '-batch',
      '-config',
      join(work, 'ca.cnf'),
      '-selfsign',
      '-keyfile',
      key,
      '-in',
      csr,
      '-out',
      cert,
      '-startdate',
      opensslDate(start),
      '-enddate',
      opensslDate(end),
      '-extensions',
      'ext',
      '-notext',
    ]);
    const [certPem, keyPem] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]);
    return { certPem, keyPem };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function opensslDate(date: Date): string {
  // YYYYMMDDHHMMSSZ (GeneralizedTime), which `openssl ca` accepts for any year.
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function randomSerial(): string {
  return Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16))
    .join('')
    .replace(/^0/, '1');
}
