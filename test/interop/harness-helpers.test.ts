import { describe, expect, it } from 'vitest';
import { crlfToLf, lfToCrlf } from '../helpers/servers/line-endings.js';
import { splitMbox } from '../helpers/servers/popa3d.js';
import { checkUsers } from '../helpers/servers/users.js';

describe('line ends of servers that store LF', () => {
  it('round-trips CRLF text with 8-bit bytes and dot lines', () => {
    const message = Buffer.concat([
      Buffer.from('Subject: x\r\n\r\n.\r\n..a\r\n'),
      Buffer.from([0xe9, 0xff, 0x0d, 0x0a]),
    ]);
    const stored = crlfToLf(message, 'test');
    expect(stored.includes(0x0d)).toBe(false);
    expect(stored.toString('latin1')).toBe('Subject: x\n\n.\n..a\n\xe9\xff\n');
    expect(lfToCrlf(stored)).toEqual(message);
  });

  it('refuses what cannot come back byte for byte', () => {
    expect(() => crlfToLf(Buffer.from('a\nb\r\n'), 'Courier')).toThrow(/bare LF/);
    expect(() => crlfToLf(Buffer.from('a\rb\r\n'), 'Courier')).toThrow(/bare CR/);
    expect(() => crlfToLf(Buffer.from('a\r\nb'), 'Courier')).toThrow(/end with CRLF/);
  });
});

describe('splitMbox (how popa3d reads its spool)', () => {
  it('splits at From_ lines that follow an empty line, dropping the separator', () => {
    const mbox = Buffer.from(
      'From a Thu Jan  1 00:00:00 2026\nSubject: 1\n\nbody\n>From x\n\n' +
        'From b Thu Jan  1 00:00:00 2026\nSubject: 2\n\nline\n\n\n' +
        'From c Thu Jan  1 00:00:00 2026\nSubject: 3\n\nlast\n\n',
    );
    expect(splitMbox(mbox).map((m) => m.toString())).toEqual([
      'Subject: 1\n\nbody\n>From x\n',
      'Subject: 2\n\nline\n\n',
      'Subject: 3\n\nlast\n',
    ]);
  });

  it('is empty for an empty spool', () => {
    expect(splitMbox(Buffer.alloc(0))).toEqual([]);
  });
});

describe('test user checks', () => {
  it('accepts plain names and refuses what a user database would need to quote', () => {
    expect(() => checkUsers([{ name: 'ann-1', password: 'S3cret!' }], 'x')).not.toThrow();
    expect(() => checkUsers([{ name: 'Ann', password: 'pw' }], 'x')).toThrow(/user name/);
    expect(() => checkUsers([{ name: 'ann', password: 'a:b' }], 'x')).toThrow(/passwords/);
    expect(() => checkUsers([{ name: 'ann', password: 'a b' }], 'x')).toThrow(/passwords/);
    expect(() => checkUsers([], 'x')).toThrow(/at least one/);
    expect(() =>
      checkUsers(
        [
          { name: 'ann', password: 'a' },
          { name: 'ann', password: 'b' },
        ],
        'x',
      ),
    ).toThrow(/twice/);
  });
});
