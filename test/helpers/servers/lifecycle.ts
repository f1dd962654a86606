/**
 * The life cycle every interop server harness (Cyrus, Courier, GNU Mailutils, popa3d) shares:
 * a private temp directory that goes away with the server (or with a failed start), free
 * loopback ports, waiting until the server listens, and an idempotent stop.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, waitForPort } from '../free-port.js';
import { type CertificatePair, localhostCertificate } from '../self-signed-cert.js';
import { unavailableReason } from './paths.js';
import { retryOnPortClash, type ServerProcess, stopServer, tailFile } from './process.js';
import type { InteropServerName, InteropServerOptions } from './types.js';
import { checkUsers } from './users.js';

/** How long a server may take to listen (or to create its sockets) after it was spawned. */
const START_TIMEOUT_MS = 10_000;

/**
 * Runs `start` with a fresh private directory `multipop-<server>-*` (mode 755: the servers drop
 * to their own accounts, which must reach into it, and Mailutils refuses key files in a group- or
 * world-writable directory). A failed start deletes the directory; a start that failed because a
 * port picked as free was taken meanwhile is tried again. The server is checked to be installed
 * and the users to be writable verbatim first.
 *
 * @example
 * ```ts
 * export function startCyrus(options: InteropServerOptions): Promise<InteropServer> {
 *   return startInPrivateDir('cyrus', 'Cyrus', options, async (dir) => ({ ... }));
 * }
 * ```
 */
export function startInPrivateDir<T>(
  server: InteropServerName,
  label: string,
  options: InteropServerOptions,
  start: (dir: string) => Promise<T>,
): Promise<T> {
  return retryOnPortClash(async () => {
    const reason = unavailableReason(server);
    if (reason) throw new Error(`${label} cannot run here: ${reason}`);
    checkUsers(options.users, label);
    const dir = await mkdtemp(join(tmpdir(), `multipop-${server}-`));
    try {
      await chmod(dir, 0o755);
      return await start(dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  });
}

/** Where a TLS-capable server starts: its private directory, its two ports and its certificate. */
export interface TlsServerPlace {
  dir: string;
  /** POP3 with STLS. */
  port: number;
  /** POP3 over implicit TLS. */
  tlsPort: number;
  /** A certificate for `localhost` / 127.0.0.1; its PEM is what clients trust (`caPem`). */
  cert: CertificatePair;
}

/**
 * {@link startInPrivateDir} for a server with a STLS and an implicit-TLS listener: `start` gets
 * two free loopback ports and a certificate as well.
 *
 * @example
 * ```ts
 * return startTlsServerInPrivateDir('cyrus', 'Cyrus', options, async ({ dir, port, tlsPort, cert }) => …);
 * ```
 */
export function startTlsServerInPrivateDir<T>(
  server: InteropServerName,
  label: string,
  options: InteropServerOptions,
  start: (place: TlsServerPlace) => Promise<T>,
): Promise<T> {
  return startInPrivateDir(server, label, options, async (dir) => {
    const cert = await localhostCertificate();
    const [port, tlsPort] = await freePorts(2);
    if (port === undefined || tlsPort === undefined) throw new Error('no free ports');
    return start({ dir, port, tlsPort, cert });
  });
}

/**
 * Waits until a spawned server listens on every one of `ports` (after `firstReady`, when given:
 * something that must exist before the listeners can work). If it does not, stops the server and
 * throws `<label> did not start` with the end of its log.
 *
 * @example
 * ```ts
 * await waitUntilListening(master, { label: 'Cyrus', log: paths.log, ports: [port, tlsPort] });
 * ```
 */
export async function waitUntilListening(
  server: ServerProcess,
  how: { label: string; log: string; ports: readonly number[]; firstReady?: () => Promise<void> },
): Promise<void> {
  try {
    await how.firstReady?.();
    for (const port of how.ports) await waitForPort(port, START_TIMEOUT_MS);
  } catch (err) {
    await stopServer(server);
    throw new Error(`${how.label} did not start: ${(err as Error).message}\n${await tailFile(how.log)}`);
  }
}

/**
 * The `stop()` of a harness: stops the server's process group, then deletes its directory.
 * Calling it again returns the same promise.
 *
 * @example
 * ```ts
 * return { ..., stop: stopAndRemove(master, dir) };
 * ```
 */
export function stopAndRemove(server: ServerProcess, dir: string): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= (async () => {
      await stopServer(server);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
}

/**
 * The `logText()` of a harness: its log files joined by newlines (a missing one reads as empty).
 *
 * @example
 * ```ts
 * return { ..., logText: () => readLogs(paths.log) };
 * ```
 */
export async function readLogs(...paths: string[]): Promise<string> {
  const parts = await Promise.all(paths.map((path) => readFile(path, 'utf8').catch(() => '')));
  return parts.join('\n');
}
