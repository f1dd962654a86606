/**
 * A private Cyrus IMAP server (its POP3 daemon only) per test: own imapd.conf / cyrus.conf,
 * mailbox store, sasldb and free loopback ports; `cyrmaster` runs in the foreground and is
 * stopped by PID.
 *
 * Users live in a private sasldb (`saslpasswd2 -f`), plain text so APOP and CRAM-MD5 work.
 * A user's INBOX is created by Cyrus itself at the first login (`autocreate_quota: 0`); the
 * harness logs in once before the first seed. Seeding is byte-exact: CRLF files named `<uid>.`
 * are written into the mailbox folder and `reconstruct` adds them to the index (`cyrdeliver`
 * would add Return-Path/Received headers).
 *
 * @example
 * ```ts
 * const cyrus = await startCyrus({ users: [{ name: 'ann', password: 'secret' }] });
 * await cyrus.seed('ann', [Buffer.from('Subject: a\r\n\r\nbody\r\n')]);
 * // POP3 on cyrus.port (STLS) and cyrus.tlsPort (implicit TLS), trusting cyrus.caPem
 * await cyrus.stop();
 * ```
 */
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  readLogs,
  startTlsServerInPrivateDir,
  stopAndRemove,
  type TlsServerPlace,
  waitUntilListening,
} from './lifecycle.js';
import { packageVersion, serverPrograms } from './paths.js';
import { runCommand, spawnServer, systemAccount } from './process.js';
import { loginOnce } from './raw-pop3.js';
import type { InteropServer, InteropServerOptions } from './types.js';
import { knownUser } from './users.js';

const SERVER_NAME = 'localhost';

/**
 * Starts Cyrus pop3d on two free ports: plain with STLS, and implicit TLS.
 *
 * @example
 * ```ts
 * const cyrus = await startCyrus({ users: [{ name: 'ann', password: 'secret' }] });
 * ```
 */
export function startCyrus(options: InteropServerOptions): Promise<InteropServer> {
  return startTlsServerInPrivateDir('cyrus', 'Cyrus', options, (place) => startCyrusIn(place, options));
}

async function startCyrusIn(
  { dir, port, tlsPort, cert }: TlsServerPlace,
  options: InteropServerOptions,
): Promise<InteropServer> {
  const programs = serverPrograms.cyrus;
  const cyrus = systemAccount('cyrus');
  const paths = {
    imapd: join(dir, 'imapd.conf'),
    cyrusConf: join(dir, 'cyrus.conf'),
    config: join(dir, 'config'),
    spool: join(dir, 'spool'),
    sockets: join(dir, 'socket'),
    sasldb: join(dir, 'sasldb2'),
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    pid: join(dir, 'master.pid'),
    log: join(dir, 'master.log'),
  };
  for (const sub of [paths.config, paths.spool, paths.sockets]) await mkdir(sub);
  await writeFile(paths.cert, cert.certPem, { mode: 0o644 });
  await writeFile(paths.key, cert.keyPem, { mode: 0o600 });
  await writeFile(paths.imapd, imapdConf(paths));
  await writeFile(paths.cyrusConf, cyrusConf(paths.imapd, port, tlsPort));
  for (const user of options.users) {
    await runCommand(programs.saslpasswd2, ['-p', '-c', '-f', paths.sasldb, '-u', SERVER_NAME, user.name], {
      input: user.password,
    });
  }
  // cyrmaster drops to `cyrus`, which must own everything it writes and reads.
  await runCommand('chown', ['-R', `${cyrus.uid}:${cyrus.gid}`, dir]);
  await chown(dir, 0, 0);

  const master = spawnServer(
    programs.master,
    ['-C', paths.imapd, '-M', paths.cyrusConf, '-p', paths.pid, '-D'],
    paths.log,
    dir,
  );
  await waitUntilListening(master, { label: 'Cyrus', log: paths.log, ports: [port, tlsPort] });

  const asCyrus = { uid: cyrus.uid, gid: cyrus.gid };
  const mailboxPath = async (user: string): Promise<string | undefined> => {
    const result = await runCommand(programs.mbpath, ['-C', paths.imapd, `user/${user}`], {
      ...asCyrus,
      allowFailure: true,
    });
    return result.code === 0 ? result.stdout.trim() : undefined;
  };
  /** The live UIDs (POP3 order) and the mailbox's last UID, from `mbexamine`. */
  const examine = async (user: string) => {
    const { stdout } = await runCommand(programs.mbexamine, ['-C', paths.imapd, `user/${user}`], asCyrus);
    const lastUid = Number(/Last UID: (\d+)/.exec(stdout)?.[1] ?? Number.NaN);
    if (!Number.isInteger(lastUid)) throw new Error(`Cyrus: cannot read the last UID of ${user}:\n${stdout}`);
    const uids = [...stdout.matchAll(/^\d+> UID:0*(\d+)/gm)].map((match) => Number(match[1]));
    return { lastUid, uids };
  };

  return {
    name: 'cyrus',
    label: `Cyrus pop3d ${packageVersion('cyrus')}`,
    host: '127.0.0.1',
    port,
    tlsPort,
    caPem: cert.certPem,
    capabilities: {
      capa: true,
      stls: true,
      implicitTls: true,
      apop: true,
      sasl: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
      uidl: true,
      top: true,
      pipelining: true,
      respCodes: true,
      utf8: false,
    },
    quirks: [
      'USER accepts any name (`+OK Name is a valid mailbox`); a wrong user is only refused at PASS.',
      'The PASS reply carries a session id (`+OK Mailbox locked and ready SESSIONID=<…>`).',
      'UIDL is `<uidvalidity>.<uid>`; the CAPA advertises `EXPIRE NEVER` and `LOGIN-DELAY 0`.',
      'A failed login is answered only after a 3 s delay.',
      'Mail delivered through its lmtpd has 8-bit header bytes replaced by "X" unless `munge8bit: no`; POP3 itself serves what is stored.',
    ],
    dir,
    loginName: (user) => knownUser(options.users, user, 'Cyrus').name,
    async seed(user, messages) {
      const account = knownUser(options.users, user, 'Cyrus');
      let folder = await mailboxPath(user);
      if (folder === undefined) {
        await loginOnce({ port }, account.name, account.password);
        folder = await mailboxPath(user);
        if (folder === undefined) throw new Error(`Cyrus did not create the INBOX of ${user}`);
      }
      let uid = (await examine(user)).lastUid;
      for (const message of messages) {
        uid++;
        const file = join(folder, `${uid}.`);
        await writeFile(file, message, { mode: 0o600 });
        await chown(file, cyrus.uid, cyrus.gid);
      }
      await runCommand(programs.reconstruct, ['-C', paths.imapd, `user/${user}`], asCyrus);
    },
    async messages(user) {
      knownUser(options.users, user, 'Cyrus');
      const folder = await mailboxPath(user);
      if (folder === undefined) return [];
      const { uids } = await examine(user);
      return Promise.all(uids.map((uid) => readFile(join(folder, `${uid}.`))));
    },
    logText: () => readLogs(paths.log),
    stop: stopAndRemove(master, dir),
  };
}

/** imapd.conf: every path private, every choice that matters for byte-exact POP3 explained. */
function imapdConf(paths: {
  config: string;
  spool: string;
  sockets: string;
  sasldb: string;
  cert: string;
  key: string;
}): string {
  return [
    '# Generated by test/helpers/servers/cyrus.ts for one test run.',
    `configdirectory: ${paths.config}`,
    'defaultpartition: default',
    `partition-default: ${paths.spool}`,
    `servername: ${SERVER_NAME}`,
    // Users are checked against the private sasldb, whose plain-text secrets also serve APOP
    // and CRAM-MD5.
    'sasl_pwcheck_method: auxprop',
    'sasl_auxprop_plugin: sasldb',
    `sasl_sasldb_path: ${paths.sasldb}`,
    'sasl_mech_list: PLAIN LOGIN CRAM-MD5',
    'allowplaintext: yes',
    'allowapop: yes',
    // The INBOX is created at the first login: no IMAP admin tool needed.
    'autocreate_quota: 0',
    'duplicatesuppression: no',
    // By default Cyrus' lmtpd replaces 8-bit header bytes with "X" at delivery; keep any
    // delivery path byte-exact too (seeding itself writes files and needs no lmtpd).
    'munge8bit: no',
    // Otherwise a second login within a minute is refused.
    'popminpoll: 0',
    'hashimapspool: false',
    `lmtpsocket: ${paths.sockets}/lmtp`,
    `idlesocket: ${paths.sockets}/idle`,
    `notifysocket: ${paths.sockets}/notify`,
    `tls_server_cert: ${paths.cert}`,
    `tls_server_key: ${paths.key}`,
    'umask: 077',
    '',
  ].join('\n');
}

/**
 * cyrus.conf: the two POP3 services only. Every `cmd` carries `-C`, or the service would read
 * the system's /etc/imapd.conf without a word.
 */
function cyrusConf(imapd: string, port: number, tlsPort: number): string {
  const { pop3d, recover } = serverPrograms.cyrus;
  return [
    'START {',
    `  recover cmd="${recover} -C ${imapd} -r"`,
    '}',
    'SERVICES {',
    `  pop3 cmd="${pop3d} -C ${imapd}" listen="127.0.0.1:${port}" prefork=0`,
    `  pop3s cmd="${pop3d} -s -C ${imapd}" listen="127.0.0.1:${tlsPort}" prefork=0`,
    '}',
    'EVENTS {',
    '}',
    '',
  ].join('\n');
}
