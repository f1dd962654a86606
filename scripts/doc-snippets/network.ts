/**
 * The doc runs' network: the POP3 hosts the docs name (pop.gmx.net, pop.example.com, …) are served
 * by one fake POP3 server on loopback, and any other connection that leaves the machine is refused
 * and recorded — a snippet that would reach a real provider fails the check instead of passing
 * because the library turned the refused connection into a mailbox error.
 *
 * Installed in every process of a run: the snippet's own (scripts/doc-snippets/run-snippet.ts)
 * and the `multipop` command a shell block starts (through `--import`, see cli-preload.mjs).
 */
import net from 'node:net';

/** The POP3 hosts of the docs' examples, as the fake server's certificate names them. */
export const DOC_POP3_HOSTS = ['pop.gmx.net', 'pop.example.com', 'pop.example.net'] as const;

/** Connections refused because they would have left the machine. */
export const refusedConnections: string[] = [];

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Sends connections to {@link DOC_POP3_HOSTS} (any port) to `127.0.0.1:pop3Port`, lets loopback
 * through, and refuses the rest.
 */
export function installDocNetwork(pop3Port: number): void {
  const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]): net.Socket {
    // connect([options, listener]) as net.connect normalises it, connect(options[, listener]) as
    // tls.connect calls it, or connect(port[, host][, listener]).
    const [options, listener] = normalise(args);
    if (typeof options.path === 'string') return connect.apply(this, args);
    const host = String(options.host ?? 'localhost');
    if ((DOC_POP3_HOSTS as readonly string[]).includes(host)) {
      const redirected = { ...options, host: '127.0.0.1', port: pop3Port };
      return listener ? connect.call(this, redirected, listener) : connect.call(this, redirected);
    }
    if (!LOOPBACK.test(host)) {
      refusedConnections.push(`${host}:${String(options.port)}`);
      process.nextTick(() => this.destroy(new Error(`the doc check refuses connections to ${host} (not on this machine)`)));
      return this;
    }
    return connect.apply(this, args);
  } as typeof net.Socket.prototype.connect;
}

type Options = Record<string, unknown>;

function normalise(args: unknown[]): [Options, unknown] {
  const [first, second, third] = args;
  if (Array.isArray(first)) return [first[0] as Options, first[1]];
  if (typeof first === 'object' && first !== null) return [first as Options, second];
  return typeof second === 'string' ? [{ port: first, host: second }, third] : [{ port: first }, second];
}
