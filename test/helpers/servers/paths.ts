/**
 * Where the interop servers' programs are. The server packages themselves are unpacked by
 * `scripts/install-interop-servers.sh` into `$MULTIPOP_INTEROP_ROOT/<name>` (default
 * `/opt/multipop-interop`) because they conflict with each other and with `dovecot-pop3d`; their
 * helper programs come from ordinary, non-conflicting packages under `/usr`.
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InteropServerName } from './types.js';

/** The directory the install script unpacks the server packages into. */
export const interopRoot = process.env.MULTIPOP_INTEROP_ROOT ?? '/opt/multipop-interop';

const unpacked = (name: InteropServerName, path: string) => join(interopRoot, name, path);

/** Every program each harness runs. */
export const serverPrograms = {
  cyrus: {
    pop3d: unpacked('cyrus', 'usr/lib/cyrus/bin/pop3d'),
    master: '/usr/sbin/cyrmaster',
    recover: '/usr/lib/cyrus/bin/ctl_cyrusdb',
    reconstruct: '/usr/lib/cyrus/bin/reconstruct',
    mbpath: '/usr/lib/cyrus/bin/mbpath',
    mbexamine: '/usr/lib/cyrus/bin/mbexamine',
    saslpasswd2: '/usr/sbin/saslpasswd2',
  },
  courier: {
    pop3login: unpacked('courier', 'usr/lib/courier/courier/courierpop3login'),
    pop3d: unpacked('courier', 'usr/lib/courier/courier/courierpop3d'),
    tcpd: '/usr/sbin/couriertcpd',
    tls: '/usr/bin/couriertls',
    authdaemond: '/usr/lib/courier/courier-authlib/authdaemond',
    makeuserdb: '/usr/sbin/makeuserdb',
    userdbpw: '/usr/sbin/userdbpw',
    unshare: '/usr/bin/unshare',
    openssl: '/usr/bin/openssl',
  },
  popa3d: {
    popa3d: unpacked('popa3d', 'usr/sbin/popa3d'),
    pam: unpacked('popa3d', 'etc/pam.d/popa3d'),
    socat: '/usr/bin/socat',
    unshare: '/usr/bin/unshare',
    openssl: '/usr/bin/openssl',
  },
  mailutils: {
    pop3d: unpacked('mailutils', 'usr/sbin/pop3d'),
    popauth: unpacked('mailutils', 'usr/bin/popauth'),
    openssl: '/usr/bin/openssl',
  },
} as const satisfies Record<InteropServerName, Record<string, string>>;

/** Why a server cannot run here, or `undefined` when it can. */
export function unavailableReason(name: InteropServerName): string | undefined {
  if (process.platform !== 'linux') return 'the interop servers run on Linux only';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the interop servers need root (private mounts, switching to the mail users)';
  }
  const missing = Object.values(serverPrograms[name]).filter((path) => !isExecutableOrFile(path));
  if (missing.length > 0) {
    return `missing ${missing.join(', ')} — run: bash scripts/install-interop-servers.sh`;
  }
  return undefined;
}

/**
 * The Debian version of the unpacked server package (from the install script's stamp file).
 *
 * @example
 * ```ts
 * packageVersion('cyrus'); // '3.6.1-4+deb12u5'
 * ```
 */
export function packageVersion(name: InteropServerName): string {
  try {
    const stamp = readdirSync(join(interopRoot, name), { withFileTypes: false }).find((entry) =>
      String(entry).startsWith('.unpacked-'),
    );
    return stamp ? readFileSync(join(interopRoot, name, String(stamp)), 'utf8').trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

function isExecutableOrFile(path: string): boolean {
  try {
    accessSync(path, path.includes('/etc/') ? constants.R_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
