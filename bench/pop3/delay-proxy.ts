import { connect, createServer, type Server, type Socket } from 'node:net';

/** A running proxy. */
export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy that delays every chunk by `delayMs` in each direction (so a round trip
 * costs twice that), keeping the byte order. It stands in for a distant POP3 server: what
 * pipelining saves is round trips.
 *
 * @example
 * ```ts
 * const proxy = await startDelayProxy({ targetPort: 110, delayMs: 20 });
 * ```
 */
export async function startDelayProxy(options: {
  targetHost?: string;
  targetPort: number;
  delayMs: number;
}): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: options.targetHost ?? '127.0.0.1', port: options.targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    relay(client, upstream, options.delayMs);
    relay(upstream, client, options.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function relay(from: Socket, to: Socket, delayMs: number): void {
  // Each chunk leaves `delayMs` after it arrived, never before the previous one.
  let last = 0;
  from.on('data', (chunk: Buffer) => {
    const due = Math.max(Date.now() + delayMs, last);
    last = due;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, due - Date.now());
  });
  // A close travels like data: after what was sent before it.
  from.on('close', () => {
    setTimeout(() => to.end(), Math.max(0, last - Date.now()) + 1);
  });
}
