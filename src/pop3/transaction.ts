import { MultiPopError } from '../errors/index.js';
import type { Pop3ListEntry, Pop3MessageStream, Pop3UidlEntry } from './api.js';
import type { Pop3Connection } from './connection.js';
import { Pop3State } from './state.js';
import { checkNumber } from './validate.js';

/**
 * The TRANSACTION-state commands (RFC 1939 §5) and QUIT. Each function sends one command
 * through the connection's pipeline and parses the answer; malformed answers are
 * `PROTOCOL_ERROR` for that command only (the response was complete, the session stays in step).
 */

/** STAT: message count and total size. */
export async function stat(connection: Pop3Connection): Promise<{ count: number; size: number }> {
  const { status } = await connection.enqueue({ verb: 'STAT' });
  const match = /^(\d+)\s+(\d+)/.exec(status.text);
  if (!match) throw malformed(connection, 'STAT', status.text);
  return { count: Number(match[1]), size: Number(match[2]) };
}

/** LIST, or LIST n. */
export async function list(
  connection: Pop3Connection,
  msg?: number,
): Promise<Pop3ListEntry[] | Pop3ListEntry> {
  const parse = (text: string): Pop3ListEntry => {
    const match = /^(\d+)\s+(\d+)/.exec(text.trim());
    if (!match) throw malformed(connection, 'LIST', text);
    return { msg: Number(match[1]), size: Number(match[2]) };
  };
  if (msg !== undefined) {
    checkNumber(msg, 'msg');
    return parse((await connection.enqueue({ verb: 'LIST', args: [String(msg)] })).status.text);
  }
  return (await connection.enqueue({ verb: 'LIST', kind: 'listing' })).items.map(parse);
}

/** UIDL, or UIDL n. */
export async function uidl(
  connection: Pop3Connection,
  msg?: number,
): Promise<Pop3UidlEntry[] | Pop3UidlEntry> {
  const parse = (text: string): Pop3UidlEntry => {
    const match = /^(\d+)\s+(\S+)/.exec(text.trim());
    if (!match) throw malformed(connection, 'UIDL', text);
    return { msg: Number(match[1]), uid: match[2]! };
  };
  if (msg !== undefined) {
    checkNumber(msg, 'msg');
    return parse((await connection.enqueue({ verb: 'UIDL', args: [String(msg)] })).status.text);
  }
  return (await connection.enqueue({ verb: 'UIDL', kind: 'listing' })).items.map(parse);
}

/** TOP msg lines, buffered (bounded by `maxMessageSize`). */
export async function top(connection: Pop3Connection, msg: number, lines: number): Promise<Buffer> {
  checkNumber(msg, 'msg');
  checkNumber(lines, 'lines', 0);
  const { body } = await connection.enqueue({
    verb: 'TOP',
    args: [String(msg), String(lines)],
    kind: 'buffer',
  });
  return body ?? Buffer.alloc(0);
}

/** RETR msg: resolves on `+OK` with the body stream. */
export async function retr(connection: Pop3Connection, msg: number): Promise<Pop3MessageStream> {
  checkNumber(msg, 'msg');
  const { stream } = await connection.enqueue({ verb: 'RETR', args: [String(msg)], kind: 'stream' });
  return stream!;
}

/** DELE msg, RSET or NOOP: a single `+OK`. */
export async function simple(
  connection: Pop3Connection,
  verb: 'DELE' | 'RSET' | 'NOOP',
  msg?: number,
): Promise<void> {
  if (verb === 'DELE') checkNumber(msg, 'msg');
  await connection.enqueue({ verb, args: msg === undefined ? [] : [String(msg)] });
}

/**
 * QUIT: resolves on `+OK` (in TRANSACTION the server has then committed the deletions), and
 * closes the connection in any case. Nothing may be issued after it.
 */
export async function quit(connection: Pop3Connection): Promise<void> {
  if (connection.quitRequested) {
    throw new MultiPopError('INVALID_STATE', 'QUIT was already sent', { command: 'QUIT' });
  }
  const answered = connection.enqueue({
    verb: 'QUIT',
    onSuccess: () => {
      if (connection.state === Pop3State.TRANSACTION) connection.state = Pop3State.UPDATE;
      // Close now, before a FIN from the server could be read as an unexpected close.
      connection.finishQuit();
    },
  });
  connection.quitRequested = true;
  try {
    await answered;
  } finally {
    connection.finishQuit();
  }
}

function malformed(connection: Pop3Connection, verb: string, text: string): MultiPopError {
  return new MultiPopError('PROTOCOL_ERROR', `${verb}: malformed response from the server`, {
    command: verb,
    response: connection.scrub(text).slice(0, 200),
  });
}
