import { createHash } from 'node:crypto';

/** A deterministic PRNG (mulberry32) so generated mail is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A realistic test message (CRLF line ends) with the traps a POP3 client must survive:
 * lines starting with "." and "..", 8-bit Latin-1 bytes, a header line longer than 78
 * characters (getmail re-folds those), and a unique `X-Test-Seq` header to find it again.
 */
export function testMessage(seq: number, bodyBytes = 2_000, random = seededRandom(seq + 1)): Buffer {
  const head = Buffer.from(
    [
      `Message-ID: <seq-${seq}@multipop.test>`,
      `From: Sender ${seq} <sender${seq}@example.net>`,
      'To: ann@example.com',
      `Subject: Test message ${seq} with a long subject line that goes well beyond seventy-eight characters in total`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0000',
      `X-Test-Seq: ${seq}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=ISO-8859-1',
      'Content-Transfer-Encoding: 8bit',
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
  const lines: Buffer[] = [
    Buffer.from('.\r\n..x leading dots\r\n', 'latin1'),
    Buffer.from('Gr\xfc\xdfe aus K\xf6ln\r\n', 'latin1'),
  ];
  let size = head.length + lines.reduce((n, b) => n + b.length, 0);
  while (size < bodyBytes) {
    const len = 20 + Math.floor(random() * 60);
    let line = '';
    for (let i = 0; i < len; i++) line += String.fromCharCode(32 + Math.floor(random() * 95));
    if (random() < 0.05) line = `.${line}`;
    const b = Buffer.from(`${line}\r\n`, 'latin1');
    lines.push(b);
    size += b.length;
  }
  return Buffer.concat([head, ...lines]);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The `X-Test-Seq` of a delivered message (whatever headers were added before it). */
export function seqOf(delivered: Buffer): number | undefined {
  const match = /\r\nX-Test-Seq: (\d+)\r\n/.exec(delivered.toString('latin1'));
  return match ? Number(match[1]) : undefined;
}
