/**
 * Ambient names every documentation snippet may use without defining them: the host's own
 * things a doc block refers to (its MTA, its logger), and the handful of objects most blocks
 * are "about" (the fetcher, the ports, the settings), so that a block can show one call
 * without re-building the world. A block's own declarations shadow these. Keep the list short;
 * a name only one block needs goes in a `<!-- @doc-context -->` comment before that block
 * (see scripts/check-doc-snippets.ts).
 */

/** The host's MTA, as the docs' queue examples call it. */
declare const myMta: {
  submit(
    recipient: string,
    content: import('node:stream').Readable,
    options?: string | { key: string },
  ): Promise<string>;
};

/** A pino-compatible logger factory (the docs say `pino()`; any `Logger` works). */
declare function pino(): import('multipop').Logger;

/** The fetcher a block talks to. */
declare const fetcher: import('multipop').MultiPopFetcher;
/** The three ports and the token store, as a host built them. */
declare const directory: import('multipop').MailboxDirectory;
declare const ledger: import('multipop').CollectionLedger;
declare const queue: import('multipop').LocalQueue;
declare const tokens: import('multipop').TokenStore;
/** Validated server-wide settings and one validated entry. */
declare const settings: import('multipop').ServerSettings;
declare const entry: import('multipop').MailboxEntry;
/** The three ports together, as `new MultiPopFetcher({ ...ports, … })` spreads them. */
declare const ports: {
  directory: import('multipop').MailboxDirectory;
  ledger: import('multipop').CollectionLedger;
  queue: import('multipop').LocalQueue;
};
/** The OAuth service a block talks to. */
declare const oauth: import('multipop').OAuthService;
/** A connected POP3 client. */
declare const client: import('multipop/pop3').Pop3Client;
/** The testing kit's fake clock and fake POP3 server. */
declare const clock: import('multipop/testing').FakeClock;
declare const server: import('multipop/testing').FakePop3Server;
/** The fleet's scheduler and one of its workers (multipop/bullmq). */
declare const scheduler: import('multipop/bullmq').MultiPopScheduler;
declare const worker: import('multipop/bullmq').MultiPopWorker;
