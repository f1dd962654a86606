/**
 * A loopback TCP proxy in front of a test server that counts the connections made through it
 * and can break them on purpose: all at once, or — for a plain-text SMTP/LMTP session — right
 * after the server answers the end of a message's DATA, before that answer reaches the client
 * (the "lost 250": the server has the message, the client never learns it).
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy(dovecot.lmtpPort!);
 * // point the client at proxy.port
 * expect(proxy.connections).toBe(1);
 * await proxy.close();
 * ```
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Destroys every open connection, both sides, now. */
  dropAll(): void;
  /**
   * The next time a client ends a message's DATA (`CRLF.CRLF`), the server's reply to it is
   * swallowed and that connection is cut. Only for plain-text sessions (no STARTTLS).
   */
  loseNextReplyAfterData(): void;
  close(): Promise<void>;
}

const END_OF_DATA = Buffer.from('\r\n.\r\n');

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let connections = 0;
  let loseReply = false;
  const server = createServer((client) => {
    connections++;
    const upstream = netConnect({ host: targetHost, port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const cut = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const socket of pair) {
      socket.on('error', cut);
      socket.on('close', cut);
    }
    let tail = Buffer.alloc(0); // the end of what the client sent, to see a split terminator
    let armed = false;
    client.on('data', (chunk: Buffer) => {
      const seen = Buffer.concat([tail, chunk]);
      if (loseReply && seen.includes(END_OF_DATA)) {
        loseReply = false;
        armed = true;
      }
      tail = seen.subarray(Math.max(0, seen.length - END_OF_DATA.length + 1));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (armed) return cut();
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const dropAll = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    get connections() {
      return connections;
    },
    dropAll,
    loseNextReplyAfterData() {
      loseReply = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
