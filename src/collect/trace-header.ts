/** What the trace header records about where a message came from. No secret goes in. */
export interface TraceHeaderInput {
  /** The mailbox entry id. */
  mailboxId: string;
  /** The remote POP3 server. */
  host: string;
  port: number;
  /** The remote logon name (not a secret; it names the remote mailbox together with the host). */
  username: string;
  /** The remote UIDL (or fallback id). */
  uidl: string;
  /** The local recipient. */
  recipient: string;
  /** When the message was collected (ms since the epoch, or a Date). */
  at: number | Date;
  /** True when the POP3 session was encrypted (implicit TLS or STLS). */
  tls: boolean;
}

/** RFC 5322 §2.1.1: lines SHOULD be no longer than 78 characters, CRLF excluded. */
const MAX_LINE = 78;
/** Cap on one value after sanitising, so no line can approach the 998-character hard limit. */
const MAX_VALUE = 256;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Builds the trace header block the library puts in front of every collected message:
 *
 * ```text
 * Received: from pop.gmail.com (ann@gmail.com at pop.gmail.com port 995)
 * 	by multipop with POP3S for <ann@example.com>; Tue, 03 Mar 2026 10:00:00 +0000
 * X-MultiPOP-Source: ann-gmail; uidl=GmailId18c2f
 * ```
 *
 * Every value comes from configuration or, worse, from the remote server (the UIDL), so each is
 * sanitised before it goes in: bytes outside printable ASCII, and the characters that would
 * change the header's structure where the value sits (`;`, `<`, `>`, parentheses, quotes,
 * backslash, `%`), are percent-encoded as UTF-8 — a hostile UIDL cannot start a header line of
 * its own, and the value can be decoded back. Values are capped at 256 characters (a cut one
 * ends in `...`). Lines are folded with CRLF + TAB between tokens so they stay within 78
 * characters; a value too long for that, which cannot be folded without changing it, makes its
 * line longer (never near the 998-character limit). Line ends are CRLF, and the block ends with
 * one.
 *
 * @example
 * ```ts
 * const header = traceHeader({
 *   mailboxId: 'ann-gmail', host: 'pop.gmail.com', port: 995, username: 'ann@gmail.com',
 *   uidl: 'GmailId1234', recipient: 'ann@example.com', at: Date.now(), tls: true,
 * });
 * ```
 */
export function traceHeader(input: TraceHeaderInput): Buffer {
  const host = sanitise(input.host, /[A-Za-z0-9.:[\]_-]/);
  const user = sanitise(input.username, COMMENT_SAFE);
  // Tokens are the units folding never splits: keyword and value stay together for readability.
  const received = fold('Received:', [
    `from ${host}`,
    `(${user}`,
    `at ${host}`,
    `port ${sanitise(String(input.port), /[0-9]/)})`,
    'by multipop',
    input.tls ? 'with POP3S' : 'with POP3',
    `for <${sanitise(input.recipient, ADDRESS_SAFE)}>;`,
    rfc5322Date(input.at),
  ]);
  const source = fold('X-MultiPOP-Source:', [
    `${sanitise(input.mailboxId, VALUE_SAFE)};`,
    `uidl=${sanitise(input.uidl, VALUE_SAFE)}`,
  ]);
  return Buffer.from(`${received}${source}`, 'ascii');
}

/**
 * Printable ASCII that is harmless inside a comment: no parentheses, backslash or `%`, and no
 * `;` — parsers find the date after the Received header's `;`, and some take the first one.
 */
const COMMENT_SAFE = /[!-$&-'*-:<-[\]-~]/;
/** Printable ASCII that is harmless inside `<…>;`: no angle brackets, `;`, parentheses, quotes, backslash, `%`. */
const ADDRESS_SAFE = /[!#-$&-'*-:=?-[\]-~]/;
/** Printable ASCII that is harmless in `X-MultiPOP-Source`: no `;`, `%`, parentheses, quotes, backslash. */
const VALUE_SAFE = /[!#-$&-'*-:<-[\]-~]/;

/**
 * Percent-encodes (as UTF-8) every character of `value` that `safe` does not match, and caps the
 * result. Control characters, spaces, CR, LF and non-ASCII are never matched by the patterns
 * above, so they are always encoded.
 */
function sanitise(value: string, safe: RegExp): string {
  let out = '';
  for (const char of value) {
    if (safe.test(char)) out += char;
    else
      for (const byte of Buffer.from(char, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length > MAX_VALUE) return `${out.slice(0, MAX_VALUE - 3).replace(/%[0-9A-F]?$/, '')}...`;
  }
  return out || '-';
}

/** Joins header tokens with single spaces, folding (CRLF TAB) before a token that would not fit. */
function fold(name: string, tokens: readonly string[]): string {
  const lines: string[] = [];
  let line = name;
  // The first token stays next to the name even when long: a header whose first line holds only
  // its name is legal but trips up naive parsers.
  let first = true;
  for (const token of tokens) {
    if (!first && line.length + 1 + token.length > MAX_LINE) {
      lines.push(line);
      line = `\t${token}`;
    } else {
      line += ` ${token}`;
    }
    first = false;
  }
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
}

/** RFC 5322 §3.3 date-time in UTC: `Tue, 03 Mar 2026 10:00:00 +0000`. */
function rfc5322Date(at: number | Date): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw new RangeError('traceHeader: `at` is not a valid time');
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}
