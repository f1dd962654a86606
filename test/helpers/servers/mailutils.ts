/**
 * A private GNU Mailutils pop3d per test: `pop3d --config-file=<private>` (which skips the site
 * configuration) in daemon mode in the foreground, logging to stderr (there is no syslog
 * here), with one STLS listener and one implicit-TLS listener on free loopback ports.
 *
 * Users come from a private `virtdomain` passwd file for the domain `localhost`, so they log in
 * as `user@localhost` ({@link InteropServer.loginName}); APOP secrets are in a database built
 * with `popauth`. Each user's mailbox is the Maildir `<home>/INBOX`.
 *
 * @example
 * ```ts
 * const mailutils = await startMailutils({ users: [{ name: 'ann', password: 'secret' }] });
 * await mailutils.seed('ann', [Buffer.from('Subject: a\r\n\r\nbody\r\n')]);
 * // USER ann@localhost …
 * await mailutils.stop();
 * ```
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeMaildir } from '../maildir.js';
import { lfMaildirMailboxes } from './lf-maildir-mailboxes.js';
import {
  readLogs,
  startTlsServerInPrivateDir,
  stopAndRemove,
  type TlsServerPlace,
  waitUntilListening,
} from './lifecycle.js';
import { packageVersion, serverPrograms } from './paths.js';
import { runCommand, spawnServer, systemAccount } from './process.js';
import type { InteropServer, InteropServerOptions } from './types.js';
import { knownUser } from './users.js';

/** The virtual domain of every test user: the passwd file is named after it. */
const DOMAIN = 'localhost';

/**
 * Starts GNU Mailutils pop3d on two free ports: plain with STLS, and implicit TLS.
 *
 * @example
 * ```ts
 * const mailutils = await startMailutils({ users: [{ name: 'ann', password: 'secret' }] });
 * ```
 */
export function startMailutils(options: InteropServerOptions): Promise<InteropServer> {
  return startTlsServerInPrivateDir('mailutils', 'Mailutils', options, (place) =>
    startMailutilsIn(place, options),
  );
}

async function startMailutilsIn(
  { dir, port, tlsPort, cert }: TlsServerPlace,
  options: InteropServerOptions,
): Promise<InteropServer> {
  const programs = serverPrograms.mailutils;
  const owner = systemAccount('nobody');
  const paths = {
    config: join(dir, 'pop3d.conf'),
    passwdDir: join(dir, 'virtdomain'),
    home: join(dir, 'home'),
    locks: join(dir, 'locks'),
    apopText: join(dir, 'apop.txt'),
    apopDb: join(dir, 'apop.db'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    pid: join(dir, 'pop3d.pid'),
    log: join(dir, 'pop3d.log'),
  };
  const maildir = (user: string) => join(paths.home, user, 'INBOX');
  for (const sub of [paths.passwdDir, paths.home, paths.locks]) await mkdir(sub, { mode: 0o755 });
  await writeFile(paths.cert, cert.certPem, { mode: 0o644 });
  await writeFile(paths.key, cert.keyPem, { mode: 0o600 });

  const hashes = await Promise.all(
    options.users.map(async (user) =>
      (
        await runCommand(programs.openssl, ['passwd', '-6', '-stdin'], { input: `${user.password}\n` })
      ).stdout.trim(),
    ),
  );
  const passwd = options.users.map(
    (user, i) =>
      `${user.name}:${hashes[i]}:${owner.uid}:${owner.gid}:multipop test:${join(paths.home, user.name)}:/bin/false`,
  );
  await writeFile(join(paths.passwdDir, DOMAIN), `${passwd.join('\n')}\n`, { mode: 0o600 });
  for (const user of options.users) await makeMaildir(maildir(user.name), paths.home, owner);
  await runCommand('chown', ['0:0', paths.home]);

  // APOP needs the secret itself: popauth compiles "name password" lines into its database.
  const apop = options.users.map((user) => `${user.name}@${DOMAIN} ${user.password}`);
  await writeFile(paths.apopText, `${apop.join('\n')}\n`, { mode: 0o600 });
  await runCommand(programs.popauth, ['-c', '-f', paths.apopText, '-o', paths.apopDb]);
  await rm(paths.apopText);
  await writeFile(paths.config, pop3dConf(paths, port, tlsPort));

  const daemon = spawnServer(programs.pop3d, [`--config-file=${paths.config}`], paths.log, dir);
  await waitUntilListening(daemon, { label: 'Mailutils pop3d', log: paths.log, ports: [port, tlsPort] });

  return {
    name: 'mailutils',
    label: `GNU Mailutils pop3d ${packageVersion('mailutils')}`,
    host: '127.0.0.1',
    port,
    tlsPort,
    caPem: cert.certPem,
    capabilities: {
      capa: true,
      stls: true,
      implicitTls: true,
      apop: true,
      sasl: [],
      uidl: true,
      top: true,
      pipelining: true,
      respCodes: true,
      utf8: false,
    },
    quirks: [
      'Once a session has sent UIDL, it inserts an `X-UIDL: <uidl>` header into every message it serves (RETR and TOP) and writes it back into the stored message, so LIST/STAT sizes grow after the first UIDL.',
      '`TOP n` with n > 0 serves an extra empty line between the header and the body (`TOP n 0` is right).',
      'CAPA advertises `EXPIRENEVER` (the space of `EXPIRE NEVER` missing); `AUTH` is answered as not implemented, so there is no SASL.',
      'The greeting always carries an APOP timestamp, whether or not the user has an APOP secret.',
      'UIDL is `<md5 hex>.<uidvalidity>.<n>`.',
      'Maildir messages must be stored with LF line ends: a CRLF file loses its header section.',
      'Virtual-domain users log in as `user@domain`.',
    ],
    dir,
    loginName: (user) => `${knownUser(options.users, user, 'Mailutils').name}@${DOMAIN}`,
    ...lfMaildirMailboxes('Mailutils', options.users, maildir, owner),
    logText: () => readLogs(paths.log),
    stop: stopAndRemove(daemon, dir),
  };
}

/** pop3d.conf for one test run. */
function pop3dConf(
  paths: { pid: string; passwdDir: string; locks: string; apopDb: string; cert: string; key: string },
  port: number,
  tlsPort: number,
): string {
  return [
    '# Generated by test/helpers/servers/mailutils.ts for one test run.',
    'mode daemon;',
    'foreground yes;',
    `pidfile ${paths.pid};`,
    // No /dev/log on the test machines: log to stderr, which goes to pop3d.log.
    'logging { syslog no; };',
    'auth { authentication generic; authorization virtdomain; };',
    `virtdomain { passwd-dir ${paths.passwdDir}; };`,
    `apop-database-file ${paths.apopDb};`,
    `tls { ssl-certificate-file ${paths.cert}; ssl-key-file ${paths.key}; };`,
    // Without a private lock directory a Maildir login fails with "-ERR [IN-USE]".
    `mandatory-locking { enable yes; lock-directory ${paths.locks}; };`,
    'tcp-wrappers { enable no; };',
    `server 127.0.0.1:${port} { tls-mode stls; };`,
    `server 127.0.0.1:${tlsPort} { tls-mode connection; };`,
    '',
  ].join('\n');
}
