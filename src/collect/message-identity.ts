import { createHash } from 'node:crypto';
import { MultiPopError } from '../errors/index.js';
import { headerBlock } from './header-block.js';

/** Marks ids made by {@link fallbackUidl}, so they are never mistaken for a server's own UIDL. */
export const FALLBACK_UIDL_PREFIX = 'sha256:';

/**
 * A stable id for a message on a server without UIDL: the SHA-256 (hex) of its header block, as
 * `TOP n 0` returns it (anything after the first empty line is ignored, should a server send
 * body lines anyway).
 *
 * Weaknesses, by design of the approach: two messages with byte-identical header blocks get the
 * same id (the planner treats the second as a duplicate and leaves it alone until the first is
 * gone); a server that rewrites headers on the fly (a changing `Status:` line) changes the id, so
 * the message is collected again; and switching a mailbox between UIDL and this fallback
 * re-collects what is on the server. Real headers (Received, Message-ID, Date) make collisions
 * rare in practice.
 *
 * @example
 * ```ts
 * const uidl = fallbackUidl(await client.top(msg, 0)); // 'sha256:9f86d0…'
 * ```
 */
export function fallbackUidl(headerBytes: Buffer): string {
  return FALLBACK_UIDL_PREFIX + createHash('sha256').update(headerBlock(headerBytes)).digest('hex');
}

/**
 * The header-block fingerprint the ledger keeps for each collected message: the SHA-256 (hex) of
 * the header block without the empty line that ends it. The session computes it from the first
 * bytes of RETR while the message streams through, and from `TOP n 0` when it has to confirm who
 * a message is (after the server changed its UIDLs); leaving the empty line out makes both agree
 * also with servers that end a TOP response without it.
 *
 * @example
 * ```ts
 * headerFingerprint(Buffer.from('Subject: hi\r\n\r\nbody')) === headerFingerprint(Buffer.from('Subject: hi\r\n')); // true
 * ```
 */
export function headerFingerprint(headerBytes: Buffer): string {
  let block = headerBlock(headerBytes);
  if (block.length > 0 && block[block.length - 1] === 0x0a) {
    // Drop the empty line (CRLF or LF) that ends the block, if it is there.
    const cut = block.length >= 2 && block[block.length - 2] === 0x0d ? 2 : 1;
    const before = block.length - cut;
    if (before === 0 || block[before - 1] === 0x0a) block = block.subarray(0, before);
  }
  return createHash('sha256').update(block).digest('hex');
}

/**
 * How a session identifies messages across sessions:
 * - `'uidl'` — the server's UIDL (the normal case);
 * - `'header-digest'` — {@link fallbackUidl} over `TOP n 0`, for servers without UIDL;
 * - `'session'` — ids valid in this session only (message numbers). The ledger must not carry
 *   them over: they would match different messages in the next session. Only in delete mode,
 *   where a crash between enqueue and QUIT can then re-deliver a message under a new key.
 */
export type IdentityStrategy = 'uidl' | 'header-digest' | 'session';

/** What {@link identityStrategy} decides from. */
export interface IdentityStrategyInput {
  /** The server answers UIDL. */
  uidl: boolean;
  /** The server answers TOP. */
  top: boolean;
  /** The effective leave-on-server (`entry.leaveOnServer` under `settings.alwaysDelete`). */
  leaveOnServer: boolean;
  /** Whether header digests may stand in for UIDL. @default true */
  allowHeaderDigest?: boolean;
  /** For the error's context. */
  mailboxId?: string;
}

/**
 * Decides how to identify messages, or refuses: leave-on-server without a stable id would fetch
 * every message again in every session, so with no UIDL and no usable header digest it throws
 * `UIDL_REQUIRED`. Delete mode works without either — each message is deleted right after the
 * queue accepted it — and prefers the header digest when it is available, because a stable id
 * keeps the idempotency key stable across a crash.
 *
 * @example
 * ```ts
 * const how = identityStrategy({ uidl: caps.uidl, top: caps.top, leaveOnServer: policy.leaveOnServer });
 * ```
 * @throws MultiPopError `UIDL_REQUIRED`
 */
export function identityStrategy(input: IdentityStrategyInput): IdentityStrategy {
  if (input.uidl) return 'uidl';
  if (input.top && input.allowHeaderDigest !== false) return 'header-digest';
  if (!input.leaveOnServer) return 'session';
  throw new MultiPopError(
    'UIDL_REQUIRED',
    input.top
      ? 'The server has no UIDL and header digests are disabled; leave-on-server cannot be tracked'
      : 'The server supports neither UIDL nor TOP; leave-on-server cannot be tracked',
    input.mailboxId === undefined ? {} : { mailboxId: input.mailboxId },
  );
}
