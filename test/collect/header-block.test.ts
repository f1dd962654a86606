import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeaderEndScanner, headerBlock } from '../../src/collect/header-block.js';

/** Reference: the end of the first empty line, found on the whole buffer at once. */
function referenceEnd(bytes: Buffer): number {
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    const line = bytes.subarray(lineStart, i);
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) return i + 1;
    lineStart = i + 1;
  }
  return -1;
}

describe('headerBlock', () => {
  it.each([
    ['Subject: hi\r\n\r\nbody', 'Subject: hi\r\n\r\n'],
    ['Subject: hi\n\nbody', 'Subject: hi\n\n'],
    ['\r\nbody without headers', '\r\n'],
    ['Subject: only headers\r\n', 'Subject: only headers\r\n'],
    ['A: 1\r\n \r\nB: 2\r\n\r\n', 'A: 1\r\n \r\nB: 2\r\n\r\n'],
    ['A: 1\r\r\nB: 2\r\n\r\n', 'A: 1\r\r\nB: 2\r\n\r\n'],
  ])('%j → %j', (message, expected) => {
    expect(headerBlock(Buffer.from(message, 'latin1')).toString('latin1')).toBe(expected);
  });
});

describe('HeaderEndScanner', () => {
  it('finds the same end however the bytes are split into chunks', () => {
    const byte = fc.constantFrom(0x0d, 0x0a, 0x20, 0x41, 0x3a, 0xff);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 60 }),
        fc.array(byte, { maxLength: 60 }),
        fc.array(fc.nat(60)),
        (a, b, cuts) => {
          const bytes = Buffer.concat([Buffer.from(a), Buffer.from(b)]);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
          const scanner = new HeaderEndScanner();
          let found = -1;
          let start = 0;
          for (const end of [...points, bytes.length]) {
            const at = scanner.scan(bytes.subarray(start, end));
            if (at !== -1 && found === -1) found = start + at;
            start = end;
          }
          expect(found).toBe(referenceEnd(bytes));
          expect(scanner.done).toBe(found !== -1);
        },
      ),
    );
  });
});
