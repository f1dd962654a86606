import { randomBytes } from 'node:crypto';
import { isMultiPopError } from '../errors/index.js';
import type { Log } from '../log/index.js';
import type { Pop3ClientApi, Pop3UidlEntry } from '../pop3/api.js';
import { fallbackUidl, identityStrategy } from './message-identity.js';
import type { ListedMessage } from './plan.js';

/**
 * Lists the maildrop with ids and sizes (`UIDL` + `LIST`, pipelined where the server allows),
 * identifying messages as {@link identityStrategy} decides: by UIDL; on servers without it by a
 * digest of the header block (`TOP n 0`); in delete mode without either by ids valid for this
 * session only. Leave-on-server without any stable id throws `UIDL_REQUIRED`.
 */
export async function readListing(
  client: Pop3ClientApi,
  options: { leaveOnServer: boolean; mailboxId: string; log: Log },
): Promise<ListedMessage[]> {
  const caps = client.capabilities;
  const capaKnown = caps.raw.length > 0;
  // Servers without CAPA may still answer UIDL: ask, and treat -ERR as "not supported".
  const uidlsP =
    capaKnown && !caps.uidl ? Promise.resolve(undefined) : client.uidl().catch(unsupportedAsUndefined);
  const [uidls, sizes] = await Promise.all([uidlsP, client.list()]);
  const how = identityStrategy({
    uidl: uidls !== undefined,
    top: !capaKnown || caps.top,
    leaveOnServer: options.leaveOnServer,
    mailboxId: options.mailboxId,
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

function unsupportedAsUndefined(err: unknown): undefined {
  if (isMultiPopError(err) && (err.code === 'SERVER_ERROR' || err.code === 'UNSUPPORTED')) return undefined;
  throw err;
}
