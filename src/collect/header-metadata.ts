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
  return metadata;
}

/**
 * mailparser puts the current time in `date` when the Date header does not parse; a host must
 * not mistake that for the message's date, so the raw header is checked the same way.
 */
function hasValidDateHeader(lines: readonly { key: string; line: string }[]): boolean {
  const raw = lines.find((l) => l.key === 'date')?.line;
  if (raw === undefined) return false;
  const value = raw
    .slice(raw.indexOf(':') + 1)
    .replace(/\r?\n/g, '')
    .trim();
  return !Number.isNaN(new Date(value).getTime());
}
