import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMultiPopError } from '../../src/errors/index.js';
import { type FrameEvent, Pop3Framer } from '../../src/pop3/framer.js';
import { cutAt, dotStuff, expectedUnstuffed } from './support/dot-stuffing.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Pieces that make dot-stuffing and line-ending handling interesting, plus random bytes. */
const fragment: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('.', '..', '..x', '.x', '', '\r', '\n', '\0', '.\r', '.\n', ' ').map(bytes),
  },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)) },
  { weight: 2, arbitrary: fc.uint8Array({ min: 0x80, max: 0xff, maxLength: 16 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((n) => Buffer.alloc(n, 'x')) },
);

const line = fc.array(fragment, { maxLength: 4 }).map((parts) => Buffer.concat(parts));

/** A message body: lines joined by CRLF, with or without a final CRLF (or empty). */
const body: fc.Arbitrary<Buffer> = fc
  .record({ lines: fc.array(line, { maxLength: 25 }), finalCrlf: fc.boolean() })
  .map(({ lines, finalCrlf }) => {
    const joined = Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [bytes('\r\n'), l])));
    return finalCrlf ? Buffer.concat([joined, bytes('\r\n')]) : joined;
  });

/** Cut points: random offsets, or (for short inputs) every single byte. */
const cuts = fc.record({ everyByte: fc.boolean(), offsets: fc.array(fc.nat(), { maxLength: 40 }) });

function split(wire: Buffer, c: { everyByte: boolean; offsets: number[] }): Buffer[] {
  if (c.everyByte && wire.length <= 2048) return [...wire].map((b) => Buffer.from([b]));
  return cutAt(
    wire,
    c.offsets.map((o) => o % (wire.length + 1)),
  );
}

type Step =
  | { kind: 'body'; body: Buffer }
  | { kind: 'listing'; items: string[] }
  | { kind: 'status'; line: string }
  | { kind: 'continuation'; payload: string };

const listingItem = fc.stringMatching(/^[!-~][ -~]{0,40}$/);
const step: fc.Arbitrary<Step> = fc.oneof(
  body.map((b): Step => ({ kind: 'body', body: b })),
  fc.array(listingItem, { maxLength: 8 }).map((items): Step => ({ kind: 'listing', items })),
  fc
    .constantFrom('-ERR [IN-USE] locked', '+OK', '-ERR', '+OK 2 320')
    .map((l): Step => ({ kind: 'status', line: l })),
  fc.constantFrom('', 'eyJzdGF0dXMiOiI0MDEifQ==').map((p): Step => ({ kind: 'continuation', payload: p })),
);

function encode(steps: Step[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of steps) {
    if (s.kind === 'body') parts.push(bytes('+OK message follows\r\n'), dotStuff(s.body));
    else if (s.kind === 'listing') {
      parts.push(bytes('+OK listing\r\n'));
      for (const item of s.items) parts.push(bytes(`${item.startsWith('.') ? '.' : ''}${item}\r\n`));
      parts.push(bytes('.\r\n'));
    } else if (s.kind === 'status') parts.push(bytes(`${s.line}\r\n`));
    else parts.push(bytes(s.payload === '' ? '+\r\n' : `+ ${s.payload}\r\n`));
  }
  return Buffer.concat(parts);
}

/** Feeds the chunks one by one, switching modes as a client would, and records what comes out. */
function drive(steps: Step[], chunks: Buffer[]): Array<Buffer | string[] | FrameEvent> {
  const framer = new Pop3Framer({ maxLineLength: 8192, maxMessageSize: Number.POSITIVE_INFINITY });
  const results: Array<Buffer | string[] | FrameEvent> = [];
  let index = 0;
  let bodyParts: Buffer[] = [];
  let items: string[] = [];
  for (const chunk of chunks) {
    framer.push(chunk);
    for (let ev = framer.next(); ev !== undefined; ev = framer.next()) {
      const current = steps[index];
      if (ev.type === 'body') {
        if (!Buffer.isBuffer(ev.chunk)) throw new Error('body chunk is not a Buffer');
        bodyParts.push(ev.chunk);
      } else if (ev.type === 'item') items.push(ev.line);
      else if (ev.type === 'end') {
        if (current?.kind === 'body') {
          const whole = Buffer.concat(bodyParts);
          expect(ev.size).toBe(whole.length);
          results.push(whole);
        } else results.push(items);
        bodyParts = [];
        items = [];
        index++;
      } else if (ev.type === 'status' && current?.kind === 'body') framer.expectBody();
      else if (ev.type === 'status' && current?.kind === 'listing') framer.expectListing();
      else {
        results.push(ev);
        index++;
      }
    }
    // Nothing but a partial line may stay buffered once the framer asks for more bytes.
    // (A plain check: `expect` per byte-sized chunk would dominate the run time.)
    if (framer.buffered > 8192) throw new Error(`framer holds ${framer.buffered} bytes`);
  }
  return results;
}

function expected(steps: Step[]): Array<Buffer | string[] | FrameEvent> {
  return steps.map((s) => {
    if (s.kind === 'body') return expectedUnstuffed(s.body);
    if (s.kind === 'listing') return s.items;
    if (s.kind === 'status') return { type: 'status', line: s.line };
    return { type: 'continuation', payload: s.payload };
  });
}

describe('Pop3Framer properties', () => {
  it('un-stuffs any body cut anywhere back to the original bytes (plus the sender-added CRLF)', () => {
    fc.assert(
      fc.property(body, cuts, (original, c) => {
        const wire = Buffer.concat([bytes('+OK\r\n'), dotStuff(original), bytes('+OK after\r\n')]);
        const out = drive(
          [
            { kind: 'body', body: original },
            { kind: 'status', line: '+OK after' },
          ],
          split(wire, c),
        );
        expect(out).toHaveLength(2);
        expect(Buffer.compare(out[0] as Buffer, expectedUnstuffed(original))).toBe(0);
        expect(out[1]).toEqual({ type: 'status', line: '+OK after' });
      }),
      { numRuns: 1500 },
    );
  });

  it('keeps pipelined responses (bodies, listings, status lines, continuations) apart at any split', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), cuts, (steps, c) => {
        // Buffers compared as Latin-1 strings (1:1 with bytes): vitest's deep equality walks
        // Buffers element by element, which would dominate the run time.
        const asText = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v);
        const out = drive(steps, split(encode(steps), c));
        expect(out.map(asText)).toEqual(expected(steps).map(asText));
      }),
      { numRuns: 1000 },
    );
  });

  it('survives 10,000 inputs of random bytes: only typed LIMIT_EXCEEDED errors, bounded buffering', () => {
    const interesting = fc.oneof(
      fc.constantFrom(0x0d, 0x0a, 0x2e, 0x2b, 0x20, 0x2d),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(
        fc.array(interesting, { maxLength: 1500 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.constantFrom('line', 'body', 'lines'), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 16, max: 200 }),
        fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 600 })),
        (garbage, offsets, modes, maxLineLength, maxMessageSize) => {
          const framer = new Pop3Framer({ maxLineLength, maxMessageSize });
          const wire = Buffer.from(garbage);
          let switches = 0;
          try {
            for (const chunk of cutAt(
              wire,
              offsets.map((o) => o % (wire.length + 1)),
            )) {
              const before = framer.buffered;
              framer.push(chunk);
              expect(framer.buffered).toBe(before + chunk.length);
              for (let ev = framer.next(); ev !== undefined; ev = framer.next()) {
                if (ev.type === 'status') {
                  const mode = modes[switches++ % modes.length];
                  if (mode === 'body') framer.expectBody();
                  else if (mode === 'lines') framer.expectListing();
                }
              }
              expect(framer.buffered).toBeLessThanOrEqual(maxLineLength);
            }
          } catch (err) {
            if (!isMultiPopError(err, 'LIMIT_EXCEEDED')) throw err;
          }
        },
      ),
      { numRuns: 10_000 },
    );
  });
});
