/**
 * The fake server's TRANSACTION-state commands (RFC 1939 §5): STAT, LIST, UIDL, RETR, TOP,
 * DELE, RSET, NOOP — with the lies the options script (reported sizes, UIDLs that are message
 * numbers).
 */
import type { Replies, ServerContext } from './context.js';
import type { MaildropSession } from './mail-store.js';
import { topOf } from './wire.js';

/** Answers one TRANSACTION-state command on the logged-in user's maildrop. */
export function answerTransactionCommand(
  ctx: ServerContext,
  replies: Replies,
  drop: MaildropSession,
  verb: string,
  args: string[],
): Promise<void> {
  const reportSize = ctx.options.reportSize ?? ((size: number) => size);
  const noSuch = () => replies.err(undefined, 'There is no such message.');
  switch (verb) {
    case 'STAT': {
      const live = drop.live();
      const size = live.reduce((sum, n) => sum + reportSize(drop.get(n)!.data.length, n), 0);
      return replies.ok(`${live.length} ${size}`);
    }
    case 'LIST':
    case 'UIDL': {
      if (verb === 'UIDL' && !ctx.capabilities.uidl) return replies.err(undefined, 'Unknown command.');
      const byNumber = ctx.options.uidls === 'message-number';
      const describe = (n: number) =>
        `${n} ${verb === 'LIST' ? reportSize(drop.get(n)!.data.length, n) : byNumber ? String(n) : drop.get(n)!.uid}`;
      if (args.length > 0) {
        const n = messageNumber(args[0]);
        return n !== undefined && drop.get(n) ? replies.ok(describe(n)) : noSuch();
      }
      const lines = drop.live().map((n) => `${describe(n)}\r\n`);
      return replies.multiline(`${lines.length} messages`, Buffer.from(lines.join('')));
    }
    case 'RETR': {
      const n = messageNumber(args[0]);
      const message = n === undefined ? undefined : drop.get(n);
      if (!message) return noSuch();
      return replies.multiline(`${reportSize(message.data.length, n!)} octets`, message.data);
    }
    case 'TOP': {
      if (!ctx.capabilities.top) return replies.err(undefined, 'Unknown command.');
      const n = messageNumber(args[0]);
      const lines = messageNumber(args[1]);
      const message = n === undefined ? undefined : drop.get(n);
      if (!message || lines === undefined) return noSuch();
      return replies.multiline('', topOf(message.data, lines));
    }
    case 'DELE': {
      const n = messageNumber(args[0]);
      return n !== undefined && drop.delete(n) ? replies.ok(`Message ${n} deleted.`) : noSuch();
    }
    case 'RSET':
      drop.reset();
      return replies.ok('');
    case 'NOOP':
      return replies.ok('');
    default:
      return replies.err(undefined, `Unknown command: ${verb}`);
  }
}

/** A decimal argument, or undefined when absent or not all digits. */
function messageNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}
