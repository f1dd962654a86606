/**
 * A private popa3d per test. popa3d is inetd-style (its standalone mode is fixed to port 110),
 * authenticates system users through PAM and serves the mbox `/var/mail/<user>`. So one
 * supervising process runs in a private mount namespace (`unshare -m`) in which copies of
 * `/etc/passwd`, `/etc/shadow` and `/etc/pam.d` with the test users appended, and a private mail
 * spool, are bind-mounted over the system's; there `socat` accepts on a free loopback port and
 * runs popa3d per connection. No account is created on the host: the test users exist only
 * inside the namespace, which ends with socat.
 *
 * @example
 * ```ts
 * const popa3d = await startPopa3d({ users: [{ name: 'ann', password: 'secret' }] });
 * await popa3d.seed('ann', [Buffer.from('Subject: a\r\n\r\nbody\r\n')]);
 * await popa3d.stop();
 * ```
 */

import { readFileSync } from 'node:fs';
import { appendFile, chmod, chown, copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePorts } from '../free-port.js';
import { readLogs, startInPrivateDir, stopAndRemove, waitUntilListening } from './lifecycle.js';
import { crlfToLf, lfToCrlf } from './line-endings.js';
import { packageVersion, serverPrograms } from './paths.js';
import { runCommand, spawnServer, systemAccount } from './process.js';
import type { InteropServer, InteropServerOptions } from './types.js';
import { knownUser } from './users.js';

/** popa3d switches to this account (its Debian package would create it) and chroots to the directory. */
const POPA3D_ACCOUNT = 'popa3d';
const POPA3D_CHROOT = '/var/lib/popa3d';
/** Test users get free numeric ids from here up; the group is `mail`. */
const FIRST_TEST_UID = 64_000;

/**
 * Starts popa3d on a free port (plain POP3 only: no CAPA, STLS, APOP or SASL).
 *
 * @example
 * ```ts
 * const popa3d = await startPopa3d({ users: [{ name: 'ann', password: 'secret' }] });
 * ```
 */
export function startPopa3d(options: InteropServerOptions): Promise<InteropServer> {
  return startInPrivateDir('popa3d', 'popa3d', options, (dir) => startPopa3dIn(dir, options));
}

async function startPopa3dIn(dir: string, options: InteropServerOptions): Promise<InteropServer> {
  const programs = serverPrograms.popa3d;
  const hostPasswd = readFileSync('/etc/passwd', 'utf8');
  const taken = new Set(hostPasswd.split('\n').map((line) => line.split(':')[0]));
  const usedIds = new Set(hostPasswd.split('\n').map((line) => Number(line.split(':')[2])));
  for (const user of options.users) {
    // The private passwd is the host's plus the test users: a name clash would be ambiguous.
    if (taken.has(user.name))
      throw new Error(`popa3d: test user "${user.name}" is a system account here; pick another name`);
  }
  const mail = systemAccount('mail');
  const paths = {
    passwd: join(dir, 'passwd'),
    shadow: join(dir, 'shadow'),
    pam: join(dir, 'pam.d'),
    spool: join(dir, 'mail'),
    script: join(dir, 'supervise.sh'),
    log: join(dir, 'supervise.log'),
  };
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  await runCommand('cp', ['-p', '/etc/passwd', paths.passwd]);
  await runCommand('cp', ['-p', '/etc/shadow', paths.shadow]);
  await runCommand('cp', ['-a', '/etc/pam.d/.', `${paths.pam}/`]);
  await copyFile(programs.pam, join(paths.pam, 'popa3d'));
  // The spool the way Debian has /var/mail: root:mail, setgid, group-writable.
  await mkdir(paths.spool);
  await chown(paths.spool, 0, mail.gid);
  await chmod(paths.spool, 0o2775);

  let nextId = FIRST_TEST_UID;
  const allocate = () => {
    while (usedIds.has(nextId)) nextId++;
    usedIds.add(nextId);
    return nextId;
  };
  const passwdLines: string[] = [];
  const shadowLines: string[] = [];
  if (!taken.has(POPA3D_ACCOUNT)) {
    passwdLines.push(`${POPA3D_ACCOUNT}:x:${allocate()}:65534:popa3d:/nonexistent:/usr/sbin/nologin`);
    shadowLines.push(`${POPA3D_ACCOUNT}:*:19000:0:99999:7:::`);
  }
  for (const user of options.users) {
    const uid = allocate();
    const hash = (
      await runCommand('openssl', ['passwd', '-6', '-stdin'], { input: `${user.password}\n` })
    ).stdout.trim();
    passwdLines.push(`${user.name}:x:${uid}:${mail.gid}:multipop test:/nonexistent:/usr/sbin/nologin`);
    shadowLines.push(`${user.name}:${hash}:19000:0:99999:7:::`);
    const mailbox = join(paths.spool, user.name);
    await writeFile(mailbox, '', { mode: 0o600 });
    await chown(mailbox, uid, mail.gid);
  }
  await appendFile(paths.passwd, `${passwdLines.join('\n')}\n`);
  await appendFile(paths.shadow, `${shadowLines.join('\n')}\n`);

  await writeFile(paths.script, superviseScript(paths, port), { mode: 0o700 });
  const supervisor = spawnServer(
    programs.unshare,
    ['-m', '--propagation', 'private', 'sh', paths.script],
    paths.log,
    dir,
  );
  await waitUntilListening(supervisor, { label: 'popa3d', log: paths.log, ports: [port] });

  return {
    name: 'popa3d',
    label: `popa3d ${packageVersion('popa3d')}`,
    host: '127.0.0.1',
    port,
    capabilities: {
      capa: false,
      stls: false,
      implicitTls: false,
      apop: false,
      sasl: [],
      uidl: true,
      top: true,
      pipelining: false,
      respCodes: false,
      utf8: false,
    },
    quirks: [
      'No CAPA (`-ERR`): capabilities must be assumed (UIDL and TOP work; pipelined commands are answered in order though PIPELINING is not advertised).',
      'Every reply is bare: `+OK` greeting without an APOP timestamp, `-ERR` without text.',
      'A repeated USER, or a NOOP with an argument, gets `-ERR`.',
      'UIDL is 16 hex digits (a digest of the message).',
      'mbox storage: `>From ` lines are served as stored (not unescaped), and a line starting with `From ` cannot be stored at all.',
      'PASS takes about 1 s when the mailbox changed in the same second; a failed login takes about 2.6 s and ends the connection.',
    ],
    dir,
    loginName: (user) => knownUser(options.users, user, 'popa3d').name,
    async seed(user, messages) {
      knownUser(options.users, user, 'popa3d');
      const mailbox = join(paths.spool, user);
      const envelope = `From multipop-test ${new Date().toUTCString().replace(/GMT$/, '').trim()}\n`;
      const parts: Buffer[] = [];
      for (const message of messages) {
        const stored = crlfToLf(message, 'popa3d');
        if (stored.subarray(0, 5).toString('latin1') === 'From ' || stored.includes('\nFrom ')) {
          throw new Error('popa3d: an mbox message cannot contain a line starting with "From "');
        }
        parts.push(Buffer.from(envelope, 'latin1'), stored, Buffer.from('\n'));
      }
      await appendFile(mailbox, Buffer.concat(parts));
      // popa3d waits a second at PASS when the mailbox changed in the current second (so a
      // delivery in that second cannot be missed); a time stamp in the past avoids the wait.
      const past = new Date(Date.now() - 3_000);
      await utimes(mailbox, past, past);
    },
    async messages(user) {
      knownUser(options.users, user, 'popa3d');
      return splitMbox(await readFile(join(paths.spool, user))).map(lfToCrlf);
    },
    logText: () => readLogs(paths.log),
    stop: stopAndRemove(supervisor, dir),
  };
}

/**
 * The messages of an mbox the way popa3d reads it: a `From ` line at the start or after an
 * empty line begins a message; the empty line before it separates and belongs to no message.
 */
export function splitMbox(mbox: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let start = -1;
  let offset = 0;
  while (offset < mbox.length) {
    const end = mbox.indexOf(0x0a, offset);
    const next = end < 0 ? mbox.length : end + 1;
    const isEnvelope =
      mbox.subarray(offset, offset + 5).toString('latin1') === 'From ' &&
      (offset === 0 || mbox[offset - 2] === 0x0a);
    if (isEnvelope) {
      if (start >= 0) messages.push(mbox.subarray(start, offset - 1));
      start = next;
    }
    offset = next;
  }
  if (start >= 0) {
    const last = mbox.subarray(start);
    const trimmed = last.length > 0 && last[last.length - 1] === 0x0a && last[last.length - 2] === 0x0a;
    messages.push(trimmed ? last.subarray(0, last.length - 1) : last);
  }
  return messages;
}

/** The process that runs inside the private mount namespace: mounts, then socat. */
function superviseScript(
  paths: { passwd: string; shadow: string; pam: string; spool: string },
  port: number,
): string {
  const p = serverPrograms.popa3d;
  return [
    '# Generated by test/helpers/servers/popa3d.ts; runs under unshare -m (private mounts).',
    'set -e',
    // Debian's popa3d package creates its chroot directory; unpacked by hand it may be missing.
    `mkdir -p ${POPA3D_CHROOT}`,
    `mount --bind ${paths.passwd} /etc/passwd`,
    `mount --bind ${paths.shadow} /etc/shadow`,
    `mount --bind ${paths.pam} /etc/pam.d`,
    `mount --bind ${paths.spool} /var/mail`,
    `exec ${p.socat} TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork EXEC:${p.popa3d}`,
    '',
  ].join('\n');
}
