/**
 * What a route handler gets: the request, the signed-in user as an actor, their webmail
 * session, the submitted form, and the app's configuration.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Actor, MultiPopFetcher } from 'multipop';
import type { ProviderChoice } from './entry-form.js';
import type { SessionStore, WebmailSession } from './session.js';

/** The fetcher operations webmail uses (a `MultiPopFetcher` has them all). */
export type WebmailFetcher = Pick<
  MultiPopFetcher,
  | 'listEntries'
  | 'addEntry'
  | 'updateEntry'
  | 'removeEntry'
  | 'setEntryEnabled'
  | 'beginGrant'
  | 'completeGrant'
  | 'collectNow'
>;

/** The app's configuration, as the handlers see it. */
export interface WebmailConfig {
  fetcher: WebmailFetcher;
  /** The signed-in user of a request (the host's login), or undefined. */
  currentUser(req: IncomingMessage): string | undefined | Promise<string | undefined>;
  /** The webmail domain of a request: picks the OAuth app's redirect URI for it. */
  domainOf(req: IncomingMessage): string;
  /** The user's `mayEditSettings`, for rendering only (the fetcher enforces it). */
  mayEdit(userId: string): Promise<boolean>;
  providers: readonly ProviderChoice[];
  callbackPath: string;
  sessions: SessionStore;
}

/** One request on its way through a handler. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  userId: string;
  actor: Actor;
  session: WebmailSession;
  /** The parsed form of a POST (CSRF already checked); empty for GET. */
  form: URLSearchParams;
  /** Route parameter: the entry id in `/mailboxes/:id/...`. */
  entryId?: string;
  config: WebmailConfig;
}
