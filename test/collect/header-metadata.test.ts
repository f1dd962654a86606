import { describe, expect, it } from 'vitest';
import { parseHeaderMetadata } from '../../src/collect/header-metadata.js';

const parse = (text: string) => parseHeaderMetadata(Buffer.from(text, 'utf8'));

describe('parseHeaderMetadata', () => {
  it('reads Message-ID, From, Subject (decoded), Date and Return-Path', async () => {
    const meta = await parse(
      'Return-Path: <bounce+1@lists.example.org>\r\n' +
        'From: "Ann Example" <ann@example.com>\r\n' +
        'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n' +
        'Message-ID: <abc@example.com>\r\n' +
        'Date: Tue, 3 Mar 2026 10:00:00 +0100\r\n\r\n',
    );
    expect(meta).toEqual({
      returnPath: 'bounce+1@lists.example.org',
      from: '"Ann Example" <ann@example.com>',
      subject: 'Grüße',
      messageId: '<abc@example.com>',
      date: new Date('2026-03-03T09:00:00Z'),
    });
  });

  it('leaves out what is absent, and a Date that does not parse (mailparser would say "now")', async () => {
    expect(await parse('Subject: hi\r\nDate: not a date\r\n\r\n')).toEqual({ subject: 'hi' });
    expect(await parse('')).toEqual({});
  });

  it('gives the null sender as an empty return path', async () => {
    expect((await parse('Return-Path: <>\r\n\r\n')).returnPath).toBe('');
  });

  it('drops a Return-Path that could break out of an SMTP command', async () => {
    expect((await parse('Return-Path: <a@b> \r\n\r\n')).returnPath).toBe('a@b');
    expect((await parse('Return-Path: <a b@c>\r\n\r\n')).returnPath).toBeUndefined();
    expect((await parse('Return-Path: a@b>\r\n\r\n')).returnPath).toBeUndefined();
  });

  it('takes the topmost Return-Path', async () => {
    expect((await parse('Return-Path: <new@x>\r\nReturn-Path: <old@x>\r\n\r\n')).returnPath).toBe('new@x');
  });

  it('ignores a header line cut off by the capture limit', async () => {
    const meta = await parse('Subject: whole\r\nFrom: Ann <ann@exa');
    expect(meta).toEqual({ subject: 'whole' });
  });

  it('decodes encoded words: B and Q, several charsets, a character split across two words, folding', async () => {
    const meta = await parseHeaderMetadata(
      Buffer.from(
        'Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus?= =?UTF-8?B?S8O2bG4=?=\r\n' +
          ' und =?utf-8?q?=E2=82?=\r\n =?utf-8?q?=AC?= 5\r\n' +
          'From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.de>\r\n\r\n',
        'latin1',
      ),
    );
    expect(meta.subject).toBe('Grüße ausKöln und € 5');
    expect(meta.from).toBe('"Jürgen" <j@example.de>');
    expect((await parse('From: ann@x, "B, C" <b@y>, <c@z>\r\n\r\n')).from).toBe('ann@x, "B, C" <b@y>, c@z');
  });

  it('reads raw 8-bit header bytes as UTF-8, or as Latin-1 where they are not UTF-8', async () => {
    expect((await parseHeaderMetadata(Buffer.from('Subject: Grüße\r\n\r\n', 'utf8'))).subject).toBe('Grüße');
    expect((await parseHeaderMetadata(Buffer.from('Subject: Gr\xfc\xdfe\r\n\r\n', 'latin1'))).subject).toBe(
      'Grüße',
    );
  });

  it('gives a bare Message-ID its angle brackets, reads only the header block, takes the first field', async () => {
    const meta = await parse('Message-ID: abc@x\r\nSubject: one\r\nSubject: two\r\n\r\nSubject: body\r\n');
    expect(meta).toEqual({ messageId: '<abc@x>', subject: 'one' });
  });
});
