import { randomBytes } from 'node:crypto';

const CRLF = '\r\n';

function headers(n: number, subject: string, extra: string[] = []): string {
  return [
    `Return-Path: <news${n}@example.org>`,
    `Message-ID: <demo-${n}@example.org>`,
    `Date: ${new Date(Date.UTC(2026, 10, 1, 8, n % 60)).toUTCString().replace('GMT', '+0000')}`,
    `From: Demo Sender ${n} <news${n}@example.org>`,
    'To: demo@example.com',
    `Subject: ${subject}`,
    'MIME-Version: 1.0',
    ...extra,
  ].join(CRLF);
}

/**
 * The demo mailbox: everyday mail plus the cases that break naive collectors — 8-bit Latin-1
 * text, UTF-8, lines starting with a dot, a header line longer than 78 characters, and one large
 * message with an attachment (`largeBytes`).
 */
export function demoMessages(count = 40, largeBytes = 8 * 1024 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let n = 1; n <= count; n++) {
    switch (n % 4) {
      case 0:
        out.push(
          Buffer.from(
            `${headers(n, `Grüße aus Köln (${n})`, ['Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: 8bit'])}${CRLF}${CRLF}` +
              `Schöne Grüße, bis bald!${CRLF}Straße, Größe, Übermut.${CRLF}`,
            'latin1',
          ),
        );
        break;
      case 1:
        out.push(
          Buffer.from(
            `${headers(n, `Weekly report ${n}`, ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', `X-Long-Header: ${'a-very-long-token '.repeat(8).trim()}`])}${CRLF}${CRLF}` +
              `Numbers are up ✓ — 日本語 — 🚀${CRLF}.${CRLF}..this line starts with two dots${CRLF}.and this one with one${CRLF}`,
            'utf8',
          ),
        );
        break;
      case 2:
        out.push(
          Buffer.from(
            `${headers(n, `Your invoice #${1000 + n}`, ['Content-Type: text/html; charset=us-ascii'])}${CRLF}${CRLF}` +
              `<html><body><p>Invoice ${1000 + n}</p><p>Total: ${n * 7}.00 EUR</p></body></html>${CRLF}`,
            'latin1',
          ),
        );
        break;
      default:
        out.push(
          Buffer.from(
            `${headers(n, `Lunch on day ${n}?`, ['Content-Type: text/plain'])}${CRLF}${CRLF}Noon at the usual place?${CRLF}`,
            'latin1',
          ),
        );
    }
  }
  out.push(largeMessage(count + 1, largeBytes));
  return out;
}

function largeMessage(n: number, bytes: number): Buffer {
  const boundary = 'demo-boundary-1';
  const raw = randomBytes(Math.floor((bytes * 3) / 4));
  const base64 = raw.toString('base64').replace(/.{76}/g, `$&${CRLF}`);
  return Buffer.from(
    `${headers(n, 'Holiday photos (large attachment)', [`Content-Type: multipart/mixed; boundary="${boundary}"`])}${CRLF}${CRLF}` +
      `--${boundary}${CRLF}Content-Type: text/plain${CRLF}${CRLF}The photos are attached.${CRLF}` +
      `--${boundary}${CRLF}Content-Type: application/octet-stream; name="photos.bin"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}` +
      `${base64}${CRLF}--${boundary}--${CRLF}`,
    'latin1',
  );
}
