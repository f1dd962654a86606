import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  classifyDifference,
  expectedById,
  sumVerdicts,
  verifyMaildir,
} from '../../../bench/compare/verify.js';

const msg = (id: string, body: string) =>
  Buffer.from(`Message-ID: <${id}>\r\nSubject: ${id}\r\n\r\n${body}`, 'latin1');

describe('benchmark correctness check', () => {
  let maildir: string;
  let n = 0;
  const put = (bytes: Buffer | string) => writeFile(join(maildir, 'new', `f${n++}`), bytes);

  beforeEach(async () => {
    maildir = await mkdtemp(join(tmpdir(), 'bench-verify-'));
    await mkdir(join(maildir, 'new'));
    await mkdir(join(maildir, 'cur'));
  });
  afterEach(() => rm(maildir, { recursive: true, force: true }));

  it('accepts exact copies and copies behind whole added header lines, and names those headers', async () => {
    const a = msg('a@x', 'hello\r\n..dots stay\r\n');
    const b = msg('b@x', 'caf\xe9\r\n');
    await put(a);
    await put(Buffer.concat([Buffer.from('Received: from x\r\n\tby y; now\r\nX-MultiPOP-Source: m\r\n'), b]));
    const v = await verifyMaildir(maildir, expectedById([a, b]), new Set());
    expect(v).toMatchObject({ exact: 2, lf: 0, altered: 0, lost: 0, duplicated: 0 });
    expect(v.addedHeaders).toEqual(['Received', 'X-MultiPOP-Source']);
  });

  it('counts LF-only storage separately from alterations', async () => {
    const a = msg('a@x', 'line one\r\nline two\r\n');
    await put(
      Buffer.from(`Received: by fetchmail\n${a.toString('latin1').replace(/\r\n/g, '\n')}`, 'latin1'),
    );
    const v = await verifyMaildir(maildir, expectedById([a]), new Set());
    expect(v).toMatchObject({ exact: 0, lf: 1, altered: 0 });
  });

  it('tells lost from not collected, and finds duplicates and strangers', async () => {
    const [a, b, c] = [msg('a@x', '1\r\n'), msg('b@x', '2\r\n'), msg('c@x', '3\r\n')];
    await put(a);
    await put(a);
    await put('Subject: who am I\r\n\r\n?\r\n');
    const v = await verifyMaildir(maildir, expectedById([a, b, c]), new Set(['c@x']));
    expect(v).toMatchObject({ exact: 1, duplicated: 1, lost: 1, notCollected: 1, altered: 1 });
    expect(v.alterations).toEqual({ 'no seeded Message-ID': 1 });
    const total = sumVerdicts([v, v]);
    expect(total).toMatchObject({
      expected: 6,
      exact: 2,
      duplicated: 2,
      lost: 2,
      notCollected: 2,
      altered: 2,
    });
    expect(total.alterations).toEqual({ 'no seeded Message-ID': 2 });
  });

  it('names the usual ways mail gets damaged', () => {
    const sent = msg('a@x', 'x\r\n.dot\r\ncaf\xe9\r\n..\r\n');
    const kind = (stored: string) => classifyDifference(Buffer.from(stored, 'latin1'), sent).kind;
    const text = sent.toString('latin1');
    expect(kind(text.replace('\r\n.dot', '\r\n..dot'))).toBe('dot-stuffing left in');
    expect(kind(text.replace('\r\n..\r\n', '\r\n...\r\n'))).toBe('dot-stuffing left in');
    expect(kind(text.replace('\xe9', '\xef\xbf\xbd'))).toBe('8-bit bytes replaced by U+FFFD');
    expect(kind(text.replace('Subject: a@x', 'Subject:\r\n a@x'))).toBe('long header line refolded');
    expect(kind(text.slice(0, -4))).toBe('truncated');
  });
});
