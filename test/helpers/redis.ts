/**
 * A real Redis per test file (or script): `redis-server` as a direct child on a free loopback
 * port, no persistence (`--save ''`, no AOF), its own temp directory. `restart()` stops it and
 * starts it again on the same port — empty, as a Redis without persistence comes back.
 *
 * Suites that need it use {@link describeWithRedis}: a loud skip without Redis on a
 * developer's machine, a failure under `CI=true`.
 *
 * @example
 * ```ts
 * describeWithRedis('bullmq scheduler', () => {
 *   let redis: RedisServer;
 *   beforeAll(async () => { redis = await startRedis(); });
 *   afterAll(() => redis?.stop());
 * });
 * ```
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port.js';
import {
  describeWithServer,
  runningServers,
  spawnServer,
  stopChild,
  type TrackedServer,
} from './server-process.js';

/** Absolute path of `redis-server`, or undefined when Redis is not installed. */
export const redisBinary: string | undefined = findRedis();

const MISSING =
  'Redis is not installed (no redis-server on PATH). Install it with: apt-get install -y redis-server ' +
  '(or run scripts/ensure-test-servers.sh as root)';

/** `describe()` for suites that need a real Redis (fails under CI=true when missing). */
export function describeWithRedis(name: string, fn: () => void): void {
  describeWithServer(name, { installed: redisBinary !== undefined, missing: MISSING }, fn);
}

/** A running private Redis. */
export interface RedisServer {
  host: '127.0.0.1';
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Stops Redis (SIGKILL: what a crash looks like) and starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** The server's recent output. */
  output(): string;
  /** Stops Redis and deletes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a private Redis (tens of milliseconds). */
export async function startRedis(): Promise<RedisServer> {
  if (!redisBinary) throw new Error(MISSING);
  const binary = redisBinary;
  const dir = await mkdtemp(join(tmpdir(), 'multipop-redis-'));
  const port = await freePort();
  const launch = async (): Promise<{ child: ChildProcess; tracked: TrackedServer; output: () => string }> => {
    const server = spawnServer(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--protected-mode',
        'yes',
      ],
      { dir },
    );
    try {
      await waitForPort(port, 10_000);
    } catch (err) {
      await stopChild(server.child, 'SIGKILL', 1_000);
      runningServers.delete(server.tracked);
      throw new Error(`${(err as Error).message}\n${server.output()}`);
    }
    return server;
  };
  let current = await launch();
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await stopChild(current.child, 'SIGKILL', 1_000);
      runningServers.delete(current.tracked);
      current = await launch();
    },
    output: () => current.output(),
    stop() {
      stopped ??= (async () => {
        await stopChild(current.child, 'SIGTERM', 3_000);
        runningServers.delete(current.tracked);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function findRedis(): string | undefined {
  for (const candidate of ['redis-server', '/usr/bin/redis-server', '/usr/sbin/redis-server']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${candidate}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // try the next
    }
  }
  return undefined;
}
