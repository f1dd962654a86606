import type { Readable } from 'node:stream';
import { expect } from 'vitest';
import { isMultiPopError, type MultiPopError } from '../../../src/errors/index.js';
import type { Logger } from '../../../src/log/index.js';
import type { Pop3ConnectOptions } from '../../../src/pop3/api.js';
import { Pop3Client } from '../../../src/pop3/client.js';
import type { FakePop3Server } from '../../../src/testing/fake-pop3/index.js';

/** Messages whose bytes are easy to corrupt: dot lines, 8-bit bytes, lone CR/LF, no final CRLF. */
export const TRICKY_MESSAGES: Buffer[] = [
  Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n...y\r\nend\r\n', 'latin1'),
  Buffer.from('Subject: 8bit\r\n\r\nGr\xfc\xdfe \xe9t\xe9 \xff\xfe\0 binary\r\n\r\n', 'latin1'),
  Buffer.from('Subject: lone\r\n\r\na\rb\nc\r\n.\rd\r\n', 'latin1'),
  Buffer.from('Subject: empty body\r\n\r\n', 'latin1'),
];

/** Connects a client to the fake server over plain TCP with short timeouts. */
export function connectTo(
  server: FakePop3Server,
  extra: Partial<Pop3ConnectOptions> = {},
): Promise<Pop3Client> {
  return Pop3Client.connect({
    host: server.host,
    port: server.port,
    tls: 'none',
    timeouts: { connect: 2000, greeting: 2000, idle: 2000 },
    ...extra,
  });
}

/** Reads a body stream to the end. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Awaits a promise that must reject with a MultiPopError of the given code; returns it. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<MultiPopError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isMultiPopError(error), `expected a MultiPopError ${code}, got ${String(error)}`).toBe(true);
  expect((error as MultiPopError).code).toBe(code);
  return error as MultiPopError;
}

/** A logger that keeps every entry as one JSON line, to search for secrets. */
export function captureLogger(): { logger: Logger; entries: string[] } {
  const entries: string[] = [];
  const write = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    entries.push(JSON.stringify({ level, msg, ...obj }));
  };
  return {
    logger: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
    entries,
  };
}

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True when the promise is still pending after the event loop had a chance to settle it. */
export async function isPending(promise: Promise<unknown>, waitMs = 50): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await delay(waitMs);
  return !settled;
}
