import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { MultiPopError } from '../errors/index.js';

/** Where to connect and how long establishing may take. */
export interface TransportTarget {
  host: string;
  port: number;
  /** Passed to `tls.connect`; verification stays on unless it says `rejectUnauthorized: false`. */
  tlsOptions?: ConnectionOptions;
  /** Milliseconds for TCP (+ TLS) establishment. */
  connectTimeout: number;
  signal?: AbortSignal;
}

/**
 * Opens a TCP connection, or a TLS connection for implicit TLS (`secure: true`), and resolves
 * once it is ready to carry POP3. Rejects with `CONNECT_FAILED`, `CONNECT_TIMEOUT`,
 * `TLS_FAILED` (handshake or certificate) or `ABORTED`. On rejection the socket is destroyed.
 *
 * @example
 * ```ts
 * const socket = await openTransport({ host: 'pop.example.com', port: 995, connectTimeout: 15000 }, true);
 * ```
 */
export function openTransport(target: TransportTarget, secure: boolean): Promise<Socket | TLSSocket> {
  const { host, port } = target;
  const socket = secure ? tlsConnect(tlsConnectOptions(target, { host, port })) : tcpConnect({ host, port });
  return establish(socket, target, secure ? 'secureConnect' : 'connect', secure ? 'tcp' : 'tcp-only');
}

/**
 * Starts TLS on an open connection (after `+OK` to STLS) and resolves with the TLS socket once
 * the handshake and certificate checks succeeded. The host name is checked against the
 * certificate exactly as for implicit TLS.
 *
 * @example
 * ```ts
 * const secure = await upgradeTransport(plainSocket, target);
 * ```
 */
export function upgradeTransport(socket: Socket, target: TransportTarget): Promise<TLSSocket> {
  const tlsSocket = tlsConnect(tlsConnectOptions(target, { socket }));
  return establish(tlsSocket, target, 'secureConnect', 'tls') as Promise<TLSSocket>;
}

function tlsConnectOptions(target: TransportTarget, extra: ConnectionOptions): ConnectionOptions {
  // SNI must not carry an IP address (RFC 6066 §3); the identity check then uses `host`.
  const servername = isIP(target.host) === 0 ? target.host : undefined;
  return { servername, ...target.tlsOptions, ...extra, host: target.host, port: target.port };
}

type Phase = 'tcp' | 'tcp-only' | 'tls';

function establish<S extends Socket>(
  socket: S,
  target: TransportTarget,
  readyEvent: string,
  start: Phase,
): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    let phase: Phase = start;
    const context = { host: target.host, port: target.port };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onTcp);
      socket.off(readyEvent, onReady);
      socket.off('error', onError);
      socket.off('close', onClose);
      target.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: MultiPopError): void => {
      cleanup();
      // Keep a listener: a late error from the destroyed socket must not become an uncaught one.
      socket.on('error', () => {});
      socket.destroy();
      reject(error);
    };
    const onTcp = (): void => {
      if (phase === 'tcp') phase = 'tls';
    };
    const onReady = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? 'UNKNOWN';
      // Once TCP is up, whatever goes wrong (a certificate, a reset mid-handshake) is TLS's failure.
      if (phase === 'tls') {
        fail(
          new MultiPopError(
            'TLS_FAILED',
            `TLS with ${target.host}:${target.port} failed: ${err.message}`,
            {
              ...context,
              reason: code,
            },
            { cause: err },
          ),
        );
      } else {
        fail(
          new MultiPopError(
            'CONNECT_FAILED',
            `Cannot connect to ${target.host}:${target.port}: ${err.message}`,
            {
              ...context,
              reason: code,
            },
            { cause: err },
          ),
        );
      }
    };
    const onClose = (): void => {
      const code = phase === 'tls' ? 'TLS_FAILED' : 'CONNECT_FAILED';
      fail(
        new MultiPopError(
          code,
          `${target.host}:${target.port} closed the connection while connecting`,
          context,
        ),
      );
    };
    const onAbort = (): void => {
      fail(new MultiPopError('ABORTED', 'Connecting was aborted', context));
    };
    const timer = setTimeout(() => {
      fail(
        new MultiPopError(
          'CONNECT_TIMEOUT',
          `No ${phase === 'tls' ? 'TLS' : 'TCP'} connection to ${target.host}:${target.port} within ${target.connectTimeout} ms`,
          { ...context, timeoutMs: target.connectTimeout },
        ),
      );
    }, target.connectTimeout);
    timer.unref();
    socket.on('connect', onTcp);
    socket.once(readyEvent, onReady);
    socket.on('error', onError);
    socket.once('close', onClose);
    if (target.signal?.aborted) onAbort();
    else target.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
