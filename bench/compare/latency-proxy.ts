/**
 * A loopback TCP proxy that delays every chunk by a fixed time in each direction, to show what
 * a remote POP3 server does to a client that waits for each answer (scenario S4). Bytes pass
 * unchanged (TLS runs end to end through it); order is kept; bandwidth is not limited.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

/** A running proxy. */
export interface LatencyProxy {
  port: number;
  close(): Promise<void>;
}

/** Where to forward, and how long each direction waits. */
export interface LatencyProxyOptions {
  targetHost: string;
  targetPort: number;
  /** One-way delay in ms (a round trip costs twice this). */
  delayMs: number;
}

/** Stop reading from a side while this much is queued for the other. */
const HIGH_WATER = 4 * 1024 * 1024;

/**
 * Starts the proxy on a free port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const proxy = await startLatencyProxy({ targetHost: '127.0.0.1', targetPort: 995, delayMs: 20 });
 * // connect to proxy.port instead of 995
 * await proxy.close();
 * ```
 */
export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = netConnect({ host: options.targetHost, port: options.targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    delayedPipe(client, upstream, options.delayMs);
    delayedPipe(upstream, client, options.delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Forwards `from` → `to`, each chunk `delayMs` after it arrived; the end, too. */
function delayedPipe(from: Socket, to: Socket, delayMs: number): void {
  const queue: Array<{ due: number; chunk: Buffer | null }> = [];
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as { due: number }).due <= now) {
      const { chunk } = queue.shift() as { chunk: Buffer | null };
      if (chunk === null) {
        to.end();
        return;
      }
      queuedBytes -= chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (queuedBytes < HIGH_WATER && from.isPaused()) from.resume();
    schedule();
  };
  const schedule = () => {
    const head = queue[0];
    if (timer || !head) return;
    timer = setTimeout(flush, Math.max(0, head.due - performance.now()));
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    queuedBytes += chunk.length;
    if (queuedBytes + to.writableLength >= HIGH_WATER) from.pause();
    schedule();
  });
  from.on('end', () => {
    queue.push({ due: performance.now() + delayMs, chunk: null });
    schedule();
  });
  from.on('close', () => {
    if (queue.length === 0 && !to.destroyed) to.end();
  });
}
