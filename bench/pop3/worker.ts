/**
 * One measurement, in its own process so that its peak RSS is its own. Prints one JSON line.
 *
 * Bundled by run.ts and started as `node worker.mjs '<json WorkerTask>'`.
 */
import { createHash } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Pop3Client } from '../../src/pop3/client.js';

/** What a worker measures. */
export type WorkerTask = SingleMessageTask | ManyMessagesTask;

/** RETR 1 of one large message by one reader. */
export interface SingleMessageTask {
  kind: 'raw' | 'client' | 'node-pop3';
  host: string;
  port: number;
  tls: boolean;
  ca?: string;
  user: string;
  password: string;
  /** Also hash the bytes (for the correctness check; not in timed runs). */
  hash?: boolean;
}

/** RETR of every message of a mailbox, pipelined or not. */
export interface ManyMessagesTask {
  kind: 'many';
  host: string;
  port: number;
  user: string;
  password: string;
  count: number;
  pipelining: boolean;
}

/** What a worker reports. */
export interface WorkerResult {
  ms: number;
  bytes: number;
  sha256?: string;
  /** Peak resident set size before the measured phase and after it, in KiB. */
  maxRssBeforeKiB: number;
  maxRssAfterKiB: number;
}

const task = JSON.parse(process.argv[2] ?? '{}') as WorkerTask;

async function main(): Promise<WorkerResult> {
  if (task.kind === 'many') return many(task);
  if (task.kind === 'raw') return raw(task);
  if (task.kind === 'client') return viaClient(task);
  return viaNodePop3(task);
}

/** The floor: a socket that sends the commands and counts bytes until CRLF.CRLF, no parsing. */
async function raw(t: SingleMessageTask): Promise<WorkerResult> {
  const socket = t.tls
    ? tlsConnect({ host: t.host, port: t.port, ca: t.ca, servername: 'localhost' })
    : tcpConnect({ host: t.host, port: t.port });
  await new Promise((resolve, reject) => {
    socket.once(t.tls ? 'secureConnect' : 'connect', resolve);
    socket.once('error', reject);
  });
  const lines = async (count: number) => {
    // Greeting and the +OK of USER/PASS: read until `count` LFs arrived.
    let seen = 0;
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        for (const byte of chunk) if (byte === 10) seen++;
        if (seen >= count) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
    });
  };
  await lines(1);
  socket.write(`USER ${t.user}\r\nPASS ${t.password}\r\n`);
  await lines(2);
  const before = process.resourceUsage().maxRSS;
  const start = performance.now();
  let bytes = 0;
  let tail = Buffer.alloc(0);
  const end = Buffer.from('\r\n.\r\n');
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      const probe = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - 5))]);
      tail = probe.subarray(Math.max(0, probe.length - 5));
      if (tail.equals(end)) resolve();
    });
    socket.write('RETR 1\r\n');
  });
  const ms = performance.now() - start;
  socket.end('QUIT\r\n');
  return { ms, bytes, maxRssBeforeKiB: before, maxRssAfterKiB: process.resourceUsage().maxRSS };
}

async function viaClient(t: SingleMessageTask): Promise<WorkerResult> {
  const client = await Pop3Client.connect({
    host: t.host,
    port: t.port,
    tls: t.tls ? 'implicit' : 'none',
    tlsOptions: t.ca ? { ca: t.ca } : undefined,
  });
  await client.login(t.user, t.password);
  const before = process.resourceUsage().maxRSS;
  const start = performance.now();
  const hash = t.hash ? createHash('sha256') : undefined;
  let bytes = 0;
  for await (const chunk of await client.retr(1)) {
    bytes += (chunk as Buffer).length;
    hash?.update(chunk as Buffer);
  }
  const ms = performance.now() - start;
  await client.quit();
  return {
    ms,
    bytes,
    sha256: hash?.digest('hex'),
    maxRssBeforeKiB: before,
    maxRssAfterKiB: process.resourceUsage().maxRSS,
  };
}

async function viaNodePop3(t: SingleMessageTask): Promise<WorkerResult> {
  const { default: Pop3Command } = await import('node-pop3');
  const pop3 = new Pop3Command({
    user: t.user,
    password: t.password,
    host: t.host,
    port: t.port,
    tls: t.tls,
    tlsOptions: { ca: t.ca },
  });
  await pop3.connect();
  await pop3.command('USER', t.user);
  await pop3.command('PASS', t.password);
  const before = process.resourceUsage().maxRSS;
  const start = performance.now();
  const text: string = await pop3.RETR(1);
  const ms = performance.now() - start;
  await pop3.QUIT().catch(() => {});
  return {
    ms,
    bytes: Buffer.byteLength(text),
    maxRssBeforeKiB: before,
    maxRssAfterKiB: process.resourceUsage().maxRSS,
  };
}

async function many(t: ManyMessagesTask): Promise<WorkerResult> {
  const client = await Pop3Client.connect({
    host: t.host,
    port: t.port,
    tls: 'none',
    pipelining: t.pipelining ? 'auto' : false,
  });
  await client.login(t.user, t.password);
  const before = process.resourceUsage().maxRSS;
  const start = performance.now();
  const bodies = Array.from({ length: t.count }, (_, i) => client.retr(i + 1));
  let bytes = 0;
  for (const body of bodies) for await (const chunk of await body) bytes += (chunk as Buffer).length;
  const ms = performance.now() - start;
  await client.quit();
  return { ms, bytes, maxRssBeforeKiB: before, maxRssAfterKiB: process.resourceUsage().maxRSS };
}

main().then(
  (result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  },
  (err: unknown) => {
    console.log(JSON.stringify({ error: String((err as Error)?.message ?? err) }));
    process.exit(1);
  },
);
