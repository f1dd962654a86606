/**
 * Dovecot (from `test/helpers/dovecot.ts`) seen through the {@link InteropServer} shape, so the
 * interop matrix treats all five servers alike. Started with APOP enabled.
 */
import { execFileSync } from 'node:child_process';
import { startDovecot } from '../dovecot.js';
import type { InteropServer, InteropServerOptions } from './types.js';
import { checkUsers, knownUser } from './users.js';

/**
 * Starts a Dovecot test server (APOP on) and adapts it.
 *
 * @example
 * ```ts
 * const dovecot = await startDovecotInterop({ users: [{ name: 'ann', password: 'secret' }] });
 * ```
 */
export async function startDovecotInterop(options: InteropServerOptions): Promise<InteropServer> {
  checkUsers(options.users, 'Dovecot');
  const server = await startDovecot({ users: options.users, apop: true });
  return {
    name: 'dovecot',
    label: `Dovecot ${dovecotVersion()}`,
    host: server.host,
    port: server.popPort,
    tlsPort: server.popsPort,
    caPem: server.caPem,
    capabilities: {
      capa: true,
      stls: true,
      implicitTls: true,
      apop: true,
      sasl: ['PLAIN', 'LOGIN'],
      uidl: true,
      top: true,
      pipelining: true,
      respCodes: true,
      utf8: false,
    },
    quirks: [],
    dir: server.dir,
    loginName: (user) => knownUser(options.users, user, 'Dovecot').name,
    seed: (user, messages) => server.seed(knownUser(options.users, user, 'Dovecot').name, messages),
    messages: (user) => server.messages(knownUser(options.users, user, 'Dovecot').name),
    logText: () => server.logText(),
    stop: () => server.stop(),
  };
}

function dovecotVersion(): string {
  try {
    // `${Version}` is a dpkg-query format field, not a template placeholder.
    const format = ['-f=$', '{Version}'].join('');
    return execFileSync('dpkg-query', ['-W', format, 'dovecot-pop3d'], { encoding: 'utf8' }).trim();
  } catch {
    return '(version unknown)';
  }
}
