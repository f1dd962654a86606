import type { MultiPopError } from '../errors/index.js';

/** Identifies the mailbox entry an event is about. */
export interface EventMailbox {
  userId: string;
  mailboxId: string;
  host: string;
}

/** Typed events of a collection (the fetcher re-emits them under the same names). */
export interface CollectorEvents {
  'session:start': EventMailbox & { at: number };
  'session:end': EventMailbox & {
    at: number;
    durationMs: number;
    collected: number;
    bytes: number;
    skipped: number;
    deleted: number;
    /** Messages on the server when the session listed the maildrop. */
    onServer: number;
    /**
     * Set when the session failed (the same error `mailbox:error` then reports); the counts are
     * what it did before the failure. Every `session:start` is followed by one `session:end`.
     */
    error?: MultiPopError;
  };
  /** The plan of the session: how much it is about to fetch (for progress bars). */
  'session:planned': EventMailbox & {
    toFetch: number;
    bytesToFetch: number;
    toDelete: number;
    onServer: number;
  };
  'message:collected': EventMailbox & { uidl: string; size: number; queueId: string };
  'message:skipped': EventMailbox & { uidl: string; size: number; reason: 'too-large' };
  'message:deleted': EventMailbox & { uidls: string[] };
  /** Per-message progress while a body is streamed (for progress bars). */
  'message:progress': EventMailbox & { uidl: string; bytes: number; size: number };
  /**
   * The server changed message ids: `rekeyed` ledger rows moved to the UIDL the server uses now
   * (their messages confirmed by size and header fingerprint, not fetched again); `reused` UIDLs
   * now name other messages, which are collected as new. `mass` when most known UIDLs changed.
   */
  'mailbox:uidls-changed': EventMailbox & {
    mass: boolean;
    rekeyed: { from: string; to: string }[];
    reused: string[];
  };
  /** The server listed these UIDLs more than once; each distinct message is still collected once. */
  'mailbox:duplicate-uidls': EventMailbox & { uidls: string[] };
  'mailbox:error': EventMailbox & { error: MultiPopError; consecutiveFailures: number };
  'mailbox:recovered': EventMailbox & { afterFailures: number };
  'mailbox:needs-permission': EventMailbox & { error: MultiPopError };
  'user:over-quota': { userId: string; disabledEntries: string[] };
}

/** The name of a collector event. */
export type CollectorEventName = keyof CollectorEvents;

/** A listener that receives every event with its name. */
export type CollectorEventSink = <K extends CollectorEventName>(name: K, payload: CollectorEvents[K]) => void;
