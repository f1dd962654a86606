/**
 * One process of test/auth/refresh-across-processes.test.ts (not a test file itself): opens the
 * shared store (a SQLite file or a PostgreSQL schema), builds its own OAuthService over it,
 * says `ready`, and on `go` (a line on stdin) asks for the entry's access token once — the
 * stored one has expired, so that means a refresh, or waiting for another process's.
 *
 * It reports on stdout, one JSON object per line: `{"event":"ready"}`, `{"event":"lease-busy"}`
 * the first time the store's refresh lease is held by someone else, then
 * `{"event":"oauth","type":…}` for each event of its OAuth service,
 * `{"event":"token","token":…}` or `{"event":"error","code":…,"oauthError":…}`, and last
 * `{"event":"log","text":…}` with every line its OAuth service logged.
 *
 * With `lease: false` the lease always looks free: the control case, both processes refresh.
 */
import { createInterface } from 'node:readline';
import { OAuthService } from '../../../src/auth/index.js';
import { isMultiPopError } from '../../../src/errors/index.js';
import type { TokenStore } from '../../../src/ports/index.js';
import { openPostgresStore } from '../../../src/postgres/index.js';
import { openSqliteStore } from '../../../src/sqlite/index.js';
import { capturingLogger } from './capturing-logger.js';

/** What the parent passes as the one argument (JSON). */
export interface RaceChildArgs {
  store:
    | { type: 'sqlite'; path: string; key: string }
    | { type: 'postgres'; url: string; schema: string; key: string };
  mailboxId: string;
  /** The Gmail profile's endpoints at the test server. */
  gmail: { issuer: string; authorizationEndpoint: string; tokenEndpoint: string };
  lease: boolean;
  /** The service's `refreshLeaseMs` (how long a dead process's lease blocks the others). */
  leaseMs?: number;
}

const args = JSON.parse(process.argv[2] ?? '') as RaceChildArgs;
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

const store =
  args.store.type === 'sqlite'
    ? await openSqliteStore({ path: args.store.path, key: args.store.key, busyTimeoutMs: 10_000 })
    : await openPostgresStore({ url: args.store.url, schema: args.store.schema, key: args.store.key });
const logger = capturingLogger();
const service = new OAuthService({
  tokens: watchedLease(store.tokens, args.lease),
  ...(args.leaseMs === undefined ? {} : { refreshLeaseMs: args.leaseMs }),
  directory: store.directory,
  logger,
  allowInsecureRequests: true,
  providers: { gmail: args.gmail },
  onEvent: (event) => say({ event: 'oauth', type: event.type }),
});

say({ event: 'ready' });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'go') break;
}
lines.close();
try {
  say({ event: 'token', token: await service.getAccessToken(args.mailboxId) });
} catch (err) {
  say(
    isMultiPopError(err)
      ? { event: 'error', code: err.code, oauthError: err.context['oauthError'] }
      : { event: 'error', code: 'NOT_MULTIPOP', message: String(err) },
  );
}
say({ event: 'log', text: logger.text() });
await store.close();

/** The store as it is, but saying when the lease was busy — or, for the control, never busy. */
function watchedLease(tokens: TokenStore, lease: boolean): TokenStore {
  let reported = false;
  return {
    ...tokens,
    acquireRefreshLease: async (mailboxId, holder, now, ttlMs) => {
      if (!lease) return true;
      const acquired = await tokens.acquireRefreshLease(mailboxId, holder, now, ttlMs);
      if (!acquired && !reported) {
        reported = true;
        say({ event: 'lease-busy' });
      }
      return acquired;
    },
    releaseRefreshLease: (mailboxId, holder) =>
      lease ? tokens.releaseRefreshLease(mailboxId, holder) : Promise.resolve(),
  };
}
