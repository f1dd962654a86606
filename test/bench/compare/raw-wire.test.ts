import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BodySink, PopWire, type WireSocket } from '../../../bench/compare/raw-wire.js';

/** A socket stand-in: the test decides exactly how the server's bytes are chunked. */
function fakeSocket() {
  const emitter = new EventEmitter();
  const written: string[] = [];
  const socket = Object.assign(emitter, {
    setTimeout: () => socket,
    write: (data: string) => {
      written.push(data);
      return true;
    },
    destroy: () => socket,
  }) as unknown as WireSocket & EventEmitter;
  return { socket, written, feed: (chunk: Buffer) => emitter.emit('data', chunk) };
}

function collectingSink(): BodySink & { body(): Buffer } {
  const parts: Buffer[] = [];
  return { begin() {}, write: (c) => parts.push(Buffer.from(c)), end() {}, body: () => Buffer.concat(parts) };
}

/** What a server sends for a body: every line that starts with "." gets one more. */
function stuff(body: Buffer): Buffer {
  const text = body.toString('latin1');
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1..'), 'latin1');
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((c) => c.length > 0);
}

// Lines of bytes without CR/LF, dots over-represented; every body ends with CRLF (or is empty).
const line = fc
  .array(fc.oneof(fc.constant(0x2e), fc.constant(0x2e), fc.integer({ min: 0, max: 255 })), { maxLength: 12 })
  .map((bytes) => bytes.filter((b) => b !== 0x0d && b !== 0x0a));
const body = fc
  .array(line, { maxLength: 8 })
  .map((lines) => Buffer.from(lines.flatMap((l) => [...l, 0x0d, 0x0a])));

describe('raw client wire (the benchmark speed bound must be correct)', () => {
  it('returns every pipelined RETR body un-stuffed, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(body, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (bodies, cuts) => {
          const { socket, written, feed } = fakeSocket();
          const wire = new PopWire(socket, 1_000, true);
          const sinks = bodies.map(() => collectingSink());
          const replies = bodies.map((_, i) => wire.send(`RETR ${i + 1}`, true, sinks[i]));
          const stream = Buffer.concat([
            Buffer.from('+OK ready\r\n'),
            ...bodies.flatMap((b) => [
              Buffer.from(`+OK ${b.length} octets\r\n`),
              stuff(b),
              Buffer.from('.\r\n'),
            ]),
          ]);
          for (const chunk of splitAt(stream, cuts)) feed(chunk);
          await wire.greeting;
          await Promise.all(replies);
          expect(written).toEqual(bodies.map((_, i) => `RETR ${i + 1}\r\n`));
          expect(sinks.map((sink, i) => sink.body().equals(bodies[i] as Buffer))).toEqual(
            bodies.map(() => true),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('passes a "." line, a ".." line and an empty body through exactly', async () => {
    const { socket, feed } = fakeSocket();
    const wire = new PopWire(socket, 1_000, false);
    const a = collectingSink();
    const b = collectingSink();
    const pa = wire.send('RETR 1', true, a);
    const pb = wire.send('RETR 2', true, b);
    feed(Buffer.from('+OK\r\n..\r\n...\r\nx\r\n.\r\n+OK\r\n.\r\n'));
    await Promise.all([pa, pb]);
    expect(a.body().toString('latin1')).toBe('.\r\n..\r\nx\r\n');
    expect(b.body().length).toBe(0);
  });

  it('rejects a command the server refuses and keeps the order for the next one', async () => {
    const { socket, feed } = fakeSocket();
    const wire = new PopWire(socket, 1_000, false);
    const refused = wire.send('RETR 9', true, collectingSink());
    const next = wire.send('NOOP');
    feed(Buffer.from('-ERR no such message\r\n+OK\r\n'));
    await expect(refused).rejects.toThrow(/no such message/);
    await expect(next).resolves.toBe('+OK');
  });
});
