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
  /** The effective leave-on-server (M5 under S2). */
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
