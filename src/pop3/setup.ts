import type { Socket } from 'node:net';
import { isMultiPopError, MultiPopError } from '../errors/index.js';
import type { Pop3ConnectOptions } from './api.js';
import { apopTimestamp } from './apop.js';
import { emptyCapabilities, parseCapabilities } from './capabilities.js';
import type { Pop3Connection } from './connection.js';
import { DEFAULT_PIPELINE_WINDOW } from './limits.js';
import { openTransport, type TransportTarget, upgradeTransport } from './transport.js';

/** What the greeting told us. */
export interface Greeting {
  text: string;
  apopTimestamp: string | undefined;
}

/**
 * Brings a connection from nothing to the AUTHORIZATION state: TCP (or implicit TLS), the
 * greeting, CAPA, and for `tls: 'starttls'` STLS and CAPA again. Never sends a credential.
 *
 * @example
 * ```ts
 * const greeting = await openSession(connection, options);
 * ```
 */
export async function openSession(
  connection: Pop3Connection,
  options: Pop3ConnectOptions,
): Promise<Greeting> {
  const target: TransportTarget = {
    host: connection.host,
    port: connection.port,
    tlsOptions: options.tlsOptions,
    connectTimeout: connection.timeouts.connect,
    signal: options.signal,
  };
  connection.log.debug({ host: target.host, port: target.port, tls: options.tls }, 'pop3 connecting');
  const socket = await openTransport(target, options.tls === 'implicit');
  connection.secure = options.tls === 'implicit';
  const { status } = await connection.start(socket);
  const greeting = { text: status.text, apopTimestamp: apopTimestamp(status.text) };

  const capaSupported = await readCapabilities(connection);
  if (options.tls === 'starttls') await startTls(connection, socket, target, capaSupported);

  const pipelining = options.pipelining ?? 'auto';
  if (connection.capabilities.pipelining && pipelining !== false) {
    connection.window =
      typeof pipelining === 'number' ? Math.max(1, Math.floor(pipelining)) : DEFAULT_PIPELINE_WINDOW;
  }
  connection.log.debug(
    { secure: connection.secure, capabilities: connection.capabilities.raw, window: connection.window },
    'pop3 connected',
  );
  return greeting;
}

/** CAPA; false when the server does not know it (`-ERR`), leaving the capabilities empty. */
async function readCapabilities(connection: Pop3Connection): Promise<boolean> {
  try {
    const { items } = await connection.enqueue({ verb: 'CAPA', kind: 'listing' });
    connection.capabilities = parseCapabilities(items);
    return true;
  } catch (err) {
    if (!isRefusal(err)) throw err;
    connection.capabilities = emptyCapabilities();
    return false;
  }
}

/**
 * STLS (RFC 2595) with no downgrade: without STLS, or when it fails, nothing else is sent on
 * this connection. A server without CAPA may still know STLS, so it is tried once then.
 */
async function startTls(
  connection: Pop3Connection,
  plain: Socket,
  target: TransportTarget,
  capaSupported: boolean,
): Promise<void> {
  const context = { command: 'STLS', host: connection.host };
  if (capaSupported && !connection.capabilities.stls) {
    throw new MultiPopError(
      'TLS_REQUIRED',
      'The server does not offer STLS; no credentials were sent',
      context,
    );
  }
  try {
    await connection.enqueue({ verb: 'STLS', onSuccess: () => connection.detachForUpgrade(plain) });
  } catch (err) {
    if (!isRefusal(err)) throw err;
    throw new MultiPopError(
      'TLS_REQUIRED',
      'The server refused STLS; no credentials were sent',
      { ...context, responseCode: err.context.responseCode },
      { cause: err },
    );
  }
  if (connection.unreadBytes > 0) {
    // Plaintext pipelined behind the STLS answer would be read as if it had come over TLS (the
    // STARTTLS command-injection class of bugs): refuse the session.
    throw new MultiPopError('PROTOCOL_ERROR', 'The server sent data after +OK to STLS, before TLS', context);
  }
  const secure = await upgradeTransport(plain, target);
  connection.secure = true;
  connection.attach(secure);
  // RFC 2595 §4: everything learned before TLS is discarded and asked again.
  connection.capabilities = emptyCapabilities();
  await readCapabilities(connection);
}

/** A plain `-ERR` answer (unknown or refused command), as opposed to a transport failure. */
function isRefusal(err: unknown): err is MultiPopError {
  return (
    isMultiPopError(err) &&
    ['SERVER_ERROR', 'SYS_TEMP', 'SYS_PERM', 'IN_USE', 'LOGIN_DELAY'].includes(err.code)
  );
}
