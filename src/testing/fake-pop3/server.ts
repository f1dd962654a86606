import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { ServerContext } from './context.js';
import { FakeMailStore } from './mail-store.js';
import { FakePop3Session } from './session.js';
import type {
  FakePop3Capabilities,
  FakePop3Fault,
  FakePop3Message,
  FakePop3Options,
  FakePop3Personality,
  FakePop3ReceivedCommand,
  FakePop3Server,
} from './types.js';

const PERSONALITY_CAPABILITIES: Record<FakePop3Personality, FakePop3Capabilities> = {
  generic: { sasl: ['PLAIN'] },
  gmail: {
    sasl: ['PLAIN', 'XOAUTH2', 'OAUTHBEARER'],
    loginDelay: 300,
    expire: 0,
    extra: ['X-GOOGLE-RICO'],
  },
  microsoft: { sasl: ['PLAIN', 'XOAUTH2'], respCodes: false },
};

/**
 * Starts an in-process, scriptable POP3 server on `127.0.0.1` and a free port, for tests of
 * code that talks POP3 (multipop's own client, collectors, host integrations).
 *
 * It implements RFC 1939 for real — a maildrop lock per user (`[IN-USE]`), message numbers
 * fixed per session, DELE applied only on QUIT (rolled back when the connection ends
 * otherwise), dot-stuffing — plus CAPA, STLS, APOP, SASL PLAIN/XOAUTH2/OAUTHBEARER with
 * Gmail- and Microsoft-like behaviour, and fault injection for what real servers rarely do on
 * purpose: stalls, drops, huge lines, endless bodies, lies about sizes, unsolicited `-ERR`,
 * responses split into tiny pieces. It records every command line it received.
 *
 * @example
 * <!-- doc-context import { expect } from 'vitest'; -->
 * ```ts
 * import { startFakePop3Server, createTestCertificate } from 'multipop/testing';
 *
 * const server = await startFakePop3Server({
 *   users: [{ name: 'ann', password: 'secret', messages: [Buffer.from('Subject: hi\r\n\r\nhello\r\n')] }],
 *   capabilities: { pipelining: true },
 *   faults: [{ action: 'stall', when: { step: 'RETR', afterBodyBytes: 10 } }],
 * });
 * // … connect a client to 127.0.0.1:server.port …
 * expect(server.commands.map((c) => c.verb)).toContain('RETR');
 * expect(server.mailbox('ann').messages).toHaveLength(1);
 * await server.close();
 * ```
 */
export async function startFakePop3Server(options: FakePop3Options): Promise<FakePop3Server> {
  const personality = options.personality ?? 'generic';
  if (options.implicitTls && !options.tls) throw new Error('fake POP3 server: implicitTls needs tls');
  const capabilities = {
    capa: true,
    top: true,
    uidl: true,
    user: true,
    pipelining: false,
    respCodes: true,
    ...PERSONALITY_CAPABILITIES[personality],
    ...stripUndefined(options.capabilities ?? {}),
  };
  const store = new FakeMailStore(options.users);
  const commands: FakePop3ReceivedCommand[] = [];
  const saslResponses: string[] = [];
  const stepCounts = new Map<string, number>();
  const faults: FakePop3Fault[] = options.faults ?? [];
  const secureContext = options.tls
    ? createSecureContext({ cert: options.tls.certPem, key: options.tls.keyPem })
    : undefined;
  const ctx: ServerContext = {
    options,
    capabilities,
    personality,
    store,
    secureContext,
    faultsFor(step) {
      const n = (stepCounts.get(step) ?? 0) + 1;
      stepCounts.set(step, n);
      return faults.filter(
        (f) =>
          f.when.step.toUpperCase() === step.toUpperCase() && (f.when.nth === undefined || f.when.nth === n),
      );
    },
    record: (command) => commands.push(command),
    recordSasl: (decoded) => saslResponses.push(decoded),
  };

  // Each open session with the promise of its end.
  const sessions = new Map<FakePop3Session, Promise<void>>();
  let connections = 0;
  const accept = (socket: Socket, secure: boolean): void => {
    connections += 1;
    socket.setNoDelay(true);
    const session = new FakePop3Session(ctx, socket, connections, secure);
    if (options.autologoutMs !== undefined) socket.setTimeout(options.autologoutMs, () => session.destroy());
    const ended = session.run().finally(() => sessions.delete(session));
    sessions.set(session, ended);
  };
  let server: Server;
  if (options.implicitTls) {
    const tls = options.tls!;
    const tlsServer = createTlsServer({ cert: tls.certPem, key: tls.keyPem }, (socket) =>
      accept(socket, true),
    );
    // A client that rejects our certificate aborts the handshake: not the server's problem.
    tlsServer.on('tlsClientError', () => {});
    server = tlsServer;
  } else {
    server = createTcpServer((socket) => accept(socket, false));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    host: '127.0.0.1',
    port,
    commands,
    saslResponses,
    get connections() {
      return connections;
    },
    connectionsEnded: async () => {
      await Promise.allSettled(sessions.values());
    },
    mailbox: (user) => store.snapshot(user),
    addMessage: (user: string, message: Buffer | FakePop3Message) => store.add(user, message),
    renameUids: (user, rename) => store.renameUids(user, rename),
    removeMessages: (user, indexes) => store.remove(user, indexes),
    overlappingLogins: (user) => store.overlappingLogins(user),
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions.keys()) session.destroy();
        server.close(() => resolve());
      }),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
