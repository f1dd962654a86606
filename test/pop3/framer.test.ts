import { describe, expect, it } from 'vitest';
import { isMultiPopError } from '../../src/errors/index.js';
import { type FrameEvent, Pop3Framer } from '../../src/pop3/framer.js';

const NO_LIMITS = { maxLineLength: 8192, maxMessageSize: Number.POSITIVE_INFINITY };

function drain(framer: Pop3Framer): FrameEvent[] {
  const out: FrameEvent[] = [];
  for (let ev = framer.next(); ev !== undefined; ev = framer.next()) out.push(ev);
  return out;
}

/** Reads one RETR-style response delivered in the given pieces; returns the body bytes. */
function readBody(pieces: string[]): { body: string; rest: FrameEvent[] } {
  const framer = new Pop3Framer(NO_LIMITS);
  const parts: Buffer[] = [];
  const rest: FrameEvent[] = [];
  let ended = false;
  for (const piece of pieces) {
    framer.push(Buffer.from(piece, 'latin1'));
    for (let ev = framer.next(); ev !== undefined; ev = framer.next()) {
      if (
        ev.type === 'status' &&
        framer.mode === 'line' &&
        !ended &&
        parts.length === 0 &&
        rest.length === 0
      ) {
        framer.expectBody();
        rest.push(ev);
      } else if (ev.type === 'body') parts.push(ev.chunk);
      else if (ev.type === 'end') ended = true;
      else rest.push(ev);
    }
  }
  expect(ended).toBe(true);
  return { body: Buffer.concat(parts).toString('latin1'), rest: rest.slice(1) };
}

describe('Pop3Framer', () => {
  it('classifies status lines and SASL continuations', () => {
    const framer = new Pop3Framer(NO_LIMITS);
    framer.push(Buffer.from('+OK ready\r\n-ERR [IN-USE] busy\r\n+ eyJ9\r\n+\r\n+OKAY\r\n'));
    expect(drain(framer)).toEqual([
      { type: 'status', line: '+OK ready' },
      { type: 'status', line: '-ERR [IN-USE] busy' },
      { type: 'continuation', payload: 'eyJ9' },
      { type: 'continuation', payload: '' },
      { type: 'status', line: '+OKAY' },
    ]);
  });

  it('finds the terminator when CRLF . CRLF is split across chunks (node-pop3 issue #36)', () => {
    expect(readBody(['+OK\r\nabc\r\n.', '\r\n']).body).toBe('abc\r\n');
    expect(readBody(['+OK\r\nabc\r', '\n.\r', '\n']).body).toBe('abc\r\n');
  });

  it('does not end early on a chunk that starts with ".\\r\\n" mid-line', () => {
    expect(readBody(['+OK\r\nfoo', '.\r\nbar\r\n.\r\n']).body).toBe('foo.\r\nbar\r\n');
  });

  it('un-stuffs leading dots and keeps 8-bit bytes', () => {
    const { body } = readBody(['+OK\r\n..x\r\n...\r\n\xe9t\xe9 \xff\0\r\n..\r\n.\r\n']);
    expect(body).toBe('.x\r\n..\r\n\xe9t\xe9 \xff\0\r\n.\r\n');
  });

  it('treats a lone CR or LF as content: a dot after it is not stuffing', () => {
    expect(readBody(['+OK\r\na\n.b\r\nc\r.d\r\n.\r\n']).body).toBe('a\n.b\r\nc\r.d\r\n');
    expect(readBody(['+OK\r\n.\rx\r\n.\r\n']).body).toBe('\rx\r\n');
  });

  it('returns an empty body and an empty-line body', () => {
    expect(readBody(['+OK\r\n.\r\n']).body).toBe('');
    expect(readBody(['+OK\r\n\r\n.\r\n']).body).toBe('\r\n');
  });

  it('keeps the next pipelined response intact after a body', () => {
    const { body, rest } = readBody(['+OK\r\nx\r\n.\r\n-ERR no such message\r\n+OK']);
    expect(body).toBe('x\r\n');
    expect(rest).toEqual([{ type: 'status', line: '-ERR no such message' }]);
  });

  it('emits slices of the input for large bodies instead of one event per line', () => {
    const framer = new Pop3Framer(NO_LIMITS);
    framer.push(Buffer.from('+OK\r\n'));
    framer.next();
    framer.expectBody();
    const big = Buffer.from('line of text\r\n'.repeat(5000));
    framer.push(big);
    const events = drain(framer);
    expect(events).toHaveLength(1);
    expect(events[0]?.type === 'body' && events[0].chunk.buffer === big.buffer).toBe(true);
  });

  it('un-stuffs listing items and counts them', () => {
    const framer = new Pop3Framer(NO_LIMITS);
    framer.push(Buffer.from('+OK\r\n1 abc\r\n..2 dot\r\n.\r\n+OK next\r\n'));
    expect(framer.next()).toEqual({ type: 'status', line: '+OK' });
    framer.expectListing();
    expect(drain(framer)).toEqual([
      { type: 'item', line: '1 abc' },
      { type: 'item', line: '.2 dot' },
      { type: 'end', size: 2 },
      { type: 'status', line: '+OK next' },
    ]);
  });

  it('bounds a status line that never ends, whatever the chunking', () => {
    const framer = new Pop3Framer({ maxLineLength: 1000, maxMessageSize: Number.POSITIVE_INFINITY });
    const chunk = Buffer.alloc(300, 'A');
    let error: unknown;
    try {
      for (let i = 0; i < 100; i++) {
        framer.push(chunk);
        drain(framer);
        expect(framer.buffered).toBeLessThanOrEqual(1000);
      }
    } catch (err) {
      error = err;
    }
    expect(isMultiPopError(error, 'LIMIT_EXCEEDED')).toBe(true);
    expect((error as { context: Record<string, unknown> }).context['limit']).toBe('maxLineLength');
  });

  it('rejects a complete line longer than the limit', () => {
    const framer = new Pop3Framer({ maxLineLength: 20, maxMessageSize: Number.POSITIVE_INFINITY });
    framer.push(Buffer.from(`+OK ${'x'.repeat(30)}\r\n`));
    expect(() => framer.next()).toThrow(/maxLineLength/);
  });

  it('bounds the un-stuffed body size', () => {
    const framer = new Pop3Framer({ maxLineLength: 100, maxMessageSize: 10 });
    framer.push(Buffer.from('+OK\r\n0123456789\r\n.\r\n'));
    framer.next();
    framer.expectBody();
    expect(() => drain(framer)).toThrow(/maxMessageSize/);
  });

  it('accepts a body of exactly the limit (counting the stuffed dot once)', () => {
    const framer = new Pop3Framer({ maxLineLength: 100, maxMessageSize: 5 });
    framer.push(Buffer.from('+OK\r\n..ab\r\n.\r\n'));
    framer.next();
    framer.expectBody();
    expect(drain(framer).at(-1)).toEqual({ type: 'end', size: 5 });
  });

  it('refuses to switch modes in the middle of a body', () => {
    const framer = new Pop3Framer(NO_LIMITS);
    framer.expectBody();
    expect(() => framer.expectListing()).toThrow(/cannot switch/);
  });
});
