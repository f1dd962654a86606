/**
 * Hostile input for the parsers that read what a server says outside message bodies: CAPA
 * lines, status lines (with response codes), SASL challenges and the APOP greeting. 10,000
 * random cases each: no exception other than our typed errors, and results stay bounded by the
 * input (no growth from nothing).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apopTimestamp } from '../../src/pop3/apop.js';
import { parseCapabilities } from '../../src/pop3/capabilities.js';
import { errorCodeForResponse, parseStatus } from '../../src/pop3/response.js';
import { decodeChallenge } from '../../src/pop3/sasl.js';

const RUNS = 10_000;
/** Lines as a server could send them: any byte but CR and LF, decoded as latin1. */
const line = fc
  .uint8Array({ maxLength: 300 })
  .map((bytes) => Buffer.from(bytes.filter((b) => b !== 13 && b !== 10)).toString('latin1'));
const likely = fc.oneof(
  line,
  fc
    .constantFrom(
      '+OK',
      '-ERR',
      '+ ',
      '+',
      '-ERR [',
      '-ERR [IN-USE',
      'SASL',
      'LOGIN-DELAY',
      'EXPIRE NEVER',
      'EXPIRE -1',
    )
    .chain((p) => line.map((rest) => p + rest)),
);

describe('parser fuzzing (fast-check, 10,000 cases each)', () => {
  it('parseCapabilities takes any lines', () => {
    fc.assert(
      fc.property(fc.array(likely, { maxLength: 40 }), (lines) => {
        const caps = parseCapabilities(lines);
        expect(caps.raw.length).toBeLessThanOrEqual(lines.length);
        expect(caps.sasl.length).toBeLessThanOrEqual(lines.join(' ').length);
        if (caps.loginDelay !== undefined) expect(caps.loginDelay).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('parseStatus and the response-code mapping take any line', () => {
    fc.assert(
      fc.property(likely, fc.boolean(), (text, auth) => {
        const status = parseStatus(text);
        if (status === undefined) return;
        expect(text.length).toBeGreaterThan(0);
        expect(text.startsWith(status.ok ? '+OK' : '-ERR')).toBe(true);
        expect(status.text.length).toBeLessThanOrEqual(text.length);
        if (status.code !== undefined) expect(text.toUpperCase()).toContain(`[${status.code}]`);
        expect(typeof errorCodeForResponse(status.code, auth)).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });

  it('decodeChallenge takes any payload, base64 or not', () => {
    const payload = fc.oneof(
      line,
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64')),
    );
    fc.assert(
      fc.property(payload, (p) => {
        const challenge = decodeChallenge(p);
        expect(typeof challenge.text).toBe('string');
        expect(challenge.text.length).toBeLessThanOrEqual(Math.max(p.length, 1) * 3);
        if (challenge.json !== undefined) expect(typeof challenge.json).toBe('object');
      }),
      { numRuns: RUNS },
    );
  });

  it('apopTimestamp takes any greeting', () => {
    fc.assert(
      fc.property(likely, (greeting) => {
        const ts = apopTimestamp(greeting);
        if (ts !== undefined) {
          expect(greeting).toContain(ts);
          expect(ts.startsWith('<') && ts.endsWith('>')).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
