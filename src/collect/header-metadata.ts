import { simpleParser } from 'mailparser';
import type { MessageMetadata } from '../ports/index.js';

/**
 * Parses Message-ID, From, Subject and Date out of a message's header block with mailparser.
 * Only the header bytes are given to the parser — never the body — so the cost is bounded by
 * the header capture limit whatever the message size. A block cut short by that limit is
 * trimmed to its last complete line first, so a half header line is not misread.
 *
 * @example
 * ```ts
 * await parseHeaderMetadata(Buffer.from('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\n'));
 * // → { subject: 'Grüße' }
 * ```
 */
export async function parseHeaderMetadata(header: Buffer): Promise<MessageMetadata> {
  const lastLineEnd = header.lastIndexOf(0x0a);
  const complete = lastLineEnd === -1 ? Buffer.alloc(0) : header.subarray(0, lastLineEnd + 1);
  const parsed = await simpleParser(complete, {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
  });
  const metadata: MessageMetadata = {};
  if (parsed.messageId) metadata.messageId = parsed.messageId;
  if (parsed.from?.text) metadata.from = parsed.from.text;
  if (parsed.subject !== undefined) metadata.subject = parsed.subject;
  if (parsed.date && hasValidDateHeader(parsed.headerLines)) metadata.date = parsed.date;
  const returnPath = returnPathOf(parsed.headerLines);
  if (returnPath !== undefined) metadata.returnPath = returnPath;
  return metadata;
}

/** The unfolded value of the first header line with this (lower-case) name. */
function rawValue(lines: readonly { key: string; line: string }[], key: string): string | undefined {
  const raw = lines.find((l) => l.key === key)?.line;
  return raw === undefined
    ? undefined
    : raw
        .slice(raw.indexOf(':') + 1)
        .replace(/\r?\n/g, '')
        .trim();
}

/**
 * The envelope sender from the topmost `Return-Path:` (the one the final delivery wrote):
 * `<a@b>` → `a@b`, `<>` → `''` (the null sender of bounces). A host may use it as `MAIL FROM`,
 * so anything that could break out of an SMTP command — a space, a control character or an
 * angle bracket inside the address — makes the value unusable and it is left out.
 */
function returnPathOf(lines: readonly { key: string; line: string }[]): string | undefined {
  const value = rawValue(lines, 'return-path');
  if (value === undefined) return undefined;
  const address = /^<([^<>]*)>/.exec(value)?.[1] ?? value;
  if (address.length > 512 || /[\u0000-\u0020\u007f<>]/.test(address)) return undefined;
  return address;
}

/**
 * mailparser puts the current time in `date` when the Date header does not parse; a host must
 * not mistake that for the message's date, so the raw header is checked the same way.
 */
function hasValidDateHeader(lines: readonly { key: string; line: string }[]): boolean {
  const value = rawValue(lines, 'date');
  return value !== undefined && !Number.isNaN(new Date(value).getTime());
}
