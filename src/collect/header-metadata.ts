import type { MessageMetadata } from '../ports/index.js';

/**
 * Reads Message-ID, From, Subject, Date and Return-Path out of a message's header block. Only
 * the header bytes are read — never the body — and only when a host asks for the metadata, so
 * the cost is bounded by the header capture limit whatever the message size, and nothing is
 * parsed for hosts that never ask. No MIME parser is involved: the five fields need unfolding,
 * RFC 2047 encoded words (decoded with the runtime's `TextDecoder`, which knows the charsets
 * mail uses) and, for raw 8-bit header bytes, UTF-8 with a Latin-1 fallback. A block cut short
 * by the capture limit is trimmed to its last complete line first, so a half line is not misread.
 *
 * @example
 * ```ts
 * await parseHeaderMetadata(Buffer.from('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\n'));
 * // → { subject: 'Grüße' }
 * ```
 */
export async function parseHeaderMetadata(header: Buffer): Promise<MessageMetadata> {
  const fields = headerFields(header);
  const metadata: MessageMetadata = {};
  const messageId = fields.get('message-id');
  if (messageId) metadata.messageId = normalizeMessageId(messageId);
  const from = fields.get('from');
  if (from) metadata.from = formatAddresses(from);
  const subject = fields.get('subject');
  if (subject !== undefined) metadata.subject = decodeEncodedWords(subject);
  const date = fields.get('date');
  if (date !== undefined) {
    const parsed = new Date(date);
    // A Date header that does not parse is left out, never replaced by "now".
    if (!Number.isNaN(parsed.getTime())) metadata.date = parsed;
  }
  const returnPath = returnPathOf(fields.get('return-path'));
  if (returnPath !== undefined) metadata.returnPath = returnPath;
  return metadata;
}

/** The first (topmost) value of each field, unfolded and trimmed, by lower-case name. */
function headerFields(header: Buffer): Map<string, string> {
  const lastLineEnd = header.lastIndexOf(0x0a);
  const text = lastLineEnd === -1 ? '' : headerText(header.subarray(0, lastLineEnd + 1));
  const fields = new Map<string, string>();
  let name: string | undefined;
  let value = '';
  const finish = () => {
    if (name !== undefined && !fields.has(name)) fields.set(name, value.trim());
    name = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line === '') {
      finish();
      break; // the empty line ends the header block
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (name !== undefined) value += line; // folded: the line break goes, the whitespace stays
      continue;
    }
    finish();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  finish();
  return fields;
}

/** Header bytes as text: UTF-8 where they are valid UTF-8 (RFC 6532), else Latin-1 (one char per byte). */
function headerText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

/**
 * Decodes RFC 2047 encoded words. Whitespace between two encoded words is dropped (RFC 2047
 * §6.2), and adjacent words in the same charset are decoded together, so a multi-byte character
 * split across two words comes out whole. An unknown charset is read as Latin-1.
 */
export function decodeEncodedWords(value: string): string {
  let out = '';
  let last = 0;
  let run: { charset: string; bytes: Buffer[] } | undefined;
  const flush = () => {
    if (run) out += decodeBytes(Buffer.concat(run.bytes), run.charset);
    run = undefined;
  };
  for (const match of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, match.index);
    if (!(run && /^[ \t]*$/.test(between))) {
      flush();
      out += between;
    }
    const charset = match[1]!.split('*')[0]!.toLowerCase(); // RFC 2231 language suffix
    const bytes = match[2]!.toUpperCase() === 'B' ? Buffer.from(match[3]!, 'base64') : qDecode(match[3]!);
    if (run && run.charset !== charset) flush();
    run ??= { charset, bytes: [] };
    run.bytes.push(bytes);
    last = match.index + match[0].length;
  }
  flush();
  return out + value.slice(last);
}

function qDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '_') bytes.push(0x20);
    else if (char === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(char.charCodeAt(0) & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/**
 * An address list as `"Display Name" <address>` items joined by `, ` (the shape hosts got from
 * mailparser's `from.text` before): display names decoded and quoted, bare addresses as they are.
 */
function formatAddresses(value: string): string {
  return splitAddresses(value)
    .map((item) => {
      const angle = /^(.*?)<([^<>]*)>\s*$/s.exec(item);
      if (!angle) return decodeEncodedWords(item.trim());
      const raw = angle[1]!.trim();
      const unquoted = /^"(.*)"$/s.exec(raw)?.[1]?.replace(/\\(.)/g, '$1') ?? raw;
      const name = decodeEncodedWords(unquoted).trim();
      const address = angle[2]!.trim();
      return name === '' ? address : `"${name.replace(/(["\\])/g, '\\$1')}" <${address}>`;
    })
    .filter((item) => item !== '')
    .join(', ');
}

/** Splits on the commas that are outside quotes and angle brackets. */
function splitAddresses(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let angled = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char === '\\' && quoted) {
      current += char + (value[++i] ?? '');
      continue;
    }
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === '<') angled = true;
    else if (!quoted && char === '>') angled = false;
    else if (char === ',' && !quoted && !angled) {
      items.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  items.push(current);
  return items;
}

/** `<id@host>` as written; a bare id gets its angle brackets. */
function normalizeMessageId(value: string): string {
  const bracketed = /<[^<>\s]*>/.exec(value)?.[0];
  if (bracketed) return bracketed;
  const bare = value.split(/\s+/)[0]!;
  return `<${bare}>`;
}

/**
 * The envelope sender from the topmost `Return-Path:` (the one the final delivery wrote):
 * `<a@b>` → `a@b`, `<>` → `''` (the null sender of bounces). A host may use it as `MAIL FROM`,
 * so anything that could break out of an SMTP command — a space, a control character or an
 * angle bracket inside the address — makes the value unusable and it is left out.
 */
function returnPathOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const address = /^<([^<>]*)>/.exec(value)?.[1] ?? value;
  if (address.length > 512 || /[\u0000-\u0020\u007f<>]/.test(address)) return undefined;
  return address;
}
