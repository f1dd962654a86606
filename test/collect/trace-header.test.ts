import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { type TraceHeaderInput, traceHeader } from '../../src/collect/trace-header.js';

const base: TraceHeaderInput = {
  mailboxId: 'ann-gmail',
  host: 'pop.gmail.com',
  port: 995,
  username: 'ann@gmail.com',
  uidl: 'GmailId18c2f',
  recipient: 'ann@example.com',
  at: Date.UTC(2026, 2, 3, 10, 0, 0),
  tls: true,
};

/** Unfolds a header block into [name, value] pairs; throws on anything that is not a header line. */
function headers(block: string): [string, string][] {
  expect(block.endsWith('\r\n')).toBe(true);
  const out: [string, string][] = [];
  for (const line of block.slice(0, -2).split('\r\n')) {
    if (/^[ \t]/.test(line)) {
      expect(out.length).toBeGreaterThan(0);
      out[out.length - 1]![1] += line;
    } else {
      const match = /^([!-9;-~]+):(.*)$/.exec(line);
      if (!match) throw new Error(`not a header line: ${JSON.stringify(line)}`);
      out.push([match[1]!, match[2]!]);
    }
  }
  return out;
}

describe('traceHeader', () => {
  it('writes a Received header and X-MultiPOP-Source, folded, with CRLF line ends', () => {
    expect(traceHeader(base).toString('ascii')).toBe(
      'Received: from pop.gmail.com (ann@gmail.com at pop.gmail.com port 995)\r\n' +
        '\tby multipop with POP3S for <ann@example.com>; Tue, 03 Mar 2026 10:00:00 +0000\r\n' +
        'X-MultiPOP-Source: ann-gmail; uidl=GmailId18c2f\r\n',
    );
  });

  it('says POP3 without TLS and accepts a Date', () => {
    const text = traceHeader({
      ...base,
      tls: false,
      at: new Date(Date.UTC(2025, 11, 31, 23, 59, 59)),
    }).toString();
    expect(text).toContain(' with POP3 for ');
    expect(text).toContain('Wed, 31 Dec 2025 23:59:59 +0000');
  });

  it('is read back by mailparser as two headers with the values given', async () => {
    const parsed = await simpleParser(
      Buffer.concat([traceHeader(base), Buffer.from('Subject: x\r\n\r\nbody\r\n')]),
    );
    expect(parsed.headers.get('x-multipop-source')).toBe('ann-gmail; uidl=GmailId18c2f');
    const received = parsed.headers.get('received');
    expect(String(received)).toMatch(
      /^from pop\.gmail\.com .* for <ann@example\.com>; Tue, 03 Mar 2026 10:00:00 \+0000$/,
    );
    expect(parsed.subject).toBe('x');
  });

  it('rejects an invalid time', () => {
    expect(() => traceHeader({ ...base, at: Number.NaN })).toThrow(RangeError);
  });

  it('keeps every line within 78 characters for realistic values', () => {
    const word = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,30}$/);
    fc.assert(
      fc.property(
        fc.record({
          mailboxId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/),
          host: word,
          port: fc.integer({ min: 1, max: 65535 }),
          username: fc.tuple(word, word).map(([a, b]) => `${a}@${b}`),
          uidl: fc.stringMatching(/^[!-~]{1,70}$/).filter((u) => !/[;%()"\\]/.test(u)),
          recipient: fc.tuple(word, word).map(([a, b]) => `${a}@${b}`),
          at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
          tls: fc.boolean(),
        }),
        (input) => {
          const text = traceHeader(input).toString('ascii');
          for (const line of text.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
          const parsed = headers(text);
          expect(parsed.map(([name]) => name)).toEqual(['Received', 'X-MultiPOP-Source']);
          // A UIDL within RFC 1939's alphabet is carried unchanged.
          expect(parsed[1]![1]).toMatch(
            new RegExp(`uidl=${input.uidl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
          );
        },
      ),
    );
  });

  it('cannot be made to inject a header, whatever the values hold', () => {
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.constantFrom(
        'x\r\nBcc: evil@example.com',
        'x\nX-Spam: no',
        'x\rY: z',
        '%0D%0A',
        'a;b <c> (d) "e" \\f',
        '',
      ),
    );
    fc.assert(
      fc.property(
        hostile,
        hostile,
        hostile,
        hostile,
        hostile,
        (mailboxId, host, username, uidl, recipient) => {
          const bytes = traceHeader({ ...base, mailboxId, host, username, uidl, recipient });
          // Printable ASCII, TAB and CRLF only.
          for (let i = 0; i < bytes.length; i++) {
            const b = bytes[i]!;
            if (b === 0x0d) expect(bytes[i + 1]).toBe(0x0a);
            else if (b === 0x0a) expect(bytes[i - 1]).toBe(0x0d);
            else expect(b === 0x09 || (b >= 0x20 && b <= 0x7e)).toBe(true);
          }
          const text = bytes.toString('ascii');
          expect(headers(text).map(([name]) => name)).toEqual(['Received', 'X-MultiPOP-Source']);
          for (const line of text.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
          // The date stays the last thing after the one `;` of the Received header.
          const received = headers(text)[0]![1];
          expect(received.split(';')).toHaveLength(2);
          expect(received).toMatch(/;\s+Tue, 03 Mar 2026 10:00:00 \+0000$/);
        },
      ),
    );
  });

  it('percent-encodes what it must, so the value can be decoded back', () => {
    const uidl = 'a;b%c d\r\nü';
    const source = headers(traceHeader({ ...base, uidl }).toString('ascii'))[1]![1];
    const encoded = /uidl=(\S+)$/.exec(source)![1]!;
    expect(encoded).toBe('a%3Bb%25c%20d%0D%0A%C3%BC');
    expect(decodeURIComponent(encoded)).toBe(uidl);
  });

  it('gives a value too long to fold a line of its own', () => {
    const uidl = 'u'.repeat(200);
    const lines = traceHeader({ ...base, uidl })
      .toString('ascii')
      .split('\r\n');
    expect(lines.slice(-3)).toEqual(['X-MultiPOP-Source: ann-gmail;', `\tuidl=${uidl}`, '']);
  });

  it('caps a huge value and marks the cut', () => {
    const source = headers(traceHeader({ ...base, uidl: 'u'.repeat(5000) }).toString('ascii'))[1]![1];
    const value = /uidl=(\S+)$/.exec(source)![1]!;
    expect(value.length).toBeLessThanOrEqual(256);
    expect(value.endsWith('...')).toBe(true);
  });
});
