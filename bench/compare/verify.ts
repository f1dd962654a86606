/**
 * The correctness column: compares what a contender left in a Maildir with the messages that
 * were seeded on the server.
 *
 * Each file is matched to its original by the unique Message-ID. A delivery counts as
 *   - exact    when the file is the original bytes, preceded only by whole header lines the
 *              tool added (fetchmail's `Received:`, getmail's `Return-Path:`/`Delivered-To:`/
 *              `Received:`, multipop's `Received:`/`X-MultiPOP-Source:`),
 *   - lf       the same, but every CRLF stored as LF — the Unix Maildir convention that
 *              Dovecot's LDA and getmail follow; no other byte differs,
 *   - altered  anything else (a byte changed, lost or added inside the message).
 * A Message-ID seen twice is a duplicate; a file without a known Message-ID is altered. A
 * message not in the Maildir is "not collected" while it is still on the server (the tool
 * stopped early, or left it there), and lost when it is gone from both.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The tally for one run. */
export interface Verdict {
  expected: number;
  exact: number;
  lf: number;
  altered: number;
  lost: number;
  /** Not in the Maildir but still on the server. */
  notCollected: number;
  duplicated: number;
  /** Incremental runs: messages from before (already in the tool's state) fetched again. */
  refetched: number;
  /** Names of the header fields the tool put in front of the original message. */
  addedHeaders: string[];
  /** Altered messages by the kind of their first difference (see {@link classifyDifference}). */
  alterations: Record<string, number>;
  /** One example of an alteration, for the notes under the table. */
  example?: string;
}

/** Seeded messages by Message-ID (without angle brackets). */
export type ExpectedMessages = Map<string, Buffer>;

/**
 * Builds the lookup of seeded messages.
 *
 * @example
 * ```ts
 * const expected = expectedById(messages);
 * ```
 */
export function expectedById(messages: readonly Buffer[]): ExpectedMessages {
  const map: ExpectedMessages = new Map();
  for (const message of messages) {
    const id = findMessageId(message);
    if (!id) throw new Error('a seeded message has no Message-ID');
    map.set(id, message);
  }
  return map;
}

/**
 * Checks every message file in `maildir` (`new/` and `cur/`) against `expected`.
 *
 * @example
 * ```ts
 * const verdict = await verifyMaildir('/tmp/run/Maildir', expectedById(seeded), new Set());
 * ```
 */
export async function verifyMaildir(
  maildir: string,
  expected: ExpectedMessages,
  stillOnServer: ReadonlySet<string>,
  /** Incremental runs: ids the tool collected before and must not fetch again. */
  collectedBefore: ReadonlySet<string> = new Set(),
): Promise<Verdict> {
  const verdict: Verdict = {
    expected: expected.size,
    exact: 0,
    lf: 0,
    altered: 0,
    lost: 0,
    notCollected: 0,
    duplicated: 0,
    refetched: 0,
    addedHeaders: [],
    alterations: {},
  };
  const added = new Set<string>();
  const seen = new Set<string>();
  for (const path of await messageFiles(maildir)) {
    const file = await readFile(path);
    const id = findMessageId(file);
    const original = id === undefined ? undefined : expected.get(id);
    if (id !== undefined && original === undefined && collectedBefore.has(id)) {
      verdict.refetched++;
      continue;
    }
    if (id === undefined || original === undefined) {
      verdict.altered++;
      count(verdict.alterations, 'no seeded Message-ID');
      verdict.example ??= `a file with no seeded Message-ID (${file.length} bytes): ${JSON.stringify(file.subarray(0, 60).toString('latin1'))}`;
      continue;
    }
    if (seen.has(id)) {
      verdict.duplicated++;
      continue;
    }
    seen.add(id);
    const exactPrefix = prependedHeaders(file, original);
    const prefix = exactPrefix ?? prependedHeaders(file, toLf(original));
    if (prefix === undefined) {
      const difference = classifyDifference(file, original);
      // Still worth knowing what the tool put in front of the message.
      const start = file.indexOf(firstLine(original));
      for (const name of start > 0 ? (headerNames(file.subarray(0, start)) ?? []) : []) added.add(name);
      verdict.altered++;
      count(verdict.alterations, difference.kind);
      verdict.example ??= difference.detail;
      continue;
    }
    for (const name of prefix) added.add(name);
    if (exactPrefix) verdict.exact++;
    else verdict.lf++;
  }
  for (const id of expected.keys()) {
    if (seen.has(id)) continue;
    if (stillOnServer.has(id)) verdict.notCollected++;
    else verdict.lost++;
  }
  verdict.addedHeaders = [...added].sort();
  return verdict;
}

/**
 * Adds up the verdicts of several mailboxes.
 *
 * @example
 * ```ts
 * const total = sumVerdicts([a, b]);
 * ```
 */
export function sumVerdicts(verdicts: readonly Verdict[]): Verdict {
  const total: Verdict = {
    expected: 0,
    exact: 0,
    lf: 0,
    altered: 0,
    lost: 0,
    notCollected: 0,
    duplicated: 0,
    refetched: 0,
    addedHeaders: [],
    alterations: {},
  };
  const added = new Set<string>();
  for (const v of verdicts) {
    total.refetched += v.refetched;
    total.expected += v.expected;
    total.exact += v.exact;
    total.lf += v.lf;
    total.altered += v.altered;
    total.lost += v.lost;
    total.notCollected += v.notCollected;
    total.duplicated += v.duplicated;
    for (const name of v.addedHeaders) added.add(name);
    for (const [kind, n] of Object.entries(v.alterations)) count(total.alterations, kind, n);
    total.example ??= v.example;
  }
  total.addedHeaders = [...added].sort();
  return total;
}

async function messageFiles(maildir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(maildir, sub)).catch(() => [] as string[]);
    for (const name of names) if (!name.startsWith('.')) paths.push(join(maildir, sub, name));
  }
  return paths;
}

/**
 * The Message-ID in the header section (first 64 KiB), case-insensitive on the field name.
 *
 * @example
 * ```ts
 * findMessageId(Buffer.from('Message-ID: <a@b>\r\n\r\nhi\r\n')); // 'a@b'
 * ```
 */
export function findMessageId(message: Buffer): string | undefined {
  const head = message.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  return /(?:^|\n)message-id:[ \t]*<([^>\r\n]+)>/i.exec(end < 0 ? head : head.slice(0, end))?.[1];
}

/** How many bytes stand in front of `original` when `file` ends with it; -1 otherwise. */
function prefixLength(file: Buffer, original: Buffer): number {
  if (file.length < original.length) return -1;
  const at = file.length - original.length;
  return file.subarray(at).equals(original) ? at : -1;
}

/**
 * When `file` is some header lines followed by exactly `original`, the names of those header
 * fields; otherwise undefined.
 */
function prependedHeaders(file: Buffer, original: Buffer): string[] | undefined {
  const at = prefixLength(file, original);
  return at < 0 ? undefined : headerNames(file.subarray(0, at));
}

/** The field names when `prefix` is nothing but whole header lines; otherwise undefined. */
function headerNames(prefix: Buffer): string[] | undefined {
  const text = prefix.toString('latin1');
  if (text === '') return [];
  if (!text.endsWith('\n')) return undefined;
  const names: string[] = [];
  for (const line of text.replace(/\r?\n$/, '').split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && names.length > 0) continue; // folded continuation
    const name = /^([!-9;-~]+):/.exec(line)?.[1];
    if (!name) return undefined;
    names.push(name);
  }
  return names;
}

function toLf(message: Buffer): Buffer {
  return Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

/** True when `bytes` has only dots (at least one) from the start of its line up to `end`. */
function startsWithDots(bytes: Buffer, end: number): boolean {
  let j = end - 1;
  while (j >= 0 && bytes[j] === 0x2e) j--;
  return j < end - 1 && (j < 0 || bytes[j] === 0x0a);
}

/** The original's first line without its line end (CRLF or LF): where a stored copy starts. */
function firstLine(original: Buffer): Buffer {
  const lf = original.indexOf(0x0a);
  if (lf < 0) return original;
  return original.subarray(0, lf > 0 && original[lf - 1] === 0x0d ? lf - 1 : lf);
}

function count(tally: Record<string, number>, kind: string, n = 1): void {
  tally[kind] = (tally[kind] ?? 0) + n;
}

/**
 * Where and how `file` first differs from `original`: the kind (refolded header line, 8-bit
 * bytes replaced, dot-stuffing left in, truncated, other) and a short printable account.
 *
 * @example
 * ```ts
 * classifyDifference(Buffer.from('a\r\n..b\r\n'), Buffer.from('a\r\n.b\r\n')).kind; // 'dot-stuffing left in'
 * ```
 */
export function classifyDifference(file: Buffer, original: Buffer): { kind: string; detail: string } {
  // Align on the start of the original (tools put their lines before it).
  const start = file.indexOf(firstLine(original));
  if (start < 0) {
    return {
      kind: 'other',
      detail: `message start not found (${file.length} bytes stored, ${original.length} sent)`,
    };
  }
  const sent = file.indexOf('\r\n', start) < 0 && original.includes('\r\n') ? toLf(original) : original;
  const stored = file.subarray(start);
  let i = 0;
  while (i < stored.length && i < sent.length && stored[i] === sent[i]) i++;
  const show = (b: Buffer) => JSON.stringify(b.subarray(Math.max(0, i - 12), i + 12).toString('latin1'));
  const sizes = `${stored.length} bytes stored, ${sent.length} sent`;
  if (i >= stored.length) return { kind: 'truncated', detail: `stored copy ends at byte ${i} (${sizes})` };
  const detail = `byte ${i}: sent ${show(sent)}, stored ${show(stored)} (${sizes})`;
  let kind = 'other';
  if ((stored[i] === 0x0a || stored[i] === 0x0d) && (sent[i] === 0x20 || sent[i] === 0x09))
    kind = 'long header line refolded';
  else if (stored[i] === 0xef && stored[i + 1] === 0xbf && stored[i + 2] === 0xbd)
    kind = '8-bit bytes replaced by U+FFFD';
  else if (stored[i] === 0x2e && startsWithDots(sent, i)) kind = 'dot-stuffing left in';
  return { kind, detail };
}
