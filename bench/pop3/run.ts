/**
 * POP3 client benchmark.
 *
 *   npx tsx bench/pop3/run.ts [--size-mb 100] [--runs 3] [--messages 500] [--delay-ms 20] [--node-pop3]
 *
 * (a) One large message (default 100 MB) from a local Dovecot: our client against a raw socket
 *     that only counts bytes, over plain TCP and implicit TLS. Each reader runs in its own
 *     process; peak RSS growth is `process.resourceUsage().maxRSS` after minus before RETR.
 * (b) Many small messages (default 500) through a loopback proxy that delays each direction
 *     (default 20 ms): pipelining on vs off.
 *
 * Needs Dovecot installed (as the tests do). The worker is bundled to plain JavaScript first
 * (with tsup) so that no TypeScript loader inflates its memory. Prints Markdown tables.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'tsup';
import { startDovecot } from '../../test/helpers/dovecot.js';
import { startLatencyProxy } from '../compare/latency-proxy.js';
import type { WorkerResult, WorkerTask } from './worker.js';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
    messages: { type: 'string', default: '500' },
    'delay-ms': { type: 'string', default: '20' },
    'node-pop3': { type: 'boolean', default: false },
  },
});
const SIZE = Number(values['size-mb']) * 1024 * 1024;
const RUNS = Number(values.runs);
const COUNT = Number(values.messages);
const DELAY = Number(values['delay-ms']);
const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const MiB = 1024 * 1024;

/** About `size` bytes of mail-like text with dot lines and 8-bit bytes, CRLF throughout. */
function largeMessage(size: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 128; i++) {
    if (i % 31 === 0) lines.push(`.dot-stuffed line ${i}`);
    else if (i % 17 === 0) lines.push(`8-bit \xe4\xf6\xfc\xdf\xe9 line ${i}`);
    else
      lines.push(
        `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit '.slice(0, 40 + (i % 30))} ${i}`,
      );
  }
  const block = Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
  const header = Buffer.from('From: bench@example.com\r\nSubject: large\r\n\r\n');
  const parts = [header];
  for (let total = header.length; total < size; total += block.length) parts.push(block);
  return Buffer.concat(parts);
}

/**
 * Bundles the worker to plain JavaScript: run through a TypeScript loader, a worker's peak RSS
 * would be the loader's compile peak, hiding what the measured phase adds.
 */
async function buildWorker(outDir: string): Promise<string> {
  await build({
    entry: { worker: WORKER_SOURCE },
    outDir,
    format: ['esm'],
    outExtension: () => ({ js: '.mjs' }),
    platform: 'node',
    target: 'node20',
    noExternal: [/.*/],
    silent: true,
    config: false,
    dts: false,
    sourcemap: false,
    splitting: false,
  });
  return join(outDir, 'worker.mjs');
}

let workerPath = '';

function runWorker(task: WorkerTask): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    // Through a shell that forks again: Linux carries a process's peak RSS across exec, so a
    // worker forked straight from this process (which holds the large test message) would
    // report our peak as its own.
    execFile(
      '/bin/sh',
      ['-c', '"$0" "$@"; exit $?', process.execPath, workerPath, JSON.stringify(task)],
      { maxBuffer: 1024 * 1024, timeout: 15 * 60_000 },
      (error, stdout) => {
        const line = stdout.trim().split('\n').at(-1) ?? '';
        try {
          const parsed = JSON.parse(line) as WorkerResult & { error?: string };
          if (parsed.error) reject(new Error(`${task.kind}: ${parsed.error}`));
          else resolve(parsed);
        } catch {
          reject(new Error(`${task.kind}: worker failed: ${error?.message ?? line}`));
        }
      },
    );
  });
}

async function measure(
  task: WorkerTask,
  runs: number,
): Promise<{ ms: number; growthMiB: number; bytes: number }> {
  const results: WorkerResult[] = [];
  for (let i = 0; i < runs; i++) results.push(await runWorker(task));
  const times = results.map((r) => r.ms).sort((a, b) => a - b);
  const growth = Math.max(...results.map((r) => (r.maxRssAfterKiB - r.maxRssBeforeKiB) / 1024));
  return { ms: times[Math.floor(times.length / 2)]!, growthMiB: growth, bytes: results[0]!.bytes };
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

async function main(): Promise<void> {
  const users = [
    { name: 'big', password: 'bench-big' },
    { name: 'many', password: 'bench-many' },
  ];
  console.log(`Starting Dovecot and seeding ${fmt(SIZE / MiB)} MB + ${COUNT} small messages…`);
  const buildDir = await mkdtemp(join(tmpdir(), 'multipop-bench-pop3-'));
  workerPath = await buildWorker(buildDir);
  const dovecot = await startDovecot({ users });
  try {
    const message = largeMessage(SIZE);
    const expectedHash = createHash('sha256').update(message).digest('hex');
    await dovecot.seed('big', [message]);
    const small = Array.from({ length: COUNT }, (_, i) =>
      Buffer.from(`From: a@example.com\r\nSubject: ${i}\r\n\r\nsmall message ${i}\r\n.dot\r\n`),
    );
    await dovecot.seed('many', small);
    const base = { host: dovecot.host, user: 'big', password: 'bench-big', ca: dovecot.caPem };

    // Correctness first: the client's bytes hash to the original.
    const check = await runWorker({ kind: 'client', ...base, port: dovecot.popPort, tls: false, hash: true });
    if (check.sha256 !== expectedHash)
      throw new Error('the client returned different bytes: benchmark aborted');

    const rows: string[] = [];
    for (const tls of [false, true]) {
      const port = tls ? dovecot.popsPort : dovecot.popPort;
      const rawResult = await measure({ kind: 'raw', ...base, port, tls }, RUNS);
      const ours = await measure({ kind: 'client', ...base, port, tls }, RUNS);
      const transport = tls ? 'implicit TLS' : 'plain TCP';
      const rate = (r: { ms: number; bytes: number }) => fmt(r.bytes / MiB / (r.ms / 1000));
      rows.push(
        `| raw socket, counting bytes | ${transport} | ${fmt(rawResult.ms)} ms | ${rate(rawResult)} MB/s | ${fmt(rawResult.growthMiB, 1)} MB | 1.00× |`,
        `| multipop Pop3Client (un-stuffed stream) | ${transport} | ${fmt(ours.ms)} ms | ${rate(ours)} MB/s | ${fmt(ours.growthMiB, 1)} MB | ${fmt(ours.ms / rawResult.ms, 2)}× |`,
      );
      if (values['node-pop3']) {
        const peer = await measure({ kind: 'node-pop3', ...base, port, tls }, 1).catch((err: Error) => err);
        rows.push(
          peer instanceof Error
            ? `| node-pop3 0.11 | ${transport} | failed: ${peer.message} | | | |`
            : `| node-pop3 0.11 (string, not byte-exact) | ${transport} | ${fmt(peer.ms)} ms | ${rate(peer)} MB/s | ${fmt(peer.growthMiB, 1)} MB | ${fmt(peer.ms / rawResult.ms, 2)}× |`,
        );
      }
    }
    console.log(`\n(a) RETR of one ${fmt(SIZE / MiB)} MB message from Dovecot, median of ${RUNS} runs`);
    console.log('\n| reader | transport | time | throughput | peak RSS growth | vs raw |');
    console.log('|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);

    const proxy = await startLatencyProxy({
      targetHost: dovecot.host,
      targetPort: dovecot.popPort,
      delayMs: DELAY,
    });
    try {
      const task = {
        kind: 'many' as const,
        host: dovecot.host,
        port: proxy.port,
        user: 'many',
        password: 'bench-many',
        count: COUNT,
      };
      const on = await measure({ ...task, pipelining: true }, 1);
      const off = await measure({ ...task, pipelining: false }, 1);
      console.log(`\n(b) ${COUNT} small messages through a proxy adding ${DELAY} ms each way (RETR phase)`);
      console.log('\n| pipelining | time | messages/s | speed-up |');
      console.log('|---|---|---|---|');
      console.log(
        `| off (one command per round trip) | ${fmt(off.ms)} ms | ${fmt(COUNT / (off.ms / 1000))} | 1.0× |`,
      );
      console.log(
        `| on (window 64) | ${fmt(on.ms)} ms | ${fmt(COUNT / (on.ms / 1000))} | ${fmt(off.ms / on.ms, 1)}× |`,
      );
    } finally {
      await proxy.close();
    }
    console.log(`\nNode ${process.version}, ${process.platform}/${process.arch}`);
  } finally {
    await dovecot.stop();
    await rm(buildDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
