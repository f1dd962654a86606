import { describe, expect, it } from 'vitest';
import { generateMessages, messageId } from '../../../bench/compare/messages.js';

describe('benchmark message generator', () => {
  const messages = generateMessages({ tag: 't', count: 300, size: 'mixed', seed: 7 });
  const all = Buffer.concat(messages).toString('latin1');

  it('is deterministic for a seed and differs for another', () => {
    const again = generateMessages({ tag: 't', count: 300, size: 'mixed', seed: 7 });
    expect(again.every((m, i) => m.equals(messages[i] as Buffer))).toBe(true);
    const other = generateMessages({ tag: 't', count: 300, size: 'mixed', seed: 8 });
    expect(other.some((m, i) => !m.equals(messages[i] as Buffer))).toBe(true);
  });

  it('produces the cases that break collectors: dot lines, 8-bit bytes, long and folded headers', () => {
    expect(all).toMatch(/\r\n\.\r\n/); // a line that is just "."
    expect(all).toMatch(/\r\n\.[^\r.]/); // a line that starts with "."
    expect(all).toMatch(/[\x80-\xff]/);
    expect(all).toMatch(/\r\nX-Bench-Trace: [^\r]{79,}\r\n/);
    expect(all).toMatch(/\r\n\t[^\r]+\r\n /);
    expect(messages.every((m) => m.subarray(-2).toString() === '\r\n')).toBe(true);
    // CRLF only: no bare LF or CR anywhere.
    expect(/(?<!\r)\n|\r(?!\n)/.test(all)).toBe(false);
  });

  it('carries a unique Message-ID per message and keeps to the size profile', () => {
    const ids = messages.map((m) => /Message-ID: <([^>]+)>/.exec(m.toString('latin1'))?.[1]);
    expect(new Set(ids).size).toBe(300);
    expect(ids[5]).toBe(messageId('t', 5));
    const sizes = messages.map((m) => m.length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(2_000);
    expect(Math.max(...sizes)).toBeLessThan(112_000);
    expect(sizes.filter((s) => s > 80_000).length).toBeGreaterThan(5);
    const [big] = generateMessages({ tag: 'b', count: 1, size: { bytes: 300_000 }, seed: 1 });
    expect(Math.abs((big as Buffer).length - 300_000)).toBeLessThan(1_100);
  });
});
