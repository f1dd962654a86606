import { randomBytes } from 'node:crypto';
import { isMultiPopError, MultiPopError } from '../errors/index.js';
import type { Log } from '../log/index.js';
import type { Pop3ClientApi, Pop3UidlEntry } from '../pop3/api.js';
import { FALLBACK_UIDL_PREFIX, fallbackUidl, identityStrategy } from './message-identity.js';
import type { ListedMessage } from './plan.js';

/** Options of {@link readListing}. */
export interface ListingOptions {
  leaveOnServer: boolean;
  mailboxId: string;
  log: Log;
  /**
   * The ledger holds ids this server's UIDL gave (see {@link isServerUidl}): a `-ERR` to UIDL is
   * then a failure, not a sign that the server lacks UIDL. @default false
   */
  uidlWorkedBefore?: boolean;
  /** Whether header digests may stand in for UIDL on servers without it. @default true */
  allowHeaderDigest?: boolean;
}

/**
 * Lists the maildrop with ids and sizes (`UIDL` + `LIST`, pipelined where the server allows),
 * identifying messages as {@link identityStrategy} decides: by UIDL; on servers without it by a
 * digest of the header block (`TOP n 0`); in delete mode without either by ids valid for this
 * session only. Leave-on-server without any stable id throws `UIDL_REQUIRED`.
 *
 * A `-ERR` to UIDL from a server that lists UIDL in CAPA, or whose UIDLs the ledger holds, is a
 * hiccup, not a change of identity: it throws `UIDL_FAILED` (retryable) rather than switching
 * to header digests, which would make every message look new.
 *
 * @throws MultiPopError `UIDL_FAILED`, `UIDL_REQUIRED`, or the transport's error
 */
export async function readListing(client: Pop3ClientApi, options: ListingOptions): Promise<ListedMessage[]> {
  const caps = client.capabilities;
  const capaKnown = caps.raw.length > 0;
  const uidlExpected = caps.uidl || options.uidlWorkedBefore === true;
  // Servers without CAPA may still answer UIDL: ask, and treat -ERR as "not supported" unless
  // the server offers UIDL or answered it before.
  const uidlsP =
    capaKnown && !uidlExpected
      ? Promise.resolve(undefined)
      : client.uidl().catch((err: unknown) => {
          if (!isUnsupported(err)) throw err;
          if (uidlExpected) throw uidlFailed(err, options.mailboxId, caps.uidl);
          return undefined;
        });
  const [uidls, sizes] = await Promise.all([uidlsP, client.list()]);
  const how = identityStrategy({
    uidl: uidls !== undefined,
    top: !capaKnown || caps.top,
    leaveOnServer: options.leaveOnServer,
    mailboxId: options.mailboxId,
    ...(options.allowHeaderDigest === undefined ? {} : { allowHeaderDigest: options.allowHeaderDigest }),
  });
  if (how === 'uidl') return joinUidls(sizes, uidls!, options.log);
  if (how === 'header-digest') {
    const listed: ListedMessage[] = [];
    // TOP n 0 for each message: pipelined by the client where the server allows.
    const heads = await Promise.all(sizes.map((s) => client.top(s.msg, 0)));
    for (const [i, s] of sizes.entries())
      listed.push({ msg: s.msg, size: s.size, uidl: fallbackUidl(heads[i]!) });
    options.log.info({ count: listed.length }, 'server has no UIDL; identifying messages by header digest');
    return listed;
  }
  const session = randomBytes(6).toString('hex');
  options.log.warn({}, 'server has neither UIDL nor TOP; using per-session ids (delete mode only)');
  return sizes.map((s) => ({ msg: s.msg, size: s.size, uidl: `session:${session}:${s.msg}` }));
}

function joinUidls(
  sizes: readonly { msg: number; size: number }[],
  uidls: readonly Pop3UidlEntry[],
  log: Log,
): ListedMessage[] {
  const byMsg = new Map(uidls.map((u) => [u.msg, u.uid]));
  const listed: ListedMessage[] = [];
  for (const s of sizes) {
    const uidl = byMsg.get(s.msg);
    if (uidl === undefined)
      log.warn({ msg: s.msg }, 'message listed without a UIDL; left alone this session');
    else listed.push({ msg: s.msg, size: s.size, uidl });
  }
  return listed;
}

/**
 * Whether an id in the ledger came from the server's UIDL — not a header digest
 * ({@link fallbackUidl}: 71 characters, longer than any UIDL may be) nor a per-session id.
 *
 * @example
 * ```ts
 * isServerUidl('000001a25f3e8b1c'); // true
 * ```
 */
export function isServerUidl(id: string): boolean {
  if (id.startsWith(FALLBACK_UIDL_PREFIX) && id.length === FALLBACK_UIDL_PREFIX.length + 64) return false;
  return !id.startsWith('session:');
}

function isUnsupported(err: unknown): boolean {
  return isMultiPopError(err) && (err.code === 'SERVER_ERROR' || err.code === 'UNSUPPORTED');
}

function uidlFailed(cause: unknown, mailboxId: string, advertised: boolean): MultiPopError {
  const response = isMultiPopError(cause) ? cause.context.response : undefined;
  return new MultiPopError(
    'UIDL_FAILED',
    advertised
      ? 'The server lists UIDL in CAPA but answered UIDL with -ERR; nothing was changed, retrying later'
      : 'The server answered UIDL before but now answers -ERR; nothing was changed, retrying later',
    { mailboxId, command: 'UIDL', ...(response === undefined ? {} : { response }) },
    { cause },
  );
}
