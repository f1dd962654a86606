import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerBlock } from '../../src/collect/header-block.js';
import { buildQueuedContent } from '../../src/collect/message-pipeline.js';
import { isMultiPopError, MultiPopError } from '../../src/errors/index.js';

const TRACE = Buffer.from('Received: from pop.example.com by multipop; Tue, 03 Mar 2026 10:00:00 +0000\r\n');

/** A byte source that hands out `chunks` one per read() and counts what was pulled. */
function chunkSource(chunks: readonly Buffer[], options: { highWaterMark?: number } = {}) {
  let next = 0;
  const stats = { pulled: 0, pulledBytes: 0 };
  const stream = new Readable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    read() {
      const chunk = chunks[next++];
      if (chunk === undefined) {
        this.push(null);
        return;
      }
      stats.pulled++;
      stats.pulledBytes += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, stats };
}

/** Splits `bytes` at the given cut points. */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const end of [...points, bytes.length]) {
    if (end > start) chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Byte equality without a deep-equality walk over megabytes. */
function expectBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const message = (headerLines: number, bodyBytes: number) =>
  Buffer.concat([
    Buffer.from(
      `Subject: test\r\nFrom: Ann <ann@example.com>\r\n${'X-Filler: 0123456789abcdef\r\n'.repeat(headerLines)}\r\n`,
    ),
    Buffer.alloc(bodyBytes, 0x61),
  ]);

describe('buildQueuedContent: bytes', () => {
  it('yields trace + original bytes unchanged, and captures the bounded header block, for any split', async () => {
    const crlfHeavy = fc.array(fc.constantFrom(0x0d, 0x0a, 0x41, 0x3a, 0x20, 0x00, 0xff), { maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2000 }),
        crlfHeavy,
        fc.array(fc.nat(3000), { maxLength: 20 }),
        fc.integer({ min: 0, max: 400 }),
        async (random, structured, cuts, maxHeaderBytes) => {
          const original = Buffer.concat([Buffer.from(structured), Buffer.from(random)]);
          const { stream } = chunkSource(split(original, cuts));
          const built = buildQueuedContent(stream, { trace: TRACE, sha256: true, maxHeaderBytes });
          expectBytes(await readAll(built.content), Buffer.concat([TRACE, original]));
          expect(built.bytesRead()).toBe(original.length);
          expect(await built.done()).toEqual({
            bytes: original.length,
            sha256: createHash('sha256').update(original).digest('hex'),
          });
          const whole = headerBlock(original);
          const captured = await built.headerBlock();
          expect(captured.bytes).toEqual(whole.subarray(0, maxHeaderBytes));
          expect(captured.complete).toBe(whole.length <= maxHeaderBytes);
          expect(built.sourceError()).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('passes an empty message as the trace alone', async () => {
    const built = buildQueuedContent(chunkSource([]).stream, { trace: TRACE });
    expect(await readAll(built.content)).toEqual(TRACE);
    expect(await built.metadata()).toEqual({});
  });

  it('reports progress in original bytes, ending at the total', async () => {
    const seen: number[] = [];
    const original = message(3, 5000);
    const built = buildQueuedContent(chunkSource(split(original, [10, 100, 1000])).stream, {
      trace: TRACE,
      onProgress: (bytes) => seen.push(bytes),
    });
    await readAll(built.content);
    expect(seen).toEqual([10, 100, 1000, original.length]);
  });
});

describe('buildQueuedContent: metadata', () => {
  it('parses the header block, before or after the content was read', async () => {
    const original = message(2, 100_000);
    const before = buildQueuedContent(chunkSource(split(original, [7, 20])).stream, { trace: TRACE });
    const meta = await before.metadata();
    expect(meta).toEqual({ subject: 'test', from: '"Ann" <ann@example.com>' });
    expectBytes(await readAll(before.content), Buffer.concat([TRACE, original]));

    const after = buildQueuedContent(chunkSource([original]).stream, { trace: TRACE });
    await readAll(after.content);
    expect(await after.metadata()).toEqual(meta);
  });

  it('does not deadlock when the queue awaits metadata before reading, even with a header block near the limit', async () => {
    const original = message(2200, 1_000_000); // about 62 KB of header lines
    expect(headerBlock(original).length).toBeLessThan(64 * 1024);
    expect(headerBlock(original).length).toBeGreaterThan(60 * 1024);
    // A content buffer far smaller than the header block: only read-ahead lets the header arrive.
    const built = buildQueuedContent(chunkSource(split(original, [1000, 2000, 30_000, 70_000])).stream, {
      trace: TRACE,
      highWaterMark: 4096,
    });
    expect((await built.metadata()).subject).toBe('test');
    expect((await built.headerBlock()).complete).toBe(true);
    expectBytes(await readAll(built.content), Buffer.concat([TRACE, original]));
  });

  it('stops capturing at maxHeaderBytes when the header block does not end', async () => {
    const original = Buffer.from(`Subject: long\r\n${'X-Filler: 0123456789abcdef\r\n'.repeat(10_000)}`);
    const built = buildQueuedContent(chunkSource(split(original, [100, 5000])).stream, { trace: TRACE });
    const captured = await built.headerBlock();
    expect(captured.complete).toBe(false);
    expect(captured.bytes.length).toBe(64 * 1024);
    expect((await built.metadata()).subject).toBe('long');
    expectBytes(await readAll(built.content), Buffer.concat([TRACE, original]));
  });
});

describe('buildQueuedContent: errors', () => {
  /** A source that yields `chunks`, then fails with `error` (or closes early when undefined). */
  function failingSource(chunks: Buffer[], error: Error | undefined) {
    const stream = new Readable({
      read() {
        const chunk = chunks.shift();
        if (chunk) this.push(chunk);
        else setImmediate(() => stream.destroy(error));
      },
    });
    return stream;
  }

  it('destroys content with the source error object, and rejects metadata and done', async () => {
    const error = new MultiPopError('CONNECTION_CLOSED', 'connection reset during RETR');
    const built = buildQueuedContent(failingSource([Buffer.from('Subject: cut')], error), { trace: TRACE });
    expect(await rejectionOf(readAll(built.content))).toBe(error);
    expect(built.sourceError()).toBe(error);
    expect(await rejectionOf(built.metadata())).toBe(error);
    expect(await rejectionOf(built.done())).toBe(error);
  });

  it('lets a queue that pipes the content see the error (and so keep no partial message)', async () => {
    const error = new MultiPopError('COMMAND_TIMEOUT', 'idle');
    const built = buildQueuedContent(failingSource([message(1, 10)], error), { trace: TRACE });
    const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
    expect(await rejectionOf(pipeline(built.content, sink))).toBe(error);
  });

  it('survives an error before the queue attached a listener; a later reader still sees it', async () => {
    const error = new MultiPopError('CONNECTION_CLOSED', 'early');
    const built = buildQueuedContent(failingSource([], error), { trace: TRACE });
    await tick();
    await tick();
    expect(built.content.destroyed).toBe(true);
    expect(await rejectionOf(readAll(built.content))).toBe(error);
  });

  it('metadata still resolves when the header block was complete before the failure', async () => {
    const built = buildQueuedContent(failingSource([message(1, 10)], new MultiPopError('SYS_TEMP', 'x')), {
      trace: TRACE,
    });
    expect((await built.metadata()).subject).toBe('test');
    expect(await rejectionOf(built.done())).toSatisfy((e) => isMultiPopError(e, 'SYS_TEMP'));
  });

  it('turns a source that closes before its end into CONNECTION_CLOSED', async () => {
    const built = buildQueuedContent(failingSource([Buffer.from('Subject: x\r\n')], undefined), {
      trace: TRACE,
    });
    const err = await rejectionOf(readAll(built.content));
    expect(isMultiPopError(err, 'CONNECTION_CLOSED')).toBe(true);
    expect(built.sourceError()).toBe(err);
  });

  it('destroys the source when the queue destroys the content, without calling it a source error', async () => {
    const { stream } = chunkSource(split(message(1, 100_000), [50]));
    const built = buildQueuedContent(stream, { trace: TRACE });
    built.content.destroy();
    await tick();
    expect(stream.destroyed).toBe(true);
    expect(built.sourceError()).toBeUndefined();
    expect(isMultiPopError(await rejectionOf(built.done()), 'ABORTED')).toBe(true);
  });

  it('a throwing progress callback fails the content with its error', async () => {
    const boom = new Error('listener failed');
    const built = buildQueuedContent(chunkSource([message(1, 10)]).stream, {
      trace: TRACE,
      onProgress: () => {
        throw boom;
      },
    });
    expect(await rejectionOf(readAll(built.content))).toBe(boom);
  });

  it('refuses a source that yields strings (the bytes are already lost)', async () => {
    const source = chunkSource([message(1, 10)]).stream;
    source.setEncoding('utf8');
    const built = buildQueuedContent(source, { trace: TRACE });
    expect(await rejectionOf(readAll(built.content))).toBeInstanceOf(TypeError);
  });
});

describe('buildQueuedContent: back-pressure', () => {
  it('keeps the source paused while the content is not read, then delivers everything', async () => {
    const chunks = Array.from({ length: 2000 }, (_, i) => Buffer.alloc(1024, i % 251));
    chunks[0] = Buffer.from('Subject: big\r\n\r\n');
    const { stream, stats } = chunkSource(chunks, { highWaterMark: 4096 });
    const built = buildQueuedContent(stream, { trace: TRACE, highWaterMark: 8192 });
    for (let i = 0; i < 50; i++) await tick();

    // Only the buffers' worth was pulled from 2 MB: content's and the source's high-water marks.
    expect(stats.pulledBytes).toBeLessThan(8192 + 4096 + 4 * 1024);
    expect(stream.isPaused()).toBe(true);
    expect(built.content.readableLength).toBeGreaterThanOrEqual(8192);
    const pulledWhilePaused = stats.pulled;
    for (let i = 0; i < 20; i++) await tick();
    expect(stats.pulled).toBe(pulledWhilePaused);

    expectBytes(await readAll(built.content), Buffer.concat([TRACE, ...chunks]));
    expect(stats.pulled).toBe(chunks.length);
  });

  it('starts a source that was paused before it was handed over', async () => {
    const { stream } = chunkSource([message(1, 10)]);
    stream.pause();
    const built = buildQueuedContent(stream, { trace: TRACE });
    expectBytes(await readAll(built.content), Buffer.concat([TRACE, message(1, 10)]));
  });
});
