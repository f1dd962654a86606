import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * The host part of Maildir file names: the Maildir convention replaces `/` and `:` with octal
 * escapes; we also escape `,` because `,S=<size>` follows the host in our names.
 *
 * @example
 * ```ts
 * maildirHostName('mx1:a/b'); // 'mx1\\072a\\057b'
 * ```
 */
export function maildirHostName(name: string = hostname()): string {
  const safe = name.replace(/\//g, '\\057').replace(/:/g, '\\072').replace(/,/g, '\\054');
  return safe === '' ? 'localhost' : safe;
}

let sequence = 0;

/**
 * A new unique Maildir base name, `<seconds>.M<microseconds>P<pid>Q<seq>R<random>.<host>`: the
 * time first (readers sort by it), then the pid and a per-process sequence (unique within this
 * host), then 32 random bits so two processes with a recycled pid cannot collide either.
 *
 * @example
 * ```ts
 * uniqueMaildirName('mx1'); // '1764236000.M123456P4242Q1R9f3a0c1d.mx1'
 * ```
 */
export function uniqueMaildirName(host: string): string {
  const now = Date.now();
  const micros = (now % 1000) * 1000 + Math.floor((performance.now() % 1) * 1000);
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `${Math.floor(now / 1000)}.M${micros}P${process.pid}Q${sequence}R${randomBytes(4).toString('hex')}.${host}`;
}

const MAX_FOLDER_NAME = 200;

/**
 * The directory name for a recipient's Maildir under the queue root: readable for ordinary
 * addresses (`ann@example.com` stays as it is), percent-encoded otherwise, never `.`-leading
 * (so it can neither be `..` nor hide), and bounded in length (long names end in a hash).
 *
 * @example
 * ```ts
 * recipientFolderName('ann@example.com'); // 'ann@example.com'
 * recipientFolderName('../etc');          // '%2E.%2Fetc'
 * ```
 */
export function recipientFolderName(recipient: string): string {
  if (recipient.length === 0) throw new TypeError('the recipient must not be empty');
  let name = '';
  for (const byte of Buffer.from(recipient, 'utf8')) {
    const char = String.fromCharCode(byte);
    name += /[A-Za-z0-9@._+-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name.startsWith('.')) name = `%2E${name.slice(1)}`;
  if (name.length > MAX_FOLDER_NAME) {
    name = `${name.slice(0, MAX_FOLDER_NAME - 17)}~${createHash('sha256').update(recipient).digest('hex').slice(0, 16)}`;
  }
  return name;
}

/**
 * Whether a directory entry of `new/` or `cur/` is the message delivered under `base`: the base,
 * optionally followed by `,`-attributes (`,S=…`) and, in `cur/`, `:2,<flags>`.
 */
export function isNameOf(entry: string, base: string): boolean {
  if (!entry.startsWith(base)) return false;
  const next = entry.charAt(base.length);
  return next === '' || next === ',' || next === ':';
}
