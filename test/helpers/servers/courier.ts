/**
 * A private Courier POP3 server per test. Courier's authentication daemon has fixed paths
 * (`/etc/courier/authdaemonrc`, `/etc/courier/userdb.dat`, the socket in
 * `/run/courier/authdaemon`), so one supervising shell runs inside a private mount namespace
 * (`unshare -m`) where a copy of `/etc/courier` and a private socket directory are bind-mounted
 * over those paths; the host's files are never touched. In that namespace it starts
 * `authdaemond` (userdb only) and two `couriertcpd` listeners: plain POP3 with STLS, and
 * implicit TLS through `couriertls`. Stopping the shell's process group ends them all and, with
 * them, the namespace.
 *
 * Users are userdb entries (`systempw` for USER/PASS and PLAIN/LOGIN, `hmac-md5pw` for
 * CRAM-MD5) owned by `nobody`, each with a Maildir.
 *
 * @example
 * ```ts
 * const courier = await startCourier({ users: [{ name: 'ann', password: 'secret' }] });
 * await courier.seed('ann', [Buffer.from('Subject: a\r\n\r\nbody\r\n')]);
 * await courier.stop();
 * ```
 */
import { access, chown, mkdir, rm, writeFile } from 'node:fs/promises';
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
import { runCommand, sleep, spawnServer, systemAccount } from './process.js';
import type { InteropServer, InteropServerOptions } from './types.js';
import { knownUser } from './users.js';

/** The paths compiled into Courier's authentication library. */
const SYSTEM_CONFIG_DIR = '/etc/courier';
const SYSTEM_AUTHDAEMON_DIR = '/run/courier/authdaemon';

/**
 * Starts Courier's POP3 server on two free ports: plain with STLS, and implicit TLS.
 *
 * @example
 * ```ts
 * const courier = await startCourier({ users: [{ name: 'ann', password: 'secret' }] });
 * ```
 */
export function startCourier(options: InteropServerOptions): Promise<InteropServer> {
  return startTlsServerInPrivateDir('courier', 'Courier', options, (place) => startCourierIn(place, options));
}

async function startCourierIn(
  { dir, port, tlsPort, cert }: TlsServerPlace,
  options: InteropServerOptions,
): Promise<InteropServer> {
  const programs = serverPrograms.courier;
  const courier = systemAccount('courier');
  const owner = systemAccount('nobody');
  const paths = {
    etc: join(dir, 'etc'),
    authdaemon: join(dir, 'authdaemon'),
    home: join(dir, 'home'),
    pem: join(dir, 'pop3d.pem'),
    script: join(dir, 'supervise.sh'),
    log: join(dir, 'supervise.log'),
    popLog: join(dir, 'pop3.log'),
    popsLog: join(dir, 'pop3s.log'),
  };
  const maildir = (user: string) => join(paths.home, user, 'Maildir');
  await runCommand('cp', ['-a', `${SYSTEM_CONFIG_DIR}/.`, `${paths.etc}/`]);
  await writeFile(join(paths.etc, 'authdaemonrc'), authdaemonrc(), { mode: 0o640 });
  await chown(join(paths.etc, 'authdaemonrc'), 0, courier.gid);
  await mkdir(paths.authdaemon, { mode: 0o750 });
  await chown(paths.authdaemon, courier.uid, courier.gid);
  await writeFile(paths.pem, cert.certPem + cert.keyPem, { mode: 0o600 });
  await chown(paths.pem, courier.uid, courier.gid);

  await mkdir(paths.home, { mode: 0o755 });
  const lines: string[] = [];
  for (const user of options.users) {
    const home = join(paths.home, user.name);
    await makeMaildir(maildir(user.name), paths.home, owner);
    await chown(paths.home, 0, 0);
    const systempw = (
      await runCommand(programs.openssl, ['passwd', '-6', '-stdin'], { input: `${user.password}\n` })
    ).stdout.trim();
    const hmac = (
      await runCommand(programs.userdbpw, ['-hmac-md5'], { input: `${user.password}\n${user.password}\n` })
    ).stdout.trim();
    const fields = [
      `uid=${owner.uid}`,
      `gid=${owner.gid}`,
      `home=${home}`,
      `mail=${maildir(user.name)}`,
      `systempw=${systempw}`,
      `hmac-md5pw=${hmac}`,
    ];
    lines.push(`${user.name}\t${fields.join('|')}`);
  }
  const userdb = join(paths.etc, 'userdb');
  await rm(userdb, { recursive: true, force: true });
  await writeFile(userdb, `${lines.join('\n')}\n`, { mode: 0o600 });
  await runCommand(programs.makeuserdb, ['-f', userdb]);

  await writeFile(paths.script, superviseScript(paths, port, tlsPort), { mode: 0o700 });
  const supervisor = spawnServer(
    programs.unshare,
    ['-m', '--propagation', 'private', 'sh', paths.script],
    paths.log,
    dir,
  );
  await waitUntilListening(supervisor, {
    label: 'Courier',
    log: paths.log,
    ports: [port, tlsPort],
    // The listeners cannot log anyone in before authdaemond has its socket.
    firstReady: () => waitForFile(join(paths.authdaemon, 'socket'), 10_000, supervisor.hasExited),
  });

  return {
    name: 'courier',
    label: `Courier POP3 ${packageVersion('courier')}`,
    host: '127.0.0.1',
    port,
    tlsPort,
    caPem: cert.certPem,
    capabilities: {
      capa: true,
      stls: true,
      implicitTls: true,
      apop: false,
      sasl: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
      uidl: true,
      top: true,
      pipelining: true,
      respCodes: false,
      utf8: true,
    },
    quirks: [
      'Commands pipelined behind PASS/AUTH are lost: the login process reads them and then execs the mail process, so the client must wait for the login reply before sending more (PIPELINING is advertised all the same).',
      'A message with 8-bit header bytes is replaced by a "Cannot display Unicode content" wrapper (message/global attachment) unless the client sent `UTF8` (RFC 6856) first; the body alone is served intact.',
      'Mail is stored with LF line ends and served with CRLF; the LIST reply text is `+OK POP3 clients that break here, they violate STD53.`, RETR says `+OK N octets follow.`',
      'UIDL is `UID<n>-<uidvalidity>`; `LOGIN-DELAY 10` is advertised but not enforced.',
      'QUIT is answered (`+OK Bye-bye.`) before the messages marked with DELE are removed: for a moment afterwards the Maildir still holds them.',
      'A failed login is answered only after a 5 s delay; `MAXPERIP` (default 4) limits parallel connections from one address.',
    ],
    dir,
    loginName: (user) => knownUser(options.users, user, 'Courier').name,
    ...lfMaildirMailboxes('Courier', options.users, maildir, owner),
    logText: () => readLogs(paths.log, paths.popLog, paths.popsLog),
    stop: stopAndRemove(supervisor, dir),
  };
}

/** authdaemonrc: only the private userdb, one worker (a test never needs more). */
function authdaemonrc(): string {
  return [
    '# Generated by test/helpers/servers/courier.ts for one test run.',
    'authmodulelist="authuserdb"',
    'authmodulelistorig="authuserdb"',
    'daemons=1',
    `authdaemonvar=${SYSTEM_AUTHDAEMON_DIR}`,
    'DEBUG_LOGIN=0',
    'DEFAULTOPTIONS=""',
    'LOGGEROPTS=""',
    '',
  ].join('\n');
}

/**
 * The shell that runs inside the private mount namespace. The environment of each listener is
 * what Debian's /etc/courier/pop3d and pop3d-ssl would set, with private paths.
 */
function superviseScript(
  paths: { etc: string; authdaemon: string; pem: string; popLog: string; popsLog: string },
  port: number,
  tlsPort: number,
): string {
  const p = serverPrograms.courier;
  const common = [
    'PATH=/usr/bin:/bin:/usr/sbin:/sbin',
    'POP3AUTH="PLAIN LOGIN CRAM-MD5"',
    'POP3AUTH_TLS="PLAIN LOGIN"',
    'POP3_TLS_REQUIRED=0',
    `TLS_CERTFILE=${paths.pem}`,
    `TLS_DHPARAMS=${SYSTEM_CONFIG_DIR}/dhparams.pem`,
    `COURIERTLS=${p.tls}`,
    'TLS_VERIFYPEER=NONE',
    'TLS_CACHESIZE=0',
    'MAILDIRPATH=Maildir',
  ].join(' ');
  // Parallel connections from 127.0.0.1 are the norm in the tests (Courier's default is 4).
  const tcpd = `${p.tcpd} -address=127.0.0.1 -maxprocs=50 -maxperip=50 -nodnslookup -noidentlookup`;
  return [
    '# Generated by test/helpers/servers/courier.ts; runs under unshare -m (private mounts).',
    'set -e',
    // Debian's courier-authdaemon creates the directory at boot (tmpfiles); be sure it exists
    // as a mount point.
    `mkdir -p ${SYSTEM_AUTHDAEMON_DIR}`,
    `mount --bind ${paths.etc} ${SYSTEM_CONFIG_DIR}`,
    `mount --bind ${paths.authdaemon} ${SYSTEM_AUTHDAEMON_DIR}`,
    'cd /',
    'pids=""',
    `trap 'kill $pids 2>/dev/null; exit 0' TERM INT`,
    `${p.authdaemond} & pids="$pids $!"`,
    `env -i ${common} POP3_STARTTLS=YES ${tcpd} -stderr=${paths.popLog} ${port} ${p.pop3login} ${p.pop3d} Maildir & pids="$pids $!"`,
    `env -i ${common} POP3_TLS=1 POP3_STARTTLS=NO ${tcpd} -stderr=${paths.popsLog} ${tlsPort} ${p.tls} -server -tcpd -user=courier ${p.pop3login} ${p.pop3d} Maildir & pids="$pids $!"`,
    'wait',
    '',
  ].join('\n');
}

async function waitForFile(path: string, timeoutMs: number, gaveUp: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await access(path);
      return;
    } catch {
      if (gaveUp()) throw new Error(`the supervisor exited before ${path} appeared`);
      if (Date.now() > deadline) throw new Error(`no ${path} after ${timeoutMs} ms`);
      await sleep(20);
    }
  }
}
