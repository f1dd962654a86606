/**
 * Lists a mailbox's unique ids (`UIDL`) over implicit TLS with the raw client's wire. Used in
 * scenario S3 to write the state of a contender whose full first run over the whole backlog
 * would not fit in the benchmark's time (getmail6, node-pop3): the state file then says
 * exactly what that contender's own full run would have recorded.
 */
import { connect } from 'node:tls';
import { PopWire } from './raw-wire.js';

/** Where and as whom to ask. */
export interface UidlListOptions {
  host: string;
  port: number;
  ca: string;
  servername: string;
  user: string;
  password: string;
}

/**
 * The UIDL of every message in the mailbox, in message-number order.
 *
 * @example
 * ```ts
 * const uidls = await listUidls({ host: '127.0.0.1', port, ca, servername: 'localhost', user: 's3', password });
 * ```
 */
export async function listUidls(options: UidlListOptions): Promise<string[]> {
  const socket = connect({
    host: options.host,
    port: options.port,
    ca: options.ca,
    servername: options.servername,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const wire = new PopWire(socket, 30_000, true);
  try {
    await wire.greeting;
    await wire.send(`USER ${options.user}`);
    await wire.send(`PASS ${options.password}`);
    const parts: Buffer[] = [];
    await wire.send('UIDL', true, { begin() {}, write: (chunk) => parts.push(Buffer.from(chunk)), end() {} });
    await wire.send('QUIT');
    return Buffer.concat(parts)
      .toString('latin1')
      .split('\r\n')
      .map((line) => line.split(' ')[1])
      .filter((uid): uid is string => uid !== undefined && uid !== '');
  } finally {
    wire.close();
  }
}
