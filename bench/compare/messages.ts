/**
 * Deterministic test mail for the benchmark: the same seed gives the same bytes on every run.
 *
 * Every message is what a real mailbox throws at a collector and what breaks naive ones:
 * CRLF lines, 8-bit bytes (ISO-8859-1 text declared `8bit`), body lines that start with a dot
 * (so the server dot-stuffs them), lines that are just "." or "..", a `From ` line, unfolded
 * header lines far longer than 78 characters and a folded one. Each carries a unique
 * `Message-ID` so the correctness check can recognise it whatever a tool prepends.
 */
import { createPrng, type Prng } from './prng.js';

/** How big the generated messages are. */
export type SizeProfile =
  /** Mostly 2–20 KB, about 8 % around 100 KB: ~17 KB on average (2,000 messages ≈ 35 MB). */
  | 'mixed'
  /** 1–4 KB: a large backlog left on the server, where only the count matters. */
  | 'small'
  /** Exactly this many bytes (± one line). */
  | { bytes: number };

/** What {@link generateMessages} should produce. */
export interface MessageSetSpec {
  /** Distinguishes sets: part of every Message-ID, so two sets never share one. */
  tag: string;
  count: number;
  size: SizeProfile;
  seed: number;
}

/**
 * Generates `count` messages. Deterministic for a given spec.
 *
 * @example
 * ```ts
 * const messages = generateMessages({ tag: 's1-r0', count: 2_000, size: 'mixed', seed: 1 });
 * ```
 */
export function generateMessages(spec: MessageSetSpec): Buffer[] {
  const rng = createPrng(spec.seed);
  const out: Buffer[] = [];
  for (let i = 0; i < spec.count; i++)
    out.push(generateMessage(rng, spec.tag, i, targetSize(rng, spec.size)));
  return out;
}

/**
 * The Message-ID (without angle brackets) of message `index` of the set tagged `tag`.
 *
 * @example
 * ```ts
 * messageId('s1-r0', 7); // 's1-r0.7@bench.multipop.invalid'
 * ```
 */
export function messageId(tag: string, index: number): string {
  return `${tag}.${index}@bench.multipop.invalid`;
}

function targetSize(rng: Prng, size: SizeProfile): number {
  if (typeof size === 'object') return size.bytes;
  if (size === 'small') return rng.int(1_000, 4_000);
  return rng.chance(0.08) ? rng.int(90_000, 110_000) : rng.int(2_000, 20_000);
}

const WORDS = (
  'the of and to in is was that for on are with as be at by this had not but from or have an they which ' +
  'one you were all her she there would their we him been has when who will more no if out so said what up ' +
  'its about into than them can only other new some could time these two may then do first any my now such ' +
  'like our over man me even most made after also did many before must through back years where much your ' +
  'way well down should because each just those people how too little state good very make world still own ' +
  'see men work long get here between both life being under never day same another know while last might us ' +
  'great old year off come since against go came right used take three mailbox collector delivery pipeline'
)
  .split(' ')
  .map((word) => Buffer.from(word, 'latin1'));

// Latin-1 letters (é, ü, ß, …) plus a few bytes that are invalid as UTF-8 on their own.
const HIGH_BYTES = [0xe9, 0xe8, 0xfc, 0xf6, 0xe4, 0xdf, 0xe7, 0xc9, 0xa9, 0xb0, 0x80, 0x9f, 0xff, 0xa0];

function generateMessage(rng: Prng, tag: string, index: number, size: number): Buffer {
  const header = Buffer.from(headerText(rng, tag, index), 'latin1');
  const body = Buffer.allocUnsafe(Math.max(size - header.length, 0) + 1_100);
  let at = 0;
  const bodyTarget = Math.max(size - header.length, 2);
  while (at < bodyTarget) at = writeBodyLine(rng, body, at);
  return Buffer.concat([header, body.subarray(0, at)]);
}

function headerText(rng: Prng, tag: string, index: number): string {
  const day = 1 + (index % 28);
  const seconds = index % 60;
  const subjectWords = rng.chance(0.3) ? rng.int(16, 30) : rng.int(3, 8);
  const lines = [
    `From: Bench Sender ${index % 97} <sender${index % 97}@example.org>`,
    'To: Bench Recipient <recipient@example.net>',
    `Subject: ${words(rng, subjectWords)}`,
    `Date: Mon, ${day} Sep 2025 10:${String(index % 60).padStart(2, '0')}:${String(seconds).padStart(2, '0')} +0200`,
    `Message-ID: <${messageId(tag, index)}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=ISO-8859-1',
    'Content-Transfer-Encoding: 8bit',
    // One unfolded header line well past 78 characters (RFC 5322 allows up to 998).
    `X-Bench-Trace: ${words(rng, rng.int(30, 60))}`,
    // And a folded one, which must survive with its line breaks where they were.
    `X-Bench-Folded: ${words(rng, 6)}\r\n\t${words(rng, 6)}\r\n ${words(rng, 4)}`,
    '',
    '',
  ];
  return lines.join('\r\n');
}

function words(rng: Prng, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++)
    out.push((WORDS[rng.int(0, WORDS.length - 1)] as Buffer).toString('latin1'));
  return out.join(' ');
}

const CRLF = [0x0d, 0x0a];

/** Writes one CRLF-terminated body line at `at`; returns the new end. Lines stay under 1,000 bytes. */
function writeBodyLine(rng: Prng, body: Buffer, at: number): number {
  const kind = rng.next();
  if (kind < 0.005) return put(body, at, [0x2e, ...CRLF]); // "." alone: stuffed to ".." on the wire
  if (kind < 0.01) return put(body, at, [0x2e, 0x2e, ...CRLF]); // ".."
  if (kind < 0.02) return put(body, at, CRLF); // empty line
  if (kind < 0.03)
    at = put(body, at, [0x46, 0x72, 0x6f, 0x6d, 0x20]); // "From " (mbox would mangle it)
  else if (kind < 0.06) at = put(body, at, [0x2e]); // a line that starts with "."
  const length = rng.chance(0.02) ? rng.int(200, 990) : rng.int(20, 76);
  const eightBit = rng.chance(0.2);
  const end = at + length;
  while (at < end) {
    if (eightBit && rng.chance(0.08)) {
      body[at++] = HIGH_BYTES[rng.int(0, HIGH_BYTES.length - 1)] as number;
      continue;
    }
    const word = WORDS[rng.int(0, WORDS.length - 1)] as Buffer;
    const room = end - at;
    if (word.length + 1 > room) {
      body.fill(0x78, at, end); // pad with "x" to the exact length
      at = end;
      break;
    }
    at += word.copy(body, at);
    body[at++] = 0x20;
  }
  return put(body, at, CRLF);
}

function put(body: Buffer, at: number, bytes: number[]): number {
  for (const byte of bytes) body[at++] = byte;
  return at;
}
